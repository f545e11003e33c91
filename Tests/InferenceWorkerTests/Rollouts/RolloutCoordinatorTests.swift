import Foundation
import InferenceCore
@testable import InferenceWorker
import Kafka
import KafkaTestSupport
import Prometheus
import Synchronization
import Testing

/// Two replicas' coordinators on the embedded broker: both follow the record, exactly one decides,
/// and every window gets exactly one decision made on the evidence of both replicas.
@Suite struct RolloutCoordinatorTests {
    static let t0 = Date(timeIntervalSince1970: 1_704_067_200)

    final class TestClock: Sendable {
        private let value: Mutex<Date>
        init(_ date: Date) { value = Mutex(date) }
        var now: Date { value.withLock { $0 } }
        func set(_ date: Date) { value.withLock { $0 = date } }
    }

    /// Waits for `condition`, checking every 50 ms, at most `timeout` (the broker's group protocol
    /// runs on real time; nothing here waits on the roll-out's own clock).
    func eventually(_ timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    @Test func twoReplicasOneDecisionPerWindowOnTheMergedEvidence() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        let suffix = UUID().uuidString.prefix(8)
        let rollouts = "rollouts-\(suffix)", evidenceTopic = "evidence-\(suffix)"
        try broker.createTopic(rollouts, partitions: 1)
        try broker.createTopic(evidenceTopic, partitions: 2)
        let topic = RolloutTopic(bootstrapServers: [broker.bootstrapServers], name: rollouts, logger: .quiet)
        let record = try RolloutRecord(
            modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: .shadow(fraction: 0.5),
            thresholds: RolloutThresholds(minRecordsPerWindow: 150),
            policy: .init(promoteAfterWindows: 2, windowSeconds: 60, decisionGraceSeconds: 10), now: Self.t0
        )
        try await topic.write(record)

        let clock = TestClock(Self.t0)
        let registries = [PrometheusCollectorRegistry(), PrometheusCollectorRegistry()]
        let coordinators = try ["w1", "w2"].enumerated().map { index, worker in
            var configuration = RolloutCoordinator.Configuration(bootstrapServers: [broker.bootstrapServers], groupID: "g-\(suffix)", workerID: worker)
            configuration.rolloutTopic = rollouts
            configuration.evidenceTopic = evidenceTopic
            configuration.tickInterval = .milliseconds(50)
            configuration.sessionTimeout = .seconds(6)
            let metrics = RolloutMetrics(factory: PrometheusMetricsFactory(registry: registries[index]))
            return try RolloutCoordinator(configuration: configuration, logger: .quiet, metrics: metrics, now: { clock.now })
        }
        let tasks = coordinators.map { c in Task { try await c.run() } }
        defer { tasks.forEach { $0.cancel() } }

        #expect(try await eventually { coordinators.allSatisfy { $0.record(for: "fraud") == record } })
        #expect(coordinators.allSatisfy { $0.router(for: "fraud") != nil })

        // Each replica records 100 shadowed rows per window (150 needed: only the merge is enough).
        for (index, coordinator) in coordinators.enumerated() {
            var recorder = try RolloutEvidenceRecorder(record: record, workerID: "w\(index + 1)", outputBinning: .unitInterval, now: Self.t0)
            for window in 0..<2 {
                let at = Self.t0.addingTimeInterval(Double(window * 60 + 1))
                recorder.record(now: at) { e in
                    e.recordBatch(.primary, rows: 100, duration: .milliseconds(10))
                    e.recordBatch(.candidate, rows: 100, duration: .milliseconds(11))
                    for i in 0..<100 {
                        let output = RolloutOutput(label: i % 2 == 0 ? "1" : "0", score: Double(i) / 100)
                        e.recordOutput(.primary, output)
                        e.recordOutput(.candidate, output)
                        e.recordComparison(primary: output, candidate: output)
                    }
                }
            }
            for report in recorder.takeClosedReports(now: Self.t0.addingTimeInterval(120)) { coordinator.publish(report) }
        }
        // Every replica holds all four reports before the clock lets any window be decided.
        #expect(try await eventually { coordinators.allSatisfy { $0.pendingReports(for: "fraud") == 4 } })
        #expect(try await eventually { coordinators.filter(\.isDecider).count == 1 })

        clock.set(Self.t0.addingTimeInterval(120))
        #expect(try await eventually { try await topic.read(model: "fraud")?.state == .promoted })
        let final = try #require(try await topic.read(model: "fraud"))
        #expect(final.decisions.map(\.action) == [.hold, .promote])
        #expect(final.decisions.map { $0.evidence?.workers } == [2, 2])
        #expect(final.decisions.map { $0.evidence?.candidateRecords } == [200, 200])
        #expect(Set(final.decisions.map(\.decidedBy)).count == 1)
        #expect(coordinators.map(\.decisionsWritten).sorted() == [0, 2])
        func texts() -> [String] {
            registries.map { registry -> String in
                var buffer: [UInt8] = []
                registry.emit(into: &buffer)
                return String(decoding: buffer, as: UTF8.self)
            }
        }
        #expect(texts().filter { $0.contains(#"inference_worker_rollout_decisions_total{model="fraud",action="promote"} 1"#) }.count == 1)
        // Eventually: the second member may have joined the decider group late, and an eager
        // rebalance revokes partition 0 from its owner for a moment.
        #expect(try await eventually { texts().filter { $0.contains("inference_worker_rollout_decider 1") }.count == 1 })
        let texts = texts()
        #expect(texts.allSatisfy { $0.contains(#"inference_worker_rollout_records_total{model="fraud",version="2",role="candidate"} 200"#) })
        // Both replicas follow the outcome: nothing routed to the candidate any more.
        #expect(try await eventually { coordinators.allSatisfy { $0.record(for: "fraud")?.state == .promoted } })
        #expect(coordinators.allSatisfy { $0.router(for: "fraud") == nil })

        for task in tasks { task.cancel() }
        for task in tasks { try await task.value }
    }

