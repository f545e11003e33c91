import Testing

@testable import InferenceWorker

@Suite struct PipelineCountersTests {
    @Test func predictionsCountWhicheverWayTheyAreRecordedAndFeedTheLatencyHistogram() {
        let counters = PipelineCounters()
        counters.predicted(endToEndMicroseconds: 2_000)
        counters.predicted(endToEndMicroseconds: nil) // no input timestamp: counted, no latency
        counters.update { $0.predicted += 1 }
        #expect(counters.snapshot.predicted == 3)
        #expect(counters.snapshot.outcomes == 3)
        #expect(counters.endToEndLatency.count == 1)
    }

    @Test func predictionsReachTheMetricsOnce() {
        let metrics = WorkerMetrics()
        let counters = PipelineCounters(metrics: metrics)
        for _ in 0..<3 { counters.predicted(endToEndMicroseconds: 1_500) }
        counters.update { $0.consumed += 5 }
        let text = metrics.render()
        #expect(text.contains("inference_worker_predictions_total 3"), "\(text)")
        #expect(text.contains("inference_worker_end_to_end_latency_seconds_count 3"))
        #expect(counters.snapshot.predicted == 3)
    }

    @Test func histogramQuantilesCountAndReset() async {
        let histogram = LatencyHistogram()
        #expect(histogram.quantile(0.5) == nil)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<2_500 { histogram.record(microseconds: 1_000) } }
            }
        }
        histogram.record(microseconds: 1_000_000)
        #expect(histogram.count == 10_001)
        let median = histogram.quantile(0.5) ?? 0
        #expect(median >= 1.0 && median <= 1.1, "1 ms within one bucket (~9%)")
        let top = histogram.quantile(1) ?? 0
        #expect(top >= 1_000 && top <= 1_100)
        histogram.reset()
        #expect(histogram.count == 0)
        #expect(histogram.quantile(0.5) == nil)
    }
}
