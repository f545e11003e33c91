import Foundation
@testable import InferenceCore

enum RolloutFixtures {
    /// 2024-01-01T00:00:00Z, on a window boundary for every window length that divides a day.
    static let t0 = Date(timeIntervalSince1970: 1_704_067_200)

    static func record(
        mode: RolloutMode = .shadow(fraction: 0.5), promoteAfter: Int = 3, minRecords: Int = 100, windowSeconds: Int = 60
    ) throws -> RolloutRecord {
        try RolloutRecord(
            modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: mode,
            thresholds: RolloutThresholds(minRecordsPerWindow: minRecords),
            policy: .init(promoteAfterWindows: promoteAfter, windowSeconds: windowSeconds, decisionGraceSeconds: 10), now: t0
        )
    }

    /// Evidence of window `index` from `worker`: `rows` sampled rows both versions scored, of which
    /// `disagreeing` get different labels; `failures` candidate errors.
    static func evidence(
        _ record: RolloutRecord, index: Int64, worker: String = "w1", rows: Int, disagreeing: Int = 0, failures: Int = 0
    ) throws -> RolloutEvidence {
        let window = RolloutWindow(index: RolloutWindow(containing: Int64(t0.timeIntervalSince1970 * 1000), durationMs: record.policy.windowMs).index + index,
                                   durationMs: record.policy.windowMs)
        var e = try RolloutEvidence(record: record, window: window, workerID: worker, outputBinning: .unitInterval)
        e.recordBatch(.primary, rows: rows, duration: .milliseconds(10))
        e.recordBatch(.candidate, rows: rows, duration: .milliseconds(12))
        for i in 0..<rows {
            let score = Double(i % 10) / 10 + 0.05
            let p = RolloutOutput(label: score >= 0.5 ? "1" : "0", score: score)
            let c = RolloutOutput(label: i < disagreeing ? (p.label == "1" ? "0" : "1") : p.label, score: score + 0.01)
            e.recordOutput(.primary, p)
            e.recordOutput(.candidate, c)
            e.recordComparison(primary: p, candidate: c)
        }
        for _ in 0..<failures { e.recordError(.candidate) }
        return e
    }

    /// The time at which window `index` (relative to t0's window) has ended, plus `extra` seconds.
    static func after(window index: Int64, of record: RolloutRecord, extra: Double = 0) -> Date {
        t0.addingTimeInterval(Double(index + 1) * Double(record.policy.windowSeconds) + extra)
    }
}
