public import Foundation
public import InferenceCore
public import Kafka
public import Logging
public import ServiceLifecycle
import Synchronization

/// One replica's part in the group's roll-outs (docs/rollouts.md, "Coordination"): it follows the
/// roll-out records, publishes this replica's evidence, and, while it owns partition 0 of the
/// roll-out topic in the decider group, decides each window for the whole group.
///
/// Three consumers, each on its own `kafka-consumer` thread, feed one ``RolloutDecider`` per model
/// behind a lock:
/// - the **follower** reads the roll-out topic from the beginning, in a group of its own (so every
///   replica sees every record), and passes each record to the model's decider (which keeps the
///   "a roll-out that is over never runs again" rule) — ``record(for:)`` answers from it;
/// - the **membership** consumer only joins `<group>.rollout-decider`: the member that is assigned
///   partition 0 of the one-partition roll-out topic is the decider;
/// - the **evidence** consumer reads every replica's reports from the earliest retained offset (no
///   commits), so that whichever replica becomes decider already holds the pending evidence.
///
/// Only the decider ticks its deciders and writes decisions (``run()``, once per
/// ``Configuration/tickInterval``, on the service group's task; the writes are awaited, nothing
/// blocks a thread). A decision that cannot be written is kept and written again at the next tick,
/// the newest record per model winning.
///
/// The pipeline asks it for the record of the model it serves (``RolloutSource``) at every batch
/// boundary, and hands it its closed evidence windows (``publish(_:)``).
public final class RolloutCoordinator: Service, Sendable {
    /// Where the topics are and how this replica is named.
    public struct Configuration: Sendable {
        /// Brokers to reach.
        public var bootstrapServers: [String]
        /// The serving consumer group; the coordinator's groups are named after it.
        public var groupID: String
        /// This replica's id (reports and decisions carry it).
        public var workerID: String
        /// The roll-out topic (one partition, compacted); default `inference-rollouts`.
        public var rolloutTopic: String = RolloutTopic.defaultName
        /// The evidence topic; default `inference-rollout-evidence`.
        public var evidenceTopic: String = RolloutTopic.defaultEvidenceName
        /// Raw librdkafka properties (security settings) for every client.
        public var additionalProperties: [String: String] = [:]
        /// How often the decider looks for due windows; default 1 s.
        public var tickInterval: Duration = .seconds(1)
        /// The consumers' session timeout: how long a dead decider keeps partition 0; default 45 s.
        public var sessionTimeout: Duration = .seconds(45)

        /// Creates a configuration; the other settings take their documented defaults.
        public init(bootstrapServers: [String], groupID: String, workerID: String) {
            self.bootstrapServers = bootstrapServers
            self.groupID = groupID
            self.workerID = workerID
        }

        /// The group whose owner of partition 0 decides.
        public var deciderGroupID: String { "\(groupID).rollout-decider" }
    }

    private struct State {
        var deciders: [String: RolloutDecider] = [:]
        /// Reports of models whose record has not arrived yet (start-up order), replayed when it does.
        var orphanReports: [String: [RolloutEvidence]] = [:]
        var isDecider = false
        /// Records to write, newest per model.
        var pendingWrites: [String: RolloutRecord] = [:]
        var unreadableRecords = 0
        var unreadableReports = 0
        var decisionsWritten = 0
    }

    /// Most reports kept per model before its record arrived.
    static let maxOrphanReports = 10_000

    /// The configuration.
    public let configuration: Configuration
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let state = Mutex(State())
    let producer: KafkaProducer
    private let consumers = Mutex<[KafkaConsumer]>([])
    private let metrics: RolloutMetrics?

