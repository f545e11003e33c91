import Foundation
@testable import InferenceCore
import Testing

/// Windows (injected clock, no sleeps), label resolution and counted rejections.
@Suite struct QualityMonitorTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000) // a multiple of 60 s
    static let t0Ms: Int64 = 1_800_000_000_000
    static let binary = OutputSchema(task: .binary, labels: ["legit", "fraud"], threshold: 0.5)

    static func example(_ i: Int, score: Float, truth: LabelEvent.Value, delayMs: Int64 = 1000) -> LabelledExample {
        LabelledExample(prediction: PendingPrediction(id: "r\(i)", modelVersion: "1", output: .binary(score: score, predictedPositive: score >= 0.5),
                                                      predictionTimeMs: t0Ms),
                        label: truth, labelTimeMs: t0Ms + delayMs)
    }

    @Test func aWindowClosesByCountAtTheNextCall() throws {
        var monitor = QualityMonitor(modelName: "m", modelVersion: "1", output: Self.binary,
                                     configuration: QualityConfiguration(windowRecordCount: 3), workerID: "w", now: Self.t0)
        monitor.observe(Self.example(0, score: 0.9, truth: .text("fraud")))
        monitor.observe(Self.example(1, score: 0.2, truth: .text("legit")))
        #expect(monitor.takeReportIfDue(now: Self.t0.addingTimeInterval(1)) == nil)
        monitor.observe(Self.example(2, score: 0.7, truth: .text("legit")))
        let reportClosed = monitor.takeReportIfDue(now: Self.t0.addingTimeInterval(2))
        let report = try #require(reportClosed)
        #expect(report.closedBy == .count)
        #expect(report.counts.labelled == 3)
        #expect(report.metrics.accuracy == 2.0 / 3.0)
        #expect(report.windowStartMs == Self.t0Ms && report.windowEndMs == Self.t0Ms + 2000)
        #expect(monitor.labelledCount == 0, "state resets after a report")
        #expect(monitor.flush(now: Self.t0.addingTimeInterval(3)) == nil, "nothing happened since")
    }

    @Test func aWindowClosesAtTheAlignedTimeBoundaryAndEmptyWindowsAreSkipped() throws {
        var monitor = QualityMonitor(modelName: "m", modelVersion: "1", output: Self.binary, workerID: "w", now: Self.t0.addingTimeInterval(10))
        monitor.observe(Self.example(0, score: 0.9, truth: .number(1)))
        #expect(monitor.takeReportIfDue(now: Self.t0.addingTimeInterval(59.999)) == nil)
        let reportClosed = monitor.takeReportIfDue(now: Self.t0.addingTimeInterval(61))
        let report = try #require(reportClosed)
        #expect(report.closedBy == .time)
        #expect(report.windowStartMs == Self.t0Ms + 10_000)
        #expect(report.windowEndMs == Self.t0Ms + 60_000, "ends exactly at the boundary")
        #expect(monitor.takeReportIfDue(now: Self.t0.addingTimeInterval(125)) == nil, "an empty window gives no report")
        monitor.countPrediction()
        let nextClosed = monitor.takeReportIfDue(now: Self.t0.addingTimeInterval(181))
        let next = try #require(nextClosed)
        #expect(next.windowStartMs == Self.t0Ms + 120_000 && next.windowEndMs == Self.t0Ms + 180_000)
        #expect(next.counts.predictions == 1 && next.counts.labelled == 0)
        #expect(next.metrics.accuracy == nil && next.metrics.labelCoverage == nil)
    }

    @Test func labelsThatDoNotFitTheModelAreCountedByReason() throws {
        var monitor = QualityMonitor(modelName: "m", modelVersion: "1", output: Self.binary, workerID: "w", now: Self.t0)
        #expect(monitor.observe(Self.example(0, score: 0.9, truth: .text("unknown"))) == .rejected(reason: "unknown_class"))
        #expect(monitor.observe(Self.example(1, score: 0.9, truth: .number(0.5))) == .rejected(reason: "not_a_class_index"))
        #expect(monitor.observe(Self.example(2, score: 0.9, truth: .number(2))) == .rejected(reason: "class_index_out_of_range"))
        #expect(monitor.observe(Self.example(3, score: 0.9, truth: .number(-1))) == .rejected(reason: "class_index_out_of_range"))
        let regressionExample = LabelledExample(prediction: PendingPrediction(id: "x", modelVersion: "1", output: .regression(score: 1), predictionTimeMs: 0),
                                                label: .number(1), labelTimeMs: 0)
        #expect(monitor.observe(regressionExample) == .rejected(reason: "output_mismatch"))
        #expect(monitor.observe(Self.example(4, score: 0.9, truth: .bool(true))) == .scored)
        let reportClosed = monitor.flush(now: Self.t0.addingTimeInterval(1))
        let report = try #require(reportClosed)
        #expect(report.counts.rejectedLabels == ["unknown_class": 1, "not_a_class_index": 1, "class_index_out_of_range": 2, "output_mismatch": 1])
        #expect(report.counts.labelled == 1)
        #expect(report.metrics.accuracy == 1)

        var regressor = QualityMonitor(modelName: "m", modelVersion: "1", output: OutputSchema(task: .regression), workerID: "w", now: Self.t0)
        #expect(regressor.observe(LabelledExample(prediction: regressionExample.prediction, label: .text("high"), labelTimeMs: 0)) == .rejected(reason: "not_a_number"))
        var multiclass = QualityMonitor(modelName: "m", modelVersion: "1", output: OutputSchema(task: .multiclass, labels: ["a", "b", "c"]), workerID: "w", now: Self.t0)
        let short = LabelledExample(prediction: PendingPrediction(id: "y", modelVersion: "1", output: .multiclass(probabilities: [0.5, 0.5], predictedIndex: 0), predictionTimeMs: 0),
                                    label: .text("a"), labelTimeMs: 0)
        #expect(multiclass.observe(short) == .rejected(reason: "output_mismatch"), "a stored prediction of another shape")
        #expect(multiclass.observe(LabelledExample(prediction: PendingPrediction(id: "z", modelVersion: "1", output: .multiclass(probabilities: [0.2, 0.3, 0.5], predictedIndex: 2), predictionTimeMs: 0),
                                                   label: .bool(true), labelTimeMs: 0)) == .rejected(reason: "not_a_class_index"))
    }

    @Test func coverageIsTheShareOfSettledPredictionsThatGotALabel() throws {
        var monitor = QualityMonitor(modelName: "m", modelVersion: "1", output: Self.binary, workerID: "w", now: Self.t0)
        for _ in 0..<10 { monitor.countPrediction() }
        for i in 0..<3 { monitor.observe(Self.example(i, score: 0.8, truth: .text("fraud"))) }
        monitor.countUnlabelled(1)
        let reportClosed = monitor.flush(now: Self.t0.addingTimeInterval(5))
        let report = try #require(reportClosed)
        #expect(report.counts.predictions == 10)
        #expect(report.metrics.labelCoverage == 0.75)
        #expect(report.metrics.precision == 1 && report.metrics.recall == 1)
        #expect(report.metrics.rocAUC == nil, "one class only: undefined, not a made-up number")
    }
}
