import InferenceWorker
import Testing

/// WorkerMetrics without a broker: what the drift integration and the counters feed.
@Suite struct WorkerMetricsTests {
    @Test func driftVerdictsAreOneSeriesPerFeatureAndAreRemovedWithTheirModel() {
        let metrics = WorkerMetrics()
        #expect(!metrics.render().contains("inference_worker_drift_verdict{"), "no verdict is faked before drift sets one")
        metrics.setDriftVerdict(model: "fraud-mlp", feature: "amount", level: .significant)
        metrics.setDriftVerdict(model: "fraud-mlp", feature: "age", level: .stable)
        metrics.setDriftVerdict(model: "fraud-mlp", feature: "amount", level: .moderate)
        let text = metrics.render()
        #expect(text.contains("inference_worker_drift_verdict{model=\"fraud-mlp\",feature=\"amount\"} 1"))
        #expect(text.contains("inference_worker_drift_verdict{model=\"fraud-mlp\",feature=\"age\"} 0"))
        metrics.clearDriftVerdicts(model: "fraud-mlp")
        #expect(!metrics.render().contains("inference_worker_drift_verdict{"))
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