    /// Creates the coordinator and its producer; the consumers start in ``run()``.
    ///
    /// - Parameters:
    ///   - metrics: where the roll-out series go (the worker's ``RolloutMetrics``); `nil` for none.
    ///   - now: the clock decisions and windows are read from (tests pass a manual one).
    /// - Throws: ``KafkaError`` when the producer cannot be created (a bad property).
    public init(
        configuration: Configuration, logger: Logger, metrics: RolloutMetrics? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.now = now
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: configuration.bootstrapServers)
        producerConfiguration.clientID = "\(configuration.workerID)-rollouts"
        producerConfiguration.additionalProperties = configuration.additionalProperties
        producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
    }

    // MARK: For the serving path

    /// The roll-out record of `model` as this replica follows it; `nil` when there is none (serve
    /// the latest or pinned version, as without roll-outs).
    public func record(for model: String) -> RolloutRecord? {
        state.withLock { $0.deciders[model]?.record }
    }

    /// The key router of `model`'s running roll-out; `nil` when none runs (everything to the primary).
    public func router(for model: String) -> RolloutKeyRouter? {
        record(for: model).flatMap(RolloutKeyRouter.init(record:))
    }

    /// Whether this replica is the group's decider now.
    public var isDecider: Bool { state.withLock { $0.isDecider } }

    /// Decisions this replica wrote as decider.
    public var decisionsWritten: Int { state.withLock { $0.decisionsWritten } }

    /// Reports held for `model`'s undecided windows (for tests and the status endpoint).
    public func pendingReports(for model: String) -> Int {
        state.withLock { s in
            guard let decider = s.deciders[model] else { return s.orphanReports[model]?.count ?? 0 }
            return decider.pendingReportCount
        }
    }

    /// Publishes one closed window's evidence of this replica (from ``RolloutEvidenceRecorder``);
    /// key `<model>/<window index>/<worker id>`, so that a report sent twice replaces itself.
    /// Does not wait: the send is queued; a full queue or an encoding failure is logged and the
    /// report dropped (the decider then decides without it after the grace period).
    public func publish(_ evidence: RolloutEvidence) {
        let quantile = record(for: evidence.modelName)?.thresholds.scoreDifferenceQuantile ?? RolloutThresholds().scoreDifferenceQuantile
        metrics?.record(evidence, scoreDifferenceQuantile: quantile)
        do {
            let key = "\(evidence.modelName)/\(evidence.window.index)/\(configuration.workerID)"
            try producer.send(KafkaProducerMessage(topic: configuration.evidenceTopic, key: Array(key.utf8), value: Array(try evidence.jsonData())))
        } catch {
            logger.warning("roll-out evidence not sent", metadata: ["model.name": "\(evidence.modelName)", "error": "\(error)"])
        }
    }

    /// Follows `record` as if the follower had just read it: the worker reads the roll-out topic
    /// once before serving (``RolloutTopic/read(model:)``), so that its first batches already obey
    /// the record. The follower reads the same record again later; that changes nothing (an older
    /// record never replaces a newer one).
    public func follow(_ record: RolloutRecord) {
        guard let value = try? record.jsonData() else { return }
        recordArrived(key: Array(record.modelName.utf8), value: Array(value))
    }

    // MARK: Running

    /// Follows the topics and, as decider, decides, until the task is cancelled or the service
    /// group shuts down gracefully; then closes its clients.
    ///
    /// - Throws: ``KafkaError`` when a consumer cannot be created.
    public func run() async throws {
        try startConsumers()
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await tick()
                try? await Task.sleep(for: configuration.tickInterval)
            }
        } onGracefulShutdown: {}
        await close()
    }

    /// Closes the consumers (leaving their groups), writes what is still pending, and closes the
    /// producer. ``run()`` ends with it; call it for a coordinator that never ran (a worker stopped
    /// during its start-up), whose producer would otherwise stay connected until the process exits.
    /// Idempotent.
    public func close() async {
        let running = consumers.withLock { list in defer { list = [] }; return list }
        for consumer in running { await consumer.close() }
        await tick()
        _ = await producer.close(flushTimeout: .seconds(5))
    }

    /// Whether ``close()`` has completed (the producer is closed).
    public var isClosed: Bool { producer.isClosed }

    /// One pass: as decider, decide what is due and write every pending record.
    func tick() async {
        let at = now()
        let (writes, decisions) = state.withLock { s -> ([RolloutRecord], [(model: String, decision: RolloutDecision)]) in
            guard s.isDecider else { s.pendingWrites = [:]; return ([], []) }
            var decisions: [(model: String, decision: RolloutDecision)] = []
            for model in s.deciders.keys.sorted() {
                for action in s.deciders[model]!.tick(now: at) {
                    switch action {
                    case .publish(let record, let decision):
                        s.pendingWrites[model] = record
                        s.decisionsWritten += 1
                        decisions.append((model, decision))
                    case .republish(let record):
                        s.pendingWrites[model] = record
                    }
                }
            }
            defer { s.pendingWrites = [:] }
            return (s.pendingWrites.keys.sorted().map { s.pendingWrites[$0]! }, decisions)
        }
        for (model, decision) in decisions {
            metrics?.recordDecision(decision, model: model)
            logger.info("roll-out decision", metadata: [
                "model.name": "\(model)", "rollout.action": "\(decision.action.rawValue)", "rollout.window": "\(decision.window?.index ?? -1)",
                "rollout.reason": "\(decision.reason)",
            ])
        }
        for record in writes {
            do {
                _ = try await producer.sendAndWait(KafkaProducerMessage(
                    topic: configuration.rolloutTopic, key: Array(record.modelName.utf8), value: Array(try record.jsonData())
                ))
            } catch {
                logger.warning("roll-out record not written; retrying at the next tick", metadata: ["model.name": "\(record.modelName)", "error": "\(error)"])
                state.withLock { s in
                    // A newer record of the model queued meanwhile wins.
                    if s.pendingWrites[record.modelName] == nil { s.pendingWrites[record.modelName] = record }
                }
            }
        }
    }

    private func consumerConfiguration(group: String, topic: String) -> KafkaConsumerConfiguration {
        var c = KafkaConsumerConfiguration(bootstrapServers: configuration.bootstrapServers, groupID: group, topics: [topic])
        c.clientID = "\(configuration.workerID)-rollouts"
        c.autoOffsetReset = .earliest
        // Eager `range`, not the default cooperative-sticky: librdkafka before 2.3.0 (Debian
        // bookworm ships 2.0.2) aborts in rd_kafka_sticky_assignor_state_destroy when a
        // cooperative-sticky member is closed before its first assignment (librdkafka #4312, fixed
        // by #4381) - which is the normal life of every decider-group member that is not the
        // decider. These groups own one partition or are alone in their group, so eager
        // rebalancing costs nothing. Can go once the oldest supported librdkafka is 2.3.0.
        c.assignmentStrategy = .range
        // Nothing is committed: every start reads the (small) topics from the beginning.
        c.autoCommitInterval = nil
        c.sessionTimeout = configuration.sessionTimeout
        c.heartbeatInterval = min(.seconds(3), configuration.sessionTimeout / 3)
        c.additionalProperties = configuration.additionalProperties
        return c
    }

    private func startConsumers() throws(KafkaError) {
        // A group per process: a restarted replica must not wait for its old session to expire.
        let unique = UUID().uuidString.prefix(8).lowercased()
        let follower = try KafkaConsumer(
            configuration: consumerConfiguration(group: "\(configuration.groupID).rollout-follower.\(configuration.workerID).\(unique)", topic: configuration.rolloutTopic),
            logger: logger
        ) { [weak self] event in
            guard let self, case .messages(let batch) = event else { return }
            for message in batch { self.recordArrived(key: message.key, value: message.value) }
        }
        let rolloutTopic = configuration.rolloutTopic
        let membership = try KafkaConsumer(
            configuration: consumerConfiguration(group: configuration.deciderGroupID, topic: rolloutTopic), logger: logger
        ) { [weak self] event in
            guard let self else { return }
            let zero = KafkaTopicPartition(topic: rolloutTopic, partition: KafkaPartition(0))
            switch event {
            case .assigned(let partitions) where partitions.contains(zero):
                self.state.withLock { $0.isDecider = true }
                self.metrics?.setDecider(true)
                self.logger.info("this replica decides roll-outs", metadata: ["worker.id": "\(self.configuration.workerID)"])
            case .revoking(let partitions) where partitions.contains(zero), .lost(let partitions) where partitions.contains(zero):
                self.state.withLock { $0.isDecider = false }
                self.metrics?.setDecider(false)
            default:
                break
            }
        }
        let evidence = try KafkaConsumer(
            configuration: consumerConfiguration(group: "\(configuration.groupID).rollout-evidence.\(configuration.workerID).\(unique)", topic: configuration.evidenceTopic),
            logger: logger
        ) { [weak self] event in
            guard let self, case .messages(let batch) = event else { return }
            for message in batch { self.evidenceArrived(value: message.value) }
        }
        consumers.withLock { $0 = [follower, membership, evidence] }
    }

    /// On the follower's thread.
    func recordArrived(key: [UInt8]?, value: [UInt8]?) {
        guard let key else { return }
        let model = String(decoding: key, as: UTF8.self)
        guard let value else {
            // A tombstone: the model has no roll-out any more.
            state.withLock { $0.deciders[model] = nil }
            metrics?.follow(nil, model: model)
            return
        }
        let record: RolloutRecord
        do {
            record = try RolloutRecord.decode(Data(value))
            guard record.modelName == model else { throw RolloutError(.invalidField, field: "model_name", "differs from the key \(model)") }
        } catch {
            state.withLock { $0.unreadableRecords += 1 }
            logger.warning("unreadable roll-out record ignored", metadata: ["model.name": "\(model)", "error": "\(error)"])
            return
        }
        let followed = state.withLock { s -> RolloutRecord in
            guard var decider = s.deciders[model] else {
                var decider = RolloutDecider(record: record, deciderID: configuration.workerID)
                for report in s.orphanReports.removeValue(forKey: model) ?? [] { decider.evidenceArrived(report) }
                s.deciders[model] = decider
                return decider.record
            }
            if case .republish(let final)? = decider.recordArrived(record), s.isDecider {
                s.pendingWrites[model] = final
            }
            s.deciders[model] = decider
            return decider.record
        }
        metrics?.follow(followed, model: model)
    }

    /// On the evidence consumer's thread.
    func evidenceArrived(value: [UInt8]?) {
        guard let value else { return }
        let report: RolloutEvidence
        do {
            report = try RolloutEvidence.decode(Data(value))
        } catch {
            state.withLock { $0.unreadableReports += 1 }
            logger.debug("unreadable roll-out evidence ignored", metadata: ["error": "\(error)"])
            return
        }
        state.withLock { s in
            if s.deciders[report.modelName] != nil {
                s.deciders[report.modelName]!.evidenceArrived(report)
            } else if s.orphanReports[report.modelName, default: []].count < Self.maxOrphanReports {
                s.orphanReports[report.modelName, default: []].append(report)
            }
        }
    }
}