    /// Window `index`'s report of `worker`: `rows` shadowed rows on which both versions agree.
    static func report(_ record: RolloutRecord, worker: String, window index: Int, rows: Int = 100) throws -> RolloutEvidence {
        let window = RolloutWindow(containing: Int64(t0.timeIntervalSince1970 * 1000) + Int64(index) * record.policy.windowMs, durationMs: record.policy.windowMs)
        var e = try RolloutEvidence(record: record, window: window, workerID: worker, outputBinning: .unitInterval)
        e.recordBatch(.primary, rows: rows, duration: .milliseconds(10))
        e.recordBatch(.candidate, rows: rows, duration: .milliseconds(10))
        for i in 0..<rows {
            let output = RolloutOutput(label: "x", score: Double(i % 10) / 10)
            e.recordOutput(.primary, output)
            e.recordOutput(.candidate, output)
            e.recordComparison(primary: output, candidate: output)
        }
        return e
    }

    @Test func whenTheDeciderStopsTheOtherReplicaDecidesWhatIsLeft() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        let suffix = UUID().uuidString.prefix(8)
        let rollouts = "rollouts-\(suffix)", evidenceTopic = "evidence-\(suffix)"
        try broker.createTopic(rollouts, partitions: 1)
        try broker.createTopic(evidenceTopic, partitions: 1)
        let topic = RolloutTopic(bootstrapServers: [broker.bootstrapServers], name: rollouts, logger: .quiet)
        let record = try RolloutRecord(
            modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: .shadow(fraction: 0.5),
            thresholds: RolloutThresholds(minRecordsPerWindow: 150),
            policy: .init(promoteAfterWindows: 3, windowSeconds: 60, decisionGraceSeconds: 10), now: Self.t0
        )
        try await topic.write(record)
        let clock = TestClock(Self.t0)
        let coordinators = try ["w1", "w2"].map { worker in
            var configuration = RolloutCoordinator.Configuration(bootstrapServers: [broker.bootstrapServers], groupID: "g-\(suffix)", workerID: worker)
            configuration.rolloutTopic = rollouts
            configuration.evidenceTopic = evidenceTopic
            configuration.tickInterval = .milliseconds(50)
            configuration.sessionTimeout = .seconds(6)
            return try RolloutCoordinator(configuration: configuration, logger: .quiet, now: { clock.now })
        }
        let tasks = coordinators.map { c in Task { try await c.run() } }
        defer { tasks.forEach { $0.cancel() } }
        for (i, c) in coordinators.enumerated() {
            for window in 0..<2 { c.publish(try Self.report(record, worker: "w\(i + 1)", window: window)) }
        }
        #expect(try await eventually { coordinators.allSatisfy { $0.pendingReports(for: "fraud") == 4 } })
        #expect(try await eventually { coordinators.filter(\.isDecider).count == 1 })

        // Window 0 is due; window 1 is not over yet.
        clock.set(Self.t0.addingTimeInterval(70))
        #expect(try await eventually { coordinators.allSatisfy { $0.record(for: "fraud")?.decisions.count == 1 } })
        // Whoever decided it (partition 0 may have moved once while the second member joined).
        let deciderOfWindow0 = try #require(coordinators[0].record(for: "fraud")?.decisions.first?.decidedBy)
        let first = deciderOfWindow0 == "w1" ? 0 : 1
        let other = 1 - first

        // The decider stops (leaves its groups); the other replica takes partition 0 over.
        tasks[first].cancel()
        try await tasks[first].value
        #expect(try await eventually { coordinators[other].isDecider })
        clock.set(Self.t0.addingTimeInterval(130))
        #expect(try await eventually { try await topic.read(model: "fraud")?.decisions.count == 2 })
        let final = try #require(try await topic.read(model: "fraud"))
        #expect(final.decisions.map { $0.window?.index } == [0, 1].map { final.decisions[0].window!.index + Int64($0) })
        #expect(final.decisions.map(\.decidedBy) == ["w\(first + 1)", "w\(other + 1)"])
        // The new decider had the stopped replica's report too (read from the evidence topic).
        #expect(final.decisions.map { $0.evidence?.workers } == [2, 2])
        #expect(final.consecutiveGoodWindows == 2 && final.state == .running)
        #expect(coordinators[other].decisionsWritten == 1)
        tasks[other].cancel()
        try await tasks[other].value
    }
}
