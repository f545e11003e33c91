import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging
import Synchronization

/// The bench's baseline: consume, re-produce the same bytes, store each input's offset once its
/// copy is acknowledged. No decoding, no model, no batching: the same Kafka layer as the worker
/// (``KafkaConsumer``, ``KafkaProducer``, the same at-least-once bookkeeping), so its rate is the
/// ceiling any worker on this broker and machine can approach.
final class PassthroughRelay: Sendable {
    private struct State {
        var tracker = OffsetTracker()
        var topics: [String] = []
        var lastStore = ContinuousClock.now
        /// Create times (ms) of records in flight by producer context, when measuring latency.
        var createTimes: [UInt64: Int64] = [:]
    }
    private let state = Mutex(State())
    private let consumerBox = Mutex<KafkaConsumer?>(nil)
    private let producer: KafkaProducer
    private let outputTopic: String
    private let acknowledgedCount = Atomic<Int>(0)
    private let consumedCount = Atomic<Int>(0)
    private let firstRecord = Mutex<(ContinuousClock.Instant, ProcessUsage, MachineUsage)?>(nil)
    private let assignedCount = Atomic<Int>(0)
    /// End-to-end latency (input create time to its copy's acknowledgement), like the pipeline's
    /// `endToEndLatency`; nil unless asked for (the drain baseline does not pay for it).
    let latency: LatencyHistogram?

    init(bootstrap: [String], inputTopic: String, outputTopic: String, groupID: String, consumerProperties: [String: String], producerProperties: [String: String] = [:], logger: Logger, measureLatency: Bool = false) throws {
        self.outputTopic = outputTopic
        latency = measureLatency ? LatencyHistogram() : nil
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        producerConfiguration.clientID = "bench-passthrough"
        producerConfiguration.additionalProperties = producerProperties
        let relay = RelayBox()
        producer = try KafkaProducer(configuration: producerConfiguration, logger: logger) { report in
            relay.value.withLock { $0 }?.delivered(report)
        }
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: groupID, topics: [inputTopic])
        consumerConfiguration.clientID = "bench-passthrough"
        // The worker's own poll size for its default batch size (WorkerConfiguration.consumerConfiguration).
        consumerConfiguration.maxPollRecords = 256
        consumerConfiguration.additionalProperties = consumerProperties
        relay.value.withLock { $0 = self }
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger) { [self] event in
            handle(event)
        }
        consumerBox.withLock { $0 = consumer }
    }

    var acknowledged: Int { acknowledgedCount.load(ordering: .relaxed) }
    var assignedPartitions: Int { assignedCount.load(ordering: .relaxed) }
    var consumed: Int { consumedCount.load(ordering: .relaxed) }
    /// When the first record arrived, and the process's usage then.
    var start: (ContinuousClock.Instant, ProcessUsage, MachineUsage)? { firstRecord.withLock { $0 } }

    func close() async {
        await consumerBox.withLock { $0 }?.close()
        await producer.close(flushTimeout: .seconds(10))
    }

    /// Partition index in the top bits of the context, offset below (bit 63 is the producer's).
    private static func context(topic: Int, partition: Int32, offset: Int64) -> UInt64 {
        UInt64(topic) << 56 | UInt64(partition) << 40 | UInt64(offset)
    }

    private func handle(_ event: KafkaConsumerEvent) {
        switch event {
        case .assigned(let partitions): assignedCount.wrappingAdd(partitions.count, ordering: .relaxed)
        case .revoking(let partitions), .lost(let partitions): assignedCount.wrappingSubtract(partitions.count, ordering: .relaxed)
        default: break
        }
        guard case .messages(let batch) = event else { return }
        if consumedCount.load(ordering: .relaxed) == 0 {
            firstRecord.withLock { if $0 == nil { $0 = (.now, .now, .now) } }
        }
        let topicIndex = state.withLock { state -> Int in
            let topic = batch[0].topic
            if let index = state.topics.firstIndex(of: topic) { return index }
            state.topics.append(topic)
            return state.topics.count - 1
        }
        let measuring = latency != nil
        state.withLock { state in
            for message in batch {
                try? state.tracker.dispatch(message.offset, in: message.topicPartition)
                if measuring, let created = message.timestamp?.milliseconds {
                    state.createTimes[Self.context(topic: topicIndex, partition: message.partition.rawValue, offset: message.offset.rawValue)] = created
                }
            }
        }
        for message in batch {
            let context = Self.context(topic: topicIndex, partition: message.partition.rawValue, offset: message.offset.rawValue)
            message.withKey { key in
                message.withValue { value in
                    try? producer.send(topic: outputTopic, partition: nil, key: key, value: value, context: context, blockIfQueueFull: true)
                }
            }
        }
        consumedCount.wrappingAdd(batch.count, ordering: .relaxed)
    }

    private func delivered(_ report: KafkaDeliveryReport) {
        guard report.error == nil else { return }
        let topicIndex = Int(report.context >> 56)
        let partition = Int32((report.context >> 40) & 0xFFFF)
        let offset = Int64(report.context & 0xFF_FFFF_FFFF)
        let measuring = latency != nil
        let (toStore, created) = state.withLock { state -> ([KafkaTopicPartition: KafkaOffset], Int64?) in
            let created = measuring ? state.createTimes.removeValue(forKey: report.context) : nil
            let topic = state.topics[topicIndex]
            try? state.tracker.acknowledge(KafkaOffset(offset), in: KafkaTopicPartition(topic: topic, partition: KafkaPartition(partition)))
            let now = ContinuousClock.now
            guard state.lastStore.duration(to: now) >= .milliseconds(50) else { return ([:], created) }
            state.lastStore = now
            var offsets: [KafkaTopicPartition: KafkaOffset] = [:]
            for (p, o) in state.tracker.takeAdvancedOffsets() {
                offsets[p] = o
            }
            return (offsets, created)
        }
        if let created, let latency {
            latency.record(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000) - created * 1000)
        }
        acknowledgedCount.wrappingAdd(1, ordering: .relaxed)
        if !toStore.isEmpty { try? consumerBox.withLock { $0 }?.storeOffsets(toStore) }
    }
}

/// Lets the producer's delivery handler reach the relay that owns the producer.
private final class RelayBox: Sendable {
    let value = Mutex<PassthroughRelay?>(nil)
}
