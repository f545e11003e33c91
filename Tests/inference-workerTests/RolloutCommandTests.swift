import Foundation
import InferenceCore
import InferenceWorker
@testable import inference_worker
import Kafka
import KafkaTestSupport
import Testing

/// The `rollout` commands against the embedded broker: what they write to the roll-out topic and
/// what `status` reads back.
@Suite struct RolloutCommandTests {
    static let t0 = Date(timeIntervalSince1970: 1_704_067_200)

    struct Setup {
        let broker: EmbeddedKafkaBroker
        let topic: RolloutTopic
        func runner(at date: Date = RolloutCommandTests.t0, user: String = "ana") -> RolloutCommandRunner {
            RolloutCommandRunner(topic: topic, now: { date }, user: user)
        }
    }

    func setup() throws -> Setup {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        let name = "rollouts-\(UUID().uuidString.prefix(8))"
        try broker.createTopic(name, partitions: 1)
        let topic = RolloutTopic(bootstrapServers: [broker.bootstrapServers], name: name, timeout: .seconds(20), logger: .quiet)
        return Setup(broker: broker, topic: topic)
    }

    func start(_ runner: RolloutCommandRunner, primary: String? = "1", candidate: String = "2") async throws -> String {
        try await runner.start(
            model: "fraud", primary: primary, candidate: candidate, mode: .shadow(fraction: 0.1),
            thresholds: RolloutThresholds(minRecordsPerWindow: 50), policy: .init(promoteAfterWindows: 2, windowSeconds: 60, decisionGraceSeconds: 5)
        )
    }

    @Test func startThenStatusShowsTheRecord() async throws {
        let s = try setup()
        #expect(try await s.runner().status(model: "fraud", json: false).hasPrefix("no roll-out of fraud"))
        _ = try await start(s.runner())
        let status = try await s.runner().status(model: "fraud", json: false)
        #expect(status.contains("model fraud: running"))
        #expect(status.contains("primary 1, candidate 2, shadow 10 %"))
        #expect(status.contains("promote after 2 good windows of 60 s in a row (0 so far)"))
        #expect(status.contains("latest evidence: none yet"))
        let record = try #require(try await s.topic.read(model: "fraud"))
        #expect(record.state == .running && record.thresholds.minRecordsPerWindow == 50)
        #expect(record.startedAtMs == Int64(Self.t0.timeIntervalSince1970 * 1000))
        let json = try await s.runner().status(model: "fraud", json: true)
        #expect(try RolloutRecord.decode(Data(json.utf8)) == record)
    }

