import Foundation
@testable import InferenceCore
import Testing

/// The monitor's metrics against scikit-learn's, on fixtures from scripts/fixtures/make_quality_fixtures.py:
/// counts and accuracy within 1e-9, AUC and log loss within 1e-6 (Brier, precision, recall, MAE, RMSE
/// within 1e-9 too).
@Suite struct QualityFixtureTests {
    struct Case: Decodable {
        struct Expected: Decodable {
            var count: Int
            var accuracy: Double?
            var log_loss: Double?
            var brier_score: Double?
            var brier_score_numpy: Double?
            var roc_auc: Double?
            var roc_auc_per_class: [String: Double]?
            var precision: Double?
            var recall: Double?
            var confusion: [[Int]]?
            var mae: Double?
            var rmse: Double?
            var mean_error: Double?
            var label_delay_seconds: [String: Double]
        }
        var name: String
        var task: String
        var labels: [String]?
        var threshold: Double?
        var scores: [Double]?
        var probabilities: [[Double]]?
        var truth: [Int]?
        var targets: [Double]?
        var delays_ms: [Int64]
        var expected: Expected
    }

    struct Fixtures: Decodable {
        var sklearn_version: String
        var delay_quantiles: [Double]
        var cases: [Case]
    }

    static let fixtures: Fixtures = {
        let url = TestSupport.fixturesDirectory.appendingPathComponent("quality/quality_fixtures.json")
        return try! JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
    }()

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let t0Ms: Int64 = 1_800_000_000_000

    /// The label event for a true class, written each of the ways producers send it (name, index, bool).
    static func labelValue(truth: Int, labels: [String], row: Int) -> LabelEvent.Value {
        switch row % 3 {
        case 0: .text(labels[truth])
        case 1: .number(Double(truth))
        default: labels.count == 2 ? .bool(truth == 1) : .text(labels[truth])
        }
    }

    /// Feeds a case through a monitor and closes its window.
    static func report(_ c: Case, configuration: QualityConfiguration = QualityConfiguration(windowRecordCount: 1_000_000)) throws -> QualityReport {
        let task: OutputSchema.Task = switch c.task { case "binary": .binary; case "multiclass": .multiclass; default: .regression }
        let output = OutputSchema(task: task, labels: c.labels ?? [], threshold: Float(c.threshold ?? 0.5))
        var configuration = configuration
        configuration.delayQuantiles = fixtures.delay_quantiles
        var monitor = QualityMonitor(modelName: "m", modelVersion: "1", output: output, configuration: configuration, workerID: "w", now: t0)
        for row in 0..<c.expected.count {
            let prediction: PendingPrediction.Output
            let label: LabelEvent.Value
            switch task {
            case .binary:
                let score = Float(c.scores![row])
                prediction = .binary(score: score, predictedPositive: score >= output.threshold)
                label = labelValue(truth: c.truth![row], labels: c.labels!, row: row)
            case .multiclass:
                let p = c.probabilities![row].map(Float.init)
                prediction = .multiclass(probabilities: p, predictedIndex: p.indices.max { p[$0] < p[$1] }!)
                label = labelValue(truth: c.truth![row], labels: c.labels!, row: row)
            case .regression:
                prediction = .regression(score: Float(c.scores![row]))
                label = .number(c.targets![row])
            }
            let pending = PendingPrediction(id: "r\(row)", modelVersion: "1", output: prediction, predictionTimeMs: t0Ms)
            let outcome = monitor.observe(LabelledExample(prediction: pending, label: label, labelTimeMs: t0Ms + c.delays_ms[row]))
            #expect(outcome == .scored)
        }
        let closed = monitor.flush(now: t0.addingTimeInterval(1))
        return try #require(closed)
    }

