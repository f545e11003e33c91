import Foundation
@testable import InferenceCore
import InferenceCoreTesting
import Testing

@Suite struct DriftMonitorTests {
    typealias S = DriftTestSupport

    @Test func windowClosesByRecordCount() throws {
        var (monitor, fraud) = try S.fraudMonitor(configuration: DriftConfiguration(windowRecordCount: 500, windowDuration: .seconds(60)))
        var generator = DriftRandom(seed: 1)
        S.feed(&monitor, fraud, rows: 499, generator: &generator)
        let notDue1 = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(1))
        #expect(notDue1 == nil)
        S.feed(&monitor, fraud, rows: 1, generator: &generator)
        let reportTaken = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(2))
        let report = try #require(reportTaken)
        #expect(report.closedBy == .count)
        #expect(report.rowCount == 500)
        #expect(report.outputCount == 500)
        #expect(report.windowStartMs == 1_800_000_000_000)
        #expect(report.windowEndMs == 1_800_000_002_000)
        #expect(report.features.allSatisfy { $0.count == 500 })
        #expect(report.column("output.class")?.histogram?.reduce(0, +) == 500)
        // The next window starts where this one ended and starts empty.
        #expect(monitor.rowCount == 0)
        #expect(monitor.openWindowStartMs == 1_800_000_002_000)
        let notDue2 = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(3))
        #expect(notDue2 == nil)
    }

    @Test func windowClosesAtAlignedTimeBoundaries() throws {
        // Opened 10 s into a minute: the first window ends at the minute, later ones on minute boundaries.
        var (monitor, fraud) = try S.fraudMonitor(now: S.t0.addingTimeInterval(10))
        var generator = DriftRandom(seed: 2)
        S.feed(&monitor, fraud, rows: 50, generator: &generator)
        let notDue3 = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(59.999))
        #expect(notDue3 == nil)
        let firstTaken = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(60.2))
        let first = try #require(firstTaken)
        #expect(first.closedBy == .time)
        #expect(first.windowStartMs == 1_800_000_010_000)
        #expect(first.windowEndMs == 1_800_000_060_000)
        #expect(first.rowCount == 50)
        // 50 rows are below the minimum sample size: distribution statistics are not judged.
        #expect(first.features.allSatisfy { $0.verdict.level == .insufficientData })
        #expect(first.dataset.level == .insufficientData)
        // An empty window is not reported by default, and windows stay aligned after idle minutes.
        let notDue4 = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(125))
        #expect(notDue4 == nil)
        S.feed(&monitor, fraud, rows: 10, generator: &generator)
        let thirdTaken = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(180))
        let third = try #require(thirdTaken)
        #expect(third.windowStartMs == 1_800_000_120_000)
        #expect(third.windowEndMs == 1_800_000_180_000)
        #expect(third.rowCount == 10)
    }

    @Test func emptyWindowsAreReportedWhenConfigured() throws {
        var (monitor, _) = try S.fraudMonitor(configuration: DriftConfiguration(reportEmptyWindows: true))
        let reportTaken = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(60))
        let report = try #require(reportTaken)
        #expect(report.rowCount == 0)
        #expect(report.dataset.level == .insufficientData)
    }

    @Test func flushReportsThePartialWindowOnce() throws {
        var (monitor, fraud) = try S.fraudMonitor()
        var generator = DriftRandom(seed: 3)
        S.feed(&monitor, fraud, rows: 7, generator: &generator)
        let reportTaken = monitor.flush(now: S.t0.addingTimeInterval(5))
        let report = try #require(reportTaken)
        #expect(report.closedBy == .flush)
        #expect(report.rowCount == 7)
        let notDue5 = monitor.flush(now: S.t0.addingTimeInterval(6))
        #expect(notDue5 == nil)
    }

    @Test func noFalseAlertOnTenWindowsDrawnFromTheBaseline() throws {
        var (monitor, fraud) = try S.fraudMonitor(configuration: DriftConfiguration(windowRecordCount: 2000))
        var generator = DriftRandom(seed: 20261122)
        for window in 0..<10 {
            S.feed(&monitor, fraud, rows: 2000, generator: &generator)
            let reportTaken = monitor.takeReportIfDue(now: S.t0.addingTimeInterval(Double(window)))
            let report = try #require(reportTaken)
            #expect(report.dataset.level == .ok, "window \(window): \(report.dataset)")
            #expect(!report.dataset.drift)
            for column in report.features + report.outputs {
                #expect(column.verdict.level == .ok, "window \(window) \(column.name): \(column.scores)")
                #expect((column.scores.psi ?? 1) < 0.05)
            }
        }
    }

    @Test func shiftedStreamRaisesTheVerdicts() throws {
        var (monitor, fraud) = try S.fraudMonitor(configuration: DriftConfiguration(windowRecordCount: 2000))
        var generator = DriftRandom(seed: 4)
        // Shift 9 of the 16 features by a large share of their spread: more than half drift.
        let shifted = Set(0..<9)
        S.feed(&monitor, fraud, rows: 2000, generator: &generator) { f, x in
            guard shifted.contains(f) else { return .number(x) }
            let base = fraud.baseline.features[fraud.features[f]]!
            return .number(x + 1.5 * base.std!)
        }
        let reportTaken = monitor.takeReportIfDue(now: S.t0)
        let report = try #require(reportTaken)
        #expect(report.dataset.drift)
        #expect(report.dataset.level == .alert)
        #expect(Set(report.dataset.driftedFeatures) == Set(shifted.map { fraud.features[$0] }))
        let amount = try #require(report.column("amount"))
        #expect(amount.verdict.level == .alert)
        #expect(amount.verdict.triggers.contains { $0.statistic == "psi" && $0.level == .alert })
        for f in 9..<16 { #expect(report.features[f].verdict.level == .ok, "\(fraud.features[f])") }
    }

    @Test func moderateShiftWarnsWithoutDatasetDrift() throws {
        var (monitor, fraud) = try S.fraudMonitor(configuration: DriftConfiguration(windowRecordCount: 5000))
        var generator = DriftRandom(seed: 5)
        // Only velocity_ratio moves, by about a third of its spread.
        let index = fraud.features.firstIndex(of: "velocity_ratio")!
        let std = fraud.baseline.features["velocity_ratio"]!.std!
        S.feed(&monitor, fraud, rows: 5000, generator: &generator) { f, x in .number(f == index ? x + 0.35 * std : x) }
        let reportTaken = monitor.takeReportIfDue(now: S.t0)
        let report = try #require(reportTaken)
        let column = try #require(report.column("velocity_ratio"))
        #expect(column.verdict.level >= .warn, "\(column.scores)")
        #expect(report.dataset.driftedFeatures == ["velocity_ratio"])
        #expect(!report.dataset.drift)
        #expect(report.dataset.level == .warn)
    }

    @Test func missingRateChangeIsDetected() throws {
        var (monitor, fraud) = try S.fraudMonitor(configuration: DriftConfiguration(windowRecordCount: 1000))
        var generator = DriftRandom(seed: 6)
        var flip = DriftRandom(seed: 7)
        let index = fraud.features.firstIndex(of: "distance_from_home_km")!
        S.feed(&monitor, fraud, rows: 1000, generator: &generator) { f, x in
            f == index && flip.nextDouble() < 0.3 ? (flip.nextDouble() < 0.5 ? .missing : .null) : .number(x)
        }
        let reportTaken = monitor.takeReportIfDue(now: S.t0)
        let report = try #require(reportTaken)
        let column = try #require(report.column("distance_from_home_km"))
        #expect(column.missing > 250 && column.missing < 350)
        #expect(column.count == 1000)
        #expect(abs(column.scores.missingRateChange! - Double(column.missing) / 1000) < 1e-12)
        #expect(column.verdict.level == .alert)
        #expect(column.verdict.triggers.first?.statistic == "missing_rate_change")
        // The values that are present are still in distribution.
        #expect(column.scores.psi! < 0.1)
    }

    @Test func unseenCategoriesAndInvalidValuesAreCounted() throws {
        let schema = InputSchema(features: [.categorical("country", vocabulary: ["de", "fr", "it"]), .numeric("x")])
        var baseline = DistributionBaseline()
        baseline.categories = ["de": 0.5, "fr": 0.3, "it": 0.2]
        baseline.missingRate = 0
        var monitor = DriftMonitor(modelName: "m", modelVersion: "2", schema: schema, output: OutputSchema(task: .binary),
                                   baseline: ModelBaseline(features: ["country": baseline]), workerID: "w", now: S.t0)
        let values: [RawFeatureValue] = [.string("de"), .string("fr"), .string("xx"), .string("yy"), .null, .number(3), .string("de")]
        for value in values { monitor.observe(row: [value, .string("not a number")]) }
        monitor.observe(output: .binary(score: 0.9, label: "1", isPositive: true))
        monitor.observe(output: .binary(score: 0.2, label: "0", isPositive: false))
        let reportTaken = monitor.flush(now: S.t0)
        let report = try #require(reportTaken)
        let country = try #require(report.column("country"))
        #expect(country.reference.categories == ["de", "fr", "it"])
        #expect(country.histogram == [2, 1, 0, 2])   // de, fr, it, unseen
        #expect(country.missing == 1)
        #expect(country.invalid == 1)
        #expect(country.count == 7)
        let x = try #require(report.column("x"))
        #expect(x.invalid == 7)
        #expect(x.moments?.n == 0)
        #expect(x.histogram == nil)   // no baseline: summary only
        #expect(report.column("output.label")?.histogram == [1, 1, 0])
        #expect(report.column("output.score")?.moments?.n == 2)
    }

    /// Issue 13 item 5: drift counts what the input schema accepts: `NaN` as missing, booleans as 1 / 0.
    @Test func nanIsMissingAndBooleansAreNumbersInDrift() throws {
        let schema = InputSchema(features: [.categorical("country", vocabulary: ["de", "fr"], missing: .allowed, default: "de"),
                                            .numeric("x", missing: .allowed, default: 0)])
        var monitor = DriftMonitor(modelName: "m", modelVersion: "2", schema: schema, output: OutputSchema(task: .binary),
                                   baseline: ModelBaseline(features: [:]), workerID: "w", now: S.t0)
        monitor.observe(row: [.number(.nan), .bool(true)])
        monitor.observe(row: [.string("de"), .number(.nan)])
        monitor.observe(row: [.string("fr"), .bool(false)])
        let reportTaken = monitor.flush(now: S.t0)
        let report = try #require(reportTaken)
        let country = try #require(report.column("country"))
        #expect(country.missing == 1)
        #expect(country.invalid == 0)
        let x = try #require(report.column("x"))
        #expect(x.missing == 1)
        #expect(x.invalid == 0)
        #expect(x.moments?.n == 2)
        #expect(x.moments?.mean == 0.5)
    }

    @Test func invalidConfigurationIsRejected() {
        #expect(throws: ConfigurationValidationError.self) { try DriftConfiguration(windowRecordCount: 0).validate() }
        #expect(throws: ConfigurationValidationError.self) {
            try DriftConfiguration(thresholds: DriftThresholds(psi: .init(warn: 0.3, alert: 0.2))).validate()
        }
        #expect(throws: Never.self) { try DriftConfiguration().validate() }
    }
}

