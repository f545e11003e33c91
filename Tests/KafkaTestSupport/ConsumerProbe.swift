public import Kafka
public import Logging
import Synchronization

/// A record as a test sees it, copied out of the batch.
public struct ReceivedRecord: Hashable, Sendable {
    public var topic: String
    public var partition: KafkaPartition
    public var offset: KafkaOffset
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    public var timestamp: KafkaTimestamp?

    public init(_ message: KafkaConsumerMessage) {
        topic = message.topic
        partition = message.partition
        offset = message.offset
        key = message.key
        value = message.value
        headers = message.headers
        timestamp = message.timestamp
    }

    public var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// What a consumer reported so far.
public struct ProbeSnapshot: Sendable {
    public var records: [ReceivedRecord] = []
    public var assignment: Set<KafkaTopicPartition> = []
    /// For each revoke: the partitions, and the consumer's assignment as seen inside the hook.
    public var revokes: [(partitions: [KafkaTopicPartition], assignmentDuringHook: [KafkaTopicPartition])] = []
    public var lost: [[KafkaTopicPartition]] = []
    public var statistics: [KafkaStatistics] = []
    public var errors: [KafkaError] = []
}

/// Collects a consumer's events and lets a test wait, without sleeping, until they satisfy a condition.
public final class ConsumerProbe: Sendable {
    private struct Waiter {
        var id: Int
        var condition: @Sendable (ProbeSnapshot) -> Bool
        var continuation: CheckedContinuation<ProbeSnapshot?, Never>
    }
    private struct State {
        var snapshot = ProbeSnapshot()
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state = Mutex(State())
    private let consumerBox = Mutex<KafkaConsumer?>(nil)
    /// Runs inside the revoke hook, before the partitions are released (e.g. to store and commit).
    private let revokeAction: (@Sendable (KafkaConsumer, [KafkaTopicPartition]) -> Void)?

    public init(onRevoking revokeAction: (@Sendable (KafkaConsumer, [KafkaTopicPartition]) -> Void)? = nil) {
        self.revokeAction = revokeAction
    }

    /// Creates a consumer whose events feed this probe.
    public func makeConsumer(_ configuration: KafkaConsumerConfiguration) throws -> KafkaConsumer {
        let consumer = try KafkaConsumer(configuration: configuration, logger: .quiet) { [self] event in handle(event) }
        consumerBox.withLock { $0 = consumer }
        return consumer
    }

    private func handle(_ event: KafkaConsumerEvent) {
        let consumer = consumerBox.withLock { $0 }
        var revokeRecord: ([KafkaTopicPartition], [KafkaTopicPartition])?
        if case .revoking(let partitions) = event, let consumer {
            revokeRecord = (partitions, (try? consumer.assignment()) ?? [])
            revokeAction?(consumer, partitions)
        }
        update { snapshot in
            switch event {
            case .messages(let batch): snapshot.records.append(contentsOf: batch.map(ReceivedRecord.init))
            case .assigned(let partitions): snapshot.assignment.formUnion(partitions)
            case .revoking(let partitions):
                snapshot.assignment.subtract(partitions)
                if let revokeRecord { snapshot.revokes.append((revokeRecord.0, revokeRecord.1)) }
            case .lost(let partitions):
                snapshot.assignment.subtract(partitions)
                snapshot.lost.append(partitions)
            case .statistics(let statistics): snapshot.statistics.append(statistics)
            case .error(let error): snapshot.errors.append(error)
            }
        }
    }

    private func update(_ body: (inout ProbeSnapshot) -> Void) {
        let ready = state.withLock { state -> [(CheckedContinuation<ProbeSnapshot?, Never>, ProbeSnapshot)] in
            body(&state.snapshot)
            let snapshot = state.snapshot
            var ready: [(CheckedContinuation<ProbeSnapshot?, Never>, ProbeSnapshot)] = []
            state.waiters.removeAll { waiter in
                guard waiter.condition(snapshot) else { return false }
                ready.append((waiter.continuation, snapshot))
                return true
            }
            return ready
        }
        for (continuation, snapshot) in ready { continuation.resume(returning: snapshot) }
    }

    public var snapshot: ProbeSnapshot { state.withLock { $0.snapshot } }

    /// Waits until `condition` holds for the events so far; nil if it did not within `timeout`.
    public func wait(timeout: Duration = .seconds(30), until condition: @escaping @Sendable (ProbeSnapshot) -> Bool) async -> ProbeSnapshot? {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let satisfied = state.withLock { state -> ProbeSnapshot? in
                if condition(state.snapshot) { return state.snapshot }
                state.waiters.append(Waiter(id: id, condition: condition, continuation: continuation))
                return nil
            }
            if let satisfied { continuation.resume(returning: satisfied) }
        }
    }
}

extension Logger {
    /// Errors only: tests stay readable (librdkafka logs refused connections as warnings here).
    public static var quiet: Logger {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .error
        return logger
    }
}

/// A unique name per test, so that tests sharing nothing can run in parallel.
public func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
}

extension KafkaConsumerConfiguration {
    /// A consumer of `topics` on `broker`, tuned for quick group operations on the embedded broker.
    public static func test(_ broker: EmbeddedKafkaBroker, group: String, topics: [String]) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: group, topics: topics)
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.autoCommitInterval = nil
        return configuration
    }
}

extension KafkaProducer {
    public static func test(_ broker: EmbeddedKafkaBroker, deliveryHandler: @escaping @Sendable (KafkaDeliveryReport) -> Void = { _ in }) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
        configuration.linger = .milliseconds(1)
        return try KafkaProducer(configuration: configuration, logger: .quiet, deliveryHandler: deliveryHandler)
    }
}

extension Array where Element == UInt8 {
    public init(_ string: String) { self = Array(string.utf8) }
}