    @Test func aSecondStartWhileOneRunsIsRefused() async throws {
        let s = try setup()
        _ = try await start(s.runner())
        await #expect {
            _ = try await start(s.runner(at: Self.t0.addingTimeInterval(60)), candidate: "3")
        } throws: { error in
            guard let error = error as? RolloutError else { return false }
            return error.code == .conflict && error.message.contains("a roll-out of fraud is already running (candidate 2")
        }
        // The topic still holds the first roll-out.
        #expect(try await s.topic.read(model: "fraud")?.candidateVersion == "2")
    }

    @Test func manualDecisionsAreRecordedAndEndTheRollout() async throws {
        let s = try setup()
        _ = try await start(s.runner())
        let said = try await s.runner(at: Self.t0.addingTimeInterval(120)).decide(model: "fraud", .promote, note: "dashboards look fine")
        #expect(said == "promote recorded (manual: dashboards look fine): fraud now serves 2")
        let record = try #require(try await s.topic.read(model: "fraud"))
        #expect(record.state == .promoted && record.primaryVersion == "2" && record.previousPrimaryVersion == "1")
        #expect(record.decisions.map(\.reason) == ["manual: dashboards look fine"])
        #expect(record.decisions.first?.decidedBy == "cli:ana" && record.decisions.first?.manual == true)
        let status = try await s.runner().status(model: "fraud", json: false)
        #expect(status.contains("model fraud: promoted"))
        #expect(status.contains("promote  manual: dashboards look fine  (by cli:ana)"))
        // Over: a roll-back is refused, a new start takes the promoted version as its primary.
        await #expect(throws: RolloutError.self) { _ = try await s.runner().decide(model: "fraud", .rollBack, note: nil) }
        _ = try await start(s.runner(at: Self.t0.addingTimeInterval(300)), primary: nil, candidate: "3")
        let next = try #require(try await s.topic.read(model: "fraud"))
        #expect(next.primaryVersion == "2" && next.candidateVersion == "3" && next.state == .running)
    }

    @Test func abortAndRollbackKeepThePrimary() async throws {
        let s = try setup()
        _ = try await start(s.runner())
        #expect(try await s.runner().decide(model: "fraud", .abort, note: nil) == "abort recorded (manual): fraud now serves 1")
        #expect(try await s.topic.read(model: "fraud")?.state == .aborted)
        _ = try await start(s.runner(), primary: nil, candidate: "3")
        _ = try await s.runner().decide(model: "fraud", .rollBack, note: nil)
        let record = try #require(try await s.topic.read(model: "fraud"))
        #expect(record.state == .rolledBack && record.primaryVersion == "1" && record.candidateVersion == "3")
    }

    @Test func anUnreadableRecordOnTheTopicIsAClearError() async throws {
        let s = try setup()
        var configuration = KafkaProducerConfiguration(bootstrapServers: [s.broker.bootstrapServers])
        configuration.clientID = "test"
        let producer = try KafkaProducer(configuration: configuration, logger: .quiet)
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: s.topic.name, key: Array("fraud".utf8), value: Array("{oops".utf8)))
        _ = await producer.close()
        await #expect {
            _ = try await s.runner().status(model: "fraud", json: false)
        } throws: { error in
            guard let error = error as? RolloutError else { return false }
            return error.code == .malformed && error.message.contains("the record of fraud at offset 0")
        }
    }

    @Test func aMissingTopicIsNamed() async throws {
        let s = try setup()
        let missing = RolloutTopic(bootstrapServers: s.topic.bootstrapServers, name: "no-such-topic", timeout: .seconds(10), logger: .quiet)
        await #expect {
            _ = try await RolloutCommandRunner(topic: missing).status(model: "fraud", json: false)
        } throws: { error in
            (error as? KafkaError)?.message.contains("topic no-such-topic does not exist") == true
        }
    }

    @Test func theCommandLineRefusesNonsenseBeforeConnecting() throws {
        #expect(throws: (any Error).self) {
            _ = try RolloutCommand.Start.parse(["--model", "fraud", "--candidate", "2", "--fraction", "1.5", "--bootstrap-servers", "x:1"])
        }
        #expect(throws: (any Error).self) {
            _ = try RolloutCommand.Start.parse(["--model", "fraud", "--candidate", "2", "--max-failure-rate", "lots", "--bootstrap-servers", "x:1"])
        }
        #expect(throws: (any Error).self) {
            _ = try RolloutCommand.Start.parse(["--model", "fraud", "--candidate", "2", "--mode", "blue-green"])
        }
        let parsed = try RolloutCommand.Start.parse(["--model", "fraud", "--candidate", "2", "--mode", "canary", "--max-output-psi", "off"])
        #expect(try parsed.modeKind() == .canary)
        #expect(try parsed.thresholds().maxOutputPSI == nil)
    }

    @Test func accuracyLimitsComeFromTheCommandLineAndTheStatusShowsTheirVerdict() throws {
        let base = ["--model", "fraud", "--candidate", "2", "--bootstrap-servers", "x:1"]
        let parsed = try RolloutCommand.Start.parse(base + ["--mode", "canary", "--min-accuracy", "0.9", "--max-accuracy-drop", "0.02", "--min-labelled", "500"])
        #expect(try parsed.thresholds().quality == .init(minAccuracy: 0.9, maxAccuracyDrop: 0.02, minLabelledPerWindow: 500))
        #expect(try RolloutCommand.Start.parse(base + ["--mode", "canary"]).thresholds().quality == nil, "off by default")
        #expect(throws: (any Error).self, "a shadow's accuracy cannot be measured") {
            _ = try RolloutCommand.Start.parse(base + ["--min-accuracy", "0.9"])
        }
        #expect(throws: (any Error).self) { _ = try RolloutCommand.Start.parse(base + ["--mode", "canary", "--min-accuracy", "high"]) }

        // A window in which the candidate was right on 80 of 100 labelled predictions.
        let record = try RolloutRecord(
            modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: .canary(fraction: 0.5),
            thresholds: try parsed.thresholds(), policy: .init(promoteAfterWindows: 1, windowSeconds: 60, decisionGraceSeconds: 5), now: Self.t0)
        var evidence = try RolloutEvidence(record: record, window: RolloutWindow(containing: Int64(Self.t0.timeIntervalSince1970 * 1000), durationMs: 60_000),
                                           workerID: "w1", outputBinning: .unitInterval)
        evidence.recordBatch(.primary, rows: 1000, duration: .milliseconds(10))
        evidence.recordBatch(.candidate, rows: 1000, duration: .milliseconds(10))
        for i in 0..<600 { evidence.recordLabelled(.candidate, correct: i < 480) }
        for i in 0..<600 { evidence.recordLabelled(.primary, correct: i < 570) }
        var policy = RolloutPolicy(record: record, deciderID: "w1")
        _ = policy.windowClosed(evidence, now: Self.t0.addingTimeInterval(61))
        let status = RolloutStatusText.render(policy.record)
        #expect(status.contains("model fraud: rolled_back"), "\(status)")
        #expect(status.contains("quality thresholds: accuracy against labels, at least 500 labelled predictions per version and window"), "\(status)")
        let rows = status.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(rows.contains("labelled (candidate / primary) 600 / 600 >= 500 ok"), "\(status)")
        #expect(rows.contains("candidate accuracy 0.8 >= 0.9 OUTSIDE"), "\(status)")
        #expect(rows.contains("primary accuracy 0.95 - -"), "\(status)")
        #expect(rows.contains("accuracy drop 0.15 <= 0.02 OUTSIDE"), "\(status)")
        #expect(status.contains("accuracy 0.8 < 0.9 (600 labelled); accuracy drop 0.15 > 0.02"), "\(status)")

        // Too few of the primary's labels for the drop: a hold, and the table says so too.
        var thin = try RolloutEvidence(record: record, window: evidence.window, workerID: "w1", outputBinning: .unitInterval)
        thin.recordBatch(.primary, rows: 1000, duration: .milliseconds(10))
        thin.recordBatch(.candidate, rows: 1000, duration: .milliseconds(10))
        for _ in 0..<600 { thin.recordLabelled(.candidate, correct: true) }
        for _ in 0..<100 { thin.recordLabelled(.primary, correct: true) }
        var holding = RolloutPolicy(record: record, deciderID: "w1")
        _ = holding.windowClosed(thin, now: Self.t0.addingTimeInterval(61))
        let held = RolloutStatusText.render(holding.record)
        #expect(held.contains("model fraud: running"), "\(held)")
        let heldRows = held.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(heldRows.contains("labelled (candidate / primary) 600 / 100 >= 500 too few"), "\(held)")
    }

    @Test func startCreatesBothTopicsWhenAsked() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        let suffix = UUID().uuidString.prefix(8)
        let topic = RolloutTopic(bootstrapServers: [broker.bootstrapServers], name: "rollouts-\(suffix)", logger: .quiet)
        let runner = RolloutCommandRunner(topic: topic, now: { Self.t0 }, user: "ana")
        // The embedded broker stands in for KafkaAdmin (librdkafka's mock cluster has no controller).
        let said = try runner.createTopics(broker, evidenceTopic: "evidence-\(suffix)")
        #expect(said == "created rollouts-\(suffix), evidence-\(suffix)")
        #expect(try runner.createTopics(broker, evidenceTopic: "evidence-\(suffix)") == "topics rollouts-\(suffix) and evidence-\(suffix) exist")
        _ = try await start(runner)
        #expect(try await topic.read(model: "fraud")?.candidateVersion == "2")
    }
}
