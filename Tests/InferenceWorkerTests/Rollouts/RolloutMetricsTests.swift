import Foundation
import InferenceCore
import InferenceWorker
import Prometheus
import Testing

/// RolloutMetrics as Prometheus text: per-version series grown by each window's totals, and
/// removed when a new roll-out starts.
@Suite struct RolloutMetricsTests {
    static let t0 = Date(timeIntervalSince1970: 1_704_067_200)

    func render(_ registry: PrometheusCollectorRegistry) -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    func report(_ record: RolloutRecord, rows: Int, disagreeing: Int, failures: Int) throws -> RolloutEvidence {
        var e = try RolloutEvidence(record: record, window: RolloutWindow(index: 1, durationMs: record.policy.windowMs), workerID: "w1", outputBinning: .label)
        e.recordBatch(.primary, rows: rows, duration: .milliseconds(500))
        e.recordBatch(.candidate, rows: rows, duration: .milliseconds(250))
        for i in 0..<rows {
            let p = RolloutOutput(label: "a", score: 0.5)
            e.recordComparison(primary: p, candidate: RolloutOutput(label: i < disagreeing ? "b" : "a", score: 0.75))
        }
        for _ in 0..<failures { e.recordDeadLetter(.candidate) }
        return e
    }

    @Test func windowsAddUpPerVersionAndANewRolloutRemovesTheOldSeries() throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = RolloutMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let record = try RolloutRecord(modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: .canary(fraction: 0.25), now: Self.t0)
        metrics.follow(record, model: "fraud")
        metrics.record(try report(record, rows: 40, disagreeing: 4, failures: 3))
        metrics.record(try report(record, rows: 10, disagreeing: 0, failures: 0))
        var text = render(registry)
        #expect(text.contains(#"inference_worker_rollout_records_total{model="fraud",version="2",role="candidate"} 50"#))
        #expect(text.contains(#"inference_worker_rollout_records_total{model="fraud",version="1",role="primary"} 50"#))
        #expect(text.contains(#"inference_worker_rollout_dead_letters_total{model="fraud",version="2",role="candidate"} 3"#))
        #expect(text.contains(#"inference_worker_rollout_dead_letters_total{model="fraud",version="1",role="primary"} 0"#))
        #expect(text.contains(#"inference_worker_rollout_batch_seconds_total{model="fraud",version="1",role="primary"} 1.0"#))
        #expect(text.contains(#"inference_worker_rollout_label_comparisons_total{model="fraud",version="2"} 50"#))
        #expect(text.contains(#"inference_worker_rollout_label_agreements_total{model="fraud",version="2"} 46"#))
        #expect(text.contains(#"inference_worker_rollout_evidence_reports_total{model="fraud"} 2"#))
        #expect(text.contains(#"inference_worker_rollout_info{model="fraud",rollout_id="\#(record.rolloutID)",mode="canary",state="running"} 1"#))
        #expect(text.contains(#"inference_worker_rollout_fraction{model="fraud"} 0.25"#))

        let next = try RolloutRecord(modelName: "fraud", primaryVersion: "2", candidateVersion: "3", mode: .shadow(fraction: 0.1), now: Self.t0.addingTimeInterval(60))
        metrics.follow(next, model: "fraud")
        text = render(registry)
        #expect(!text.contains(#"version="1""#))
        #expect(!text.contains(record.rolloutID))
        #expect(text.contains(#"inference_worker_rollout_info{model="fraud",rollout_id="\#(next.rolloutID)",mode="shadow",state="running"} 1"#))
    }
}
