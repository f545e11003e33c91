import Foundation
@testable import InferenceCore
import Testing

/// The facade the pipeline will call, driven by an injected clock: versions, evictions, retirement.
@Suite struct QualityTrackerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let t0Ms: Int64 = 1_800_000_000_000
    static let output = OutputSchema(task: .binary, labels: ["legit", "fraud"])

    static func prediction(_ id: String, version: String, at t: Int64, score: Float) -> PendingPrediction {
        PendingPrediction(id: id, modelVersion: version, output: .binary(score: score, predictedPositive: score >= 0.5), predictionTimeMs: t)
    }

    @Test func labelsOfAReplacedVersionAreScoredByItsOwnMonitorUntilItRetires() throws {
        var tracker = QualityTracker(modelName: "fraud", workerID: "w", store: .init(maxAge: .seconds(120)))
        tracker.register(version: "1", output: Self.output, now: Self.t0)
        for i in 0..<4 { tracker.recordPrediction(Self.prediction("a\(i)", version: "1", at: Self.t0Ms, score: 0.9), partition: 0) }
        tracker.recordPrediction(Self.prediction("a4", version: "1", at: Self.t0Ms + 9_000, score: 0.9), partition: 0)
        tracker.register(version: "2", output: Self.output, now: Self.t0.addingTimeInterval(10))
        for i in 0..<2 { tracker.recordPrediction(Self.prediction("b\(i)", version: "2", at: Self.t0Ms + 10_000, score: 0.2), partition: 1) }
        // Labels arrive for both versions; a3 and b1 never get one.
        for i in 0..<3 { tracker.recordLabel(LabelEvent(id: "a\(i)", value: .text(i == 0 ? "legit" : "fraud")), partition: 0, labelTimeMs: Self.t0Ms + 20_000) }
        tracker.recordLabel(LabelEvent(id: "b0", value: .text("legit")), partition: 1, labelTimeMs: Self.t0Ms + 20_000)
        #expect(tracker.recordLabel(LabelEvent(id: "b0", value: .text("legit")), partition: 1, labelTimeMs: Self.t0Ms + 21_000) == .duplicateLabel)

        let first = tracker.tick(now: Self.t0.addingTimeInterval(61))
        #expect(first.map(\.modelVersion) == ["1", "2"])
        let v1 = try #require(first.first), v2 = try #require(first.last)
        #expect(v1.counts.predictions == 5 && v1.counts.labelled == 3)
        #expect(v1.metrics.accuracy == 2.0 / 3.0)
        #expect(v2.counts.labelled == 1 && v2.metrics.accuracy == 1)

        // +121 s: a3 (made at +0) is older than 120 s: unlabelled for version 1, in the window that
        // closes at the +120 s boundary; version 2 had nothing in it.
        let second = tracker.tick(now: Self.t0.addingTimeInterval(121))
        #expect(second.map(\.modelVersion) == ["1"])
        #expect(second.first?.counts.unlabelledExpired == 1)
        #expect(tracker.recordLabel(LabelEvent(id: "a3", value: .text("fraud")), partition: 0, labelTimeMs: Self.t0Ms + 122_000) == .lateLabel(evictedBy: .age))
        // a4's label still counts for version 1, which is retired 120 s after it was replaced, with a
        // final report; b1 ages out for version 2.
        guard case .joined = tracker.recordLabel(LabelEvent(id: "a4", value: .number(1)), partition: 0, labelTimeMs: Self.t0Ms + 125_000) else {
            Issue.record("a4 did not join"); return
        }
        let third = tracker.tick(now: Self.t0.addingTimeInterval(131))
        let retired = try #require(third.first { $0.modelVersion == "1" })
        #expect(retired.closedBy == .flush)
        #expect(retired.counts.labelled == 1 && retired.metrics.accuracy == 1)
        #expect(tracker.monitoredVersions == ["2"])
        let fourth = tracker.tick(now: Self.t0.addingTimeInterval(181))
        #expect(fourth.map(\.modelVersion) == ["2"])
        #expect(fourth.first?.counts.unlabelledExpired == 1)
        #expect(tracker.statistics.evicted[.age] == 2)

        // A label for a retired version's rebuilt prediction is counted, not scored.
        _ = tracker.rebuild(partition: 0, predictions: [Self.prediction("old", version: "1", at: Self.t0Ms + 170_000, score: 0.9)], settledIDs: [String](),
                            now: Self.t0.addingTimeInterval(181))
        tracker.recordLabel(LabelEvent(id: "old", value: .text("fraud")), partition: 0, labelTimeMs: Self.t0Ms + 182_000)
        #expect(tracker.unmonitoredExamples == 1)
    }

    @Test func aCanaryCandidateIsMonitoredBesideTheCurrentVersionAndRetiredAfterItStops() throws {
        var tracker = QualityTracker(modelName: "fraud", workerID: "w", store: .init(maxAge: .seconds(120)))
        tracker.register(version: "1", output: Self.output, now: Self.t0)
        tracker.monitorAlongside(version: "2", output: Self.output, now: Self.t0)
        tracker.monitorAlongside(version: "2", output: Self.output, now: Self.t0.addingTimeInterval(1))
        #expect(tracker.monitoredVersions == ["1", "2"])
        tracker.recordPrediction(Self.prediction("a", version: "1", at: Self.t0Ms, score: 0.9), partition: 0)
        tracker.recordPrediction(Self.prediction("b", version: "2", at: Self.t0Ms, score: 0.9), partition: 0)
        tracker.recordPrediction(Self.prediction("c", version: "2", at: Self.t0Ms + 30_000, score: 0.9), partition: 0)
        tracker.recordLabel(LabelEvent(id: "a", value: .text("fraud")), partition: 0, labelTimeMs: Self.t0Ms + 1_000)
        tracker.recordLabel(LabelEvent(id: "b", value: .text("legit")), partition: 0, labelTimeMs: Self.t0Ms + 1_000)
        #expect(tracker.unmonitoredExamples == 0, "the candidate's prediction and label have a monitor")
        let first = tracker.tick(now: Self.t0.addingTimeInterval(61))
        #expect(first.map(\.modelVersion) == ["1", "2"])
        #expect(first.first?.metrics.accuracy == 1 && first.last?.metrics.accuracy == 0, "each version is scored on its own predictions")
        #expect(first.last?.counts.predictions == 2)

        // Retiring the current version does nothing; the candidate, rolled back at +40 s, keeps its
        // monitor while its predictions can be labelled (120 s), and the current one never stops.
        tracker.retire(version: "1", now: Self.t0.addingTimeInterval(40))
        tracker.retire(version: "2", now: Self.t0.addingTimeInterval(40))
        _ = tracker.tick(now: Self.t0.addingTimeInterval(121))
        #expect(tracker.monitoredVersions == ["1", "2"])
        guard case .joined = tracker.recordLabel(LabelEvent(id: "c", value: .text("fraud")), partition: 0, labelTimeMs: Self.t0Ms + 130_000) else {
            Issue.record("c did not join"); return
        }
        let last = tracker.tick(now: Self.t0.addingTimeInterval(161))
        let final = try #require(last.first { $0.modelVersion == "2" })
        #expect(final.closedBy == .flush)
        #expect(final.counts.labelled == 1 && final.metrics.accuracy == 1)
        #expect(tracker.monitoredVersions == ["1"])

        // A candidate that is promoted becomes the current version and is never retired by its stop.
        tracker.monitorAlongside(version: "3", output: Self.output, now: Self.t0.addingTimeInterval(200))
        tracker.retire(version: "3", now: Self.t0.addingTimeInterval(300))
        tracker.register(version: "3", output: Self.output, now: Self.t0.addingTimeInterval(300))
        _ = tracker.tick(now: Self.t0.addingTimeInterval(900))
        #expect(tracker.monitoredVersions == ["3"], "version 1 was replaced and retired, 3 serves on")
    }

    @Test func anEarlyLabelIsScoredWhenItsPredictionArrives() throws {
        var tracker = QualityTracker(modelName: "fraud", workerID: "w")
        tracker.register(version: "1", output: Self.output, now: Self.t0)
        #expect(tracker.recordLabel(LabelEvent(id: "x", value: .bool(true)), partition: 0, labelTimeMs: Self.t0Ms) == .heldEarly)
        let outcome = tracker.recordPrediction(Self.prediction("x", version: "1", at: Self.t0Ms + 5, score: 0.7), partition: 0)
        guard case .joinedEarlyLabel = outcome else { Issue.record("\(outcome)"); return }
        let reports = tracker.flush(now: Self.t0.addingTimeInterval(1))
        #expect(reports.count == 1)
        #expect(reports.first?.counts.labelled == 1 && reports.first?.counts.predictions == 1)
        #expect(reports.first?.metrics.labelDelaySeconds?["0.5"].map { abs($0 + 0.005) < 0.0001 } == true, "a negative delay: the label came first")
    }
}
