import CKafkaShim
public import Logging

/// A Kafka API request type, for fault injection.
public struct KafkaAPI: Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int16
    public init(_ rawValue: Int16) { self.rawValue = rawValue }
    public static let produce = KafkaAPI(0)
    public static let fetch = KafkaAPI(1)
    public static let listOffsets = KafkaAPI(2)
    public static let metadata = KafkaAPI(3)
    public static let offsetCommit = KafkaAPI(8)
    public static let offsetFetch = KafkaAPI(9)
    public static let findCoordinator = KafkaAPI(10)
    public static let joinGroup = KafkaAPI(11)
    public static let heartbeat = KafkaAPI(12)
    public static let syncGroup = KafkaAPI(14)
    public static let initProducerID = KafkaAPI(22)
    public var description: String { "api \(rawValue)" }
}

/// A Kafka-protocol cluster inside this process (librdkafka's mock cluster), on loopback.
///
/// Any Kafka client, in this process or another, can connect to ``bootstrapServers``. Good for
/// demos and tests; not for benchmarks (its speed varies several-fold between librdkafka versions)
/// and not for volume: each partition keeps at most about 5 MiB and silently drops older records.
/// Brokers are numbered 1 through ``brokerCount``. Transactions are only partly supported.
public final class EmbeddedKafkaBroker: KafkaTopicAdministrator {
    /// Hosts the cluster; the cluster lives and dies with it.
    private let host: RDKafkaClient
    /// `rd_kafka_mock_cluster_t *`, owned by `host`; valid while `host` is.
    private nonisolated(unsafe) let cluster: OpaquePointer
    /// `host:port,...` of every broker.
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokerCount: Int = 1, logger: Logger = Logger(label: "embedded-kafka")) throws(KafkaError) {
        guard (1...16).contains(brokerCount) else {
            throw KafkaError(code: .invalidConfiguration, message: "brokerCount must be 1...16 (got \(brokerCount))")
        }
        host = try RDKafkaClient(kind: .producer, properties: [("test.mock.num.brokers", String(brokerCount))], handlers: .init(), logger: logger)
        guard let cluster = rd_kafka_handle_mock_cluster(host.handle) else {
            throw KafkaError(code: .clientCreation, message: "librdkafka did not create a mock cluster")
        }
        self.cluster = cluster
        self.brokerCount = brokerCount
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        logger.info("embedded broker started", metadata: ["kafka.bootstrap": "\(bootstrapServers)", "kafka.brokers": "\(brokerCount)"])
    }

    /// Creates a topic (the mock cluster has no CreateTopics API). Creating an existing topic fails.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        guard partitions > 0, (1...brokerCount).contains(replicationFactor) else {
            throw KafkaError(code: .invalidConfiguration, message: "topic \(name): partitions must be positive and replication factor within 1...\(brokerCount)")
        }
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdkafka: err, context: "creating topic \(name)") }
    }

    /// Topics created here, by name (the mock cluster cannot list them).
    private let created = Synchronized<Set<String>>([])

    @discardableResult
    public func ensureTopics(_ topics: [KafkaTopicSpecification]) throws(KafkaError) -> [String] {
        var made: [String] = []
        for spec in topics where !created.withLock({ $0.contains(spec.name) }) {
            try createTopic(spec.name, partitions: spec.partitions, replicationFactor: min(spec.replicationFactor, brokerCount))
            created.withLock { _ = $0.insert(spec.name) }
            made.append(spec.name)
        }
        return made
    }

    /// Takes broker `id` down: its connections close and it refuses new ones until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_down(cluster, id), "taking broker \(id) down")
    }

    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_up(cluster, id), "bringing broker \(id) up")
    }

    /// Moves the leadership of one partition to broker `id` (so that faults injected on that
    /// broker hit that partition only).
    public func setPartitionLeader(topic: String, partition: KafkaPartition, broker id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_partition_set_leader(cluster, topic, partition.rawValue, id), "moving \(topic)[\(partition)] to broker \(id)")
    }

    /// Makes broker `id` the coordinator of consumer group `group` (so that taking that broker down
    /// cuts the group's members off from their coordinator, and nothing else).
    public func setGroupCoordinator(_ group: String, broker id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_coordinator_set(cluster, "group", group, id), "making broker \(id) the coordinator of group \(group)")
    }

    /// Delays every response of broker `id` by `rtt`.
    public func setRoundTripTime(_ rtt: Duration, broker id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_rtt(cluster, id, Int32(clamping: rtt.milliseconds)), "setting rtt of broker \(id)")
    }

    /// Makes the next `errors.count` requests of type `api` (to any broker) fail with these codes, in order.
    ///
    /// The request is answered with the error instead of being served (a failed produce appends
    /// nothing). Producer faults, as librdkafka 2.0.2-2.16 handles them on an idempotent producer
    /// (`ProducerFatalErrorTests`): `.outOfOrderSequenceNumber` on `.produce` for the first request
    /// in flight raises a fatal error (the instance is unusable); `.producerFenced` fails the
    /// request's records and ``KafkaProducer`` reports the instance fatal; `.invalidProducerEpoch`
    /// fails the records (not written) and librdkafka bumps the epoch and goes on.
    public func injectRequestErrors(_ errors: [KafkaError.Code], api: KafkaAPI) {
        let raw = errors.map { rd_kafka_resp_err_t(rawValue: $0.librdkafkaCode ?? -1) }
        raw.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, api.rawValue, buffer.count, buffer.baseAddress)
        }
    }

    /// Makes the next `count` requests of type `api` fail with `code`.
    public func injectRequestErrors(_ code: KafkaError.Code, count: Int, api: KafkaAPI) {
        shim_mock_push_request_errors(cluster, api.rawValue, count, rd_kafka_resp_err_t(rawValue: code.librdkafkaCode ?? -1))
    }

    /// Makes the next request of type `api` to broker `id` fail with `code` after `rtt`.
    public func injectBrokerRequestError(_ code: KafkaError.Code, rtt: Duration = .zero, api: KafkaAPI, broker id: Int32) throws(KafkaError) {
        try check(shim_mock_broker_push_request_error_rtt(cluster, id, api.rawValue, rd_kafka_resp_err_t(rawValue: code.librdkafkaCode ?? -1), Int32(clamping: rtt.milliseconds)), "injecting an error on broker \(id)")
    }

    /// Forgets injected request errors of type `api` not yet used.
    public func clearRequestErrors(api: KafkaAPI) {
        rd_kafka_mock_clear_request_errors(cluster, api.rawValue)
    }

    /// Makes every request on `topic` fail with `code` (or succeed again with nil).
    public func setTopicError(_ topic: String, _ code: KafkaError.Code?) {
        rd_kafka_mock_topic_set_error(cluster, topic, rd_kafka_resp_err_t(rawValue: code?.librdkafkaCode ?? 0))
    }

    private func check(_ err: rd_kafka_resp_err_t, _ what: String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdkafka: err, context: what) }
    }
}
