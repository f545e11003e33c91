import Foundation
import InferenceCore
import InferenceWorker
import Testing

/// WorkerMetrics without a broker: what the drift integration and the counters feed.
@Suite struct WorkerMetricsTests {
    @Test func driftVerdictsAreOneSeriesPerFeatureAndAreRemovedWithTheirModel() {
        let metrics = WorkerMetrics()
        #expect(!metrics.render().contains("inference_worker_drift_verdict{"), "no verdict is faked before drift sets one")
        metrics.setDriftVerdict(model: "fraud-mlp", feature: "amount", level: .alert)
        metrics.setDriftVerdict(model: "fraud-mlp", feature: "age", level: .ok)
        metrics.setDriftVerdict(model: "fraud-mlp", feature: "amount", level: .warn)
        let text = metrics.render()
        #expect(text.contains("inference_worker_drift_verdict{model=\"fraud-mlp\",feature=\"amount\"} 1"))
        #expect(text.contains("inference_worker_drift_verdict{model=\"fraud-mlp\",feature=\"age\"} 0"))
        metrics.clearDriftVerdicts(model: "fraud-mlp")
        #expect(!metrics.render().contains("inference_worker_drift_verdict{"))
    }

    @Test func aDriftReportSetsEveryFeatureTheOutputAndTheDatasetVerdict() throws {
        let model = try DriftPublishingTests.modelWithBaseline()
        var monitor = DriftMonitor(model: model, workerID: "w", now: Date(timeIntervalSince1970: 0))
        for i in 0..<2_000 {
            var row = TestModels.request(i).raw
            row[0] = .number(95) // x0 always in the top bin: it drifts
            monitor.observe(row: row)
        }
        let flushed = monitor.flush(now: Date(timeIntervalSince1970: 1))
        let report = try #require(flushed)
        let metrics = WorkerMetrics()
        metrics.setDriftVerdicts(from: report)
        let text = metrics.render()
        #expect(text.contains("inference_worker_drift_verdict{model=\"scorer\",feature=\"x0\"} 2"), "x0 alerts")
        #expect(text.contains("inference_worker_drift_verdict{model=\"scorer\",feature=\"x1\"} 0"), "x1 is fine")
        #expect(text.contains("feature=\"_dataset\"") && text.contains("feature=\"_output\""))
    }

    @Test func countersForwardDeltasAndUnknownReasonsCountAsOther() {
        let metrics = WorkerMetrics()
        let counters = PipelineCounters(metrics: metrics)
        counters.endToEndLatency.record(microseconds: 1_500)
        counters.endToEndLatency.record(microseconds: 3_000_000)
        let text = metrics.render()
        #expect(text.contains("inference_worker_end_to_end_latency_seconds_count 2"))
        #expect(text.contains("inference_worker_end_to_end_latency_seconds_bucket{le=\"0.0025\"} 1"))
        #expect(counters.endToEndLatency.count == 2, "the in-process histogram still records")
        #expect(WorkerMetrics.deadLetterReasons.contains("malformed_json"))
        #expect(WorkerMetrics.deadLetterReasons.contains("output_produce_failure"))
    }
}