@Suite struct OutputDriftTests {
    /// A binary model whose baseline has a score histogram and a label distribution.
    func monitor() -> DriftMonitor {
        var score = DistributionBaseline()
        score.binEdges = (0...10).map { Double($0) / 10 }
        score.proportions = [0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.04, 0.03, 0.02, 0.02]
        score.categories = ["no": 0.85, "yes": 0.15]
        score.std = 0.22
        return DriftMonitor(modelName: "churn", modelVersion: "3", schema: InputSchema(features: [.numeric("x")]),
                            output: OutputSchema(task: .binary, labels: ["no", "yes"]), baseline: ModelBaseline(features: [:], output: score),
                            workerID: "w", now: DriftTestSupport.t0)
    }

    func feed(_ monitor: inout DriftMonitor, scores: (inout DriftRandom) -> Float) {
        var generator = DriftRandom(seed: 21)
        for _ in 0..<2000 {
            monitor.observe(row: [.number(1)])
            let s = scores(&generator)
            monitor.observe(output: .binary(score: s, label: s >= 0.5 ? "yes" : "no", isPositive: s >= 0.5))
        }
    }

    /// Draws from the baseline score histogram.
    static func baselineScore(_ g: inout DriftRandom) -> Float {
        let shares = [0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.04, 0.03, 0.02, 0.02]
        var u = g.nextDouble()
        for (i, share) in shares.enumerated() {
            if u < share { return Float((Double(i) + g.nextDouble()) / 10) }
            u -= share
        }
        return 0.95
    }

    @Test func inDistributionScoresStayOk() throws {
        var m = monitor()
        feed(&m) { Self.baselineScore(&$0) }
        let taken = m.flush(now: DriftTestSupport.t0)
        let report = try #require(taken)
        #expect(report.column("output.score")?.verdict.level == .ok)
        #expect(report.column("output.label")?.verdict.level == .ok)
        #expect(report.dataset.outputLevel == .ok)
    }

    @Test func shiftedScoresRaiseTheOutputLevel() throws {
        var m = monitor()
        feed(&m) { min(1, Self.baselineScore(&$0) + 0.3) }
        let taken = m.flush(now: DriftTestSupport.t0)
        let report = try #require(taken)
        let score = try #require(report.column("output.score"))
        #expect(score.verdict.level == .alert, "\(score.scores)")
        #expect(score.verdict.triggers.contains { $0.statistic == "psi" })
        #expect(report.column("output.label")!.verdict.level >= .warn)
        #expect(report.dataset.outputLevel == .alert)
        // Outputs do not count towards the feature share, but do raise the dataset level to warn.
        #expect(!report.dataset.drift)
        #expect(report.dataset.level == .warn)
    }
}