    static func close(_ a: Double?, _ b: Double?, _ tolerance: Double) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return abs(a - b) <= tolerance
    }

    @Test(arguments: fixtures.cases.map(\.name))
    func metricsMatchScikitLearn(_ name: String) throws {
        let c = try #require(Self.fixtures.cases.first { $0.name == name })
        let report = try Self.report(c)
        let m = report.metrics, e = c.expected
        #expect(report.counts.labelled == e.count)
        #expect(report.counts.rejectedLabels.isEmpty)
        if c.task == "regression" {
            #expect(report.regression?.count == e.count)
            #expect(Self.close(m.meanAbsoluteError, e.mae, 1e-9), "MAE \(String(describing: m.meanAbsoluteError)) vs \(String(describing: e.mae))")
            #expect(Self.close(m.rootMeanSquaredError, e.rmse, 1e-9))
            #expect(Self.close(m.meanError, e.mean_error, 1e-9))
            #expect(m.accuracy == nil && m.rocAUC == nil)
        } else {
            let classification = try #require(report.classification)
            #expect(classification.confusion == e.confusion, "confusion matrix, exact")
            #expect(classification.count == e.count)
            #expect(Self.close(m.accuracy, e.accuracy, 1e-9), "accuracy \(String(describing: m.accuracy)) vs \(String(describing: e.accuracy))")
            #expect(Self.close(m.logLoss, e.log_loss, 1e-6), "log loss \(String(describing: m.logLoss)) vs \(String(describing: e.log_loss))")
            #expect(Self.close(m.brierScore, e.brier_score, 1e-9), "Brier \(String(describing: m.brierScore)) vs \(String(describing: e.brier_score))")
            if c.task == "binary" {
                #expect(Self.close(m.precision, e.precision, 1e-9))
                #expect(Self.close(m.recall, e.recall, 1e-9))
            } else {
                #expect(m.precision == nil, "precision/recall are reported for binary models only")
                for (label, auc) in e.roc_auc_per_class ?? [:] {
                    #expect(Self.close(m.rocAUCPerClass?[label], auc, 1e-6), "AUC of class \(label)")
                }
            }
            let accumulators = classification.auc
            if accumulators.allSatisfy({ $0.mode == .exact }) {
                #expect(Self.close(m.rocAUC, e.roc_auc, 1e-6), "AUC \(String(describing: m.rocAUC)) vs \(String(describing: e.roc_auc))")
                #expect(m.rocAUCMaxError == 0)
            } else {
                // Binned: within the reported bound of sklearn's exact value, and the bound is small.
                let bound = try #require(m.rocAUCMaxError)
                #expect(bound > 0 && bound < 1e-3, "bound \(bound)")
                #expect(Self.close(m.rocAUC, e.roc_auc, bound + 1e-12), "AUC \(String(describing: m.rocAUC)) vs \(String(describing: e.roc_auc)) ± \(bound)")
            }
        }
        // Label delay quantiles from the sketch: within its relative accuracy of the exact order statistic.
        for (level, exact) in e.label_delay_seconds {
            let estimate = try #require(m.labelDelaySeconds?[level], "delay quantile \(level)")
            #expect(abs(estimate - exact) <= 0.01 * abs(exact) + 1e-9, "delay q\(level): \(estimate) vs \(exact)")
        }
    }

    @Test func theManyScoresCaseExceedsTheExactCapacityAndAnExactAccumulatorMatches() throws {
        let c = try #require(Self.fixtures.cases.first { $0.name == "binary-many-distinct-scores" })
        let binned = try Self.report(c)
        #expect(binned.classification?.auc.first?.mode == .binned)
        var exactConfiguration = QualityConfiguration(windowRecordCount: 1_000_000)
        exactConfiguration.aucMaxExactScores = 10_000
        let exact = try Self.report(c, configuration: exactConfiguration)
        #expect(exact.classification?.auc.first?.mode == .exact)
        #expect(Self.close(exact.metrics.rocAUC, c.expected.roc_auc, 1e-6))
    }

    @Test func multiclassBrierIsTheUnscaledSumOverClasses() throws {
        let c = try #require(Self.fixtures.cases.first { $0.task == "multiclass" })
        // sklearn's multiclass brier_score_loss and the numpy definition agree (documented choice).
        #expect(Self.close(c.expected.brier_score, c.expected.brier_score_numpy, 1e-12))
    }
}
