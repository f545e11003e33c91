import Foundation
import InferenceCore
import Kafka

/// The pipeline's shared record of what is in flight, per partition, across its three threads
/// (the consumer's poll thread dispatches, the inference thread checks, the producer's delivery
/// thread acknowledges).
///
/// Each assignment of a partition gets a new *epoch*; a record carries the epoch it was read in,
/// so that work finishing after its partition was revoked or lost (and perhaps assigned back)
/// can never acknowledge an offset of the new assignment.
///
/// `@unchecked Sendable`: every stored property is guarded by `condition`'s lock.
final class PartitionLedger: @unchecked Sendable {
    private let condition = NSCondition()
    private var tracker = OffsetTracker()
    private var epochs: [TopicPartition: UInt64] = [:]
    private var nextEpoch: UInt64 = 1
    private var flow: FlowControl
    /// Partitions whose committable offset moved since the last ``takeOffsetsToStore()``.
    private var advanced: Set<TopicPartition> = []
    /// Applies a flow decision; runs under the lock so that a pause and a resume decided on two
    /// threads reach librdkafka in the order they were decided (a resume overtaken by an older
    /// pause would leave the consumer paused with nothing in flight to ever resume it).
    private let applyFlow: (FlowControl.Action, [KafkaTopicPartition]) -> Void

    init(flow: FlowControl, applyFlow: @escaping (FlowControl.Action, [KafkaTopicPartition]) -> Void) {
        self.flow = flow
        self.applyFlow = applyFlow
    }

    private func locked<R>(_ body: () throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    /// Starts a new epoch for each partition. Partitions assigned while paused are paused too.
    func assign(_ partitions: [KafkaTopicPartition]) {
        locked {
            for partition in partitions {
                epochs[TopicPartition(partition)] = nextEpoch
                nextEpoch += 1
            }
            if flow.isPaused { applyFlow(.pause, partitions) }
        }
    }

    /// Records that these records are now in flight; returns each record's epoch (nil for a
    /// partition that is not assigned: the record is ignored).
    func dispatch(_ records: KafkaMessageBatch) -> [UInt64?] {
        locked {
            var result: [UInt64?] = []
            result.reserveCapacity(records.count)
            for message in records {
                let partition = TopicPartition(topic: message.topic, partition: message.partition.rawValue)
                guard let epoch = epochs[partition] else {
                    result.append(nil)
                    continue
                }
                do {
                    try tracker.dispatch(RecordOffset(message.offset.rawValue), in: partition, bytes: message.valueLength)
                    result.append(epoch)
                } catch {
                    // A redelivery below the tracked window (after a seek) is not dispatched twice.
                    result.append(nil)
                }
            }
            updateFlow()
            return result
        }
    }

    /// Whether work read in `epoch` still belongs to this worker.
    func isCurrent(_ partition: TopicPartition, epoch: UInt64) -> Bool {
        locked { epochs[partition] == epoch }
    }

    /// Marks a record's outcome as safely written. Stale epochs are ignored.
    func acknowledge(_ partition: TopicPartition, offset: RecordOffset, epoch: UInt64) {
        locked {
            guard epochs[partition] == epoch else { return }
            let before = tracker.committableOffset(for: partition)
            try? tracker.acknowledge(offset, in: partition)
            if tracker.committableOffset(for: partition) != before { advanced.insert(partition) }
            updateFlow()
            condition.broadcast()
        }
    }

    /// Committable offsets that moved since the last call, for `KafkaConsumer.storeOffsets`.
    func takeOffsetsToStore() -> [KafkaTopicPartition: KafkaOffset] {
        locked {
            var result: [KafkaTopicPartition: KafkaOffset] = [:]
            for partition in advanced {
                if let offset = tracker.committableOffset(for: partition) {
                    result[KafkaTopicPartition(partition)] = KafkaOffset(offset.rawValue)
                }
            }
            advanced.removeAll(keepingCapacity: true)
            return result
        }
    }

    /// Waits until nothing is in flight for `partitions`, or until `deadline`. Returns the number
    /// of records still in flight then (0: drained).
    func waitUntilDrained(_ partitions: [KafkaTopicPartition], deadline: Date) -> Int {
        let keys = partitions.map(TopicPartition.init)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let remaining = keys.reduce(0) { $0 + tracker.inFlight(for: $1) }
            if remaining == 0 || !condition.wait(until: deadline) {
                return keys.reduce(0) { $0 + tracker.inFlight(for: $1) }
            }
        }
    }

    /// Ends the partitions' epochs and forgets their state; returns their final committable
    /// offsets (what is safe to commit for them).
    @discardableResult
    func release(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        locked {
            var result: [KafkaTopicPartition: KafkaOffset] = [:]
            for partition in partitions {
                let key = TopicPartition(partition)
                epochs[key] = nil
                advanced.remove(key)
                if let offset = tracker.revoke(key) { result[partition] = KafkaOffset(offset.rawValue) }
            }
            updateFlow()
            condition.broadcast()
            return result
        }
    }

    var inFlight: (records: Int, bytes: Int) { locked { (tracker.totalInFlight, tracker.totalInFlightBytes) } }
    var isPaused: Bool { locked { flow.isPaused } }
    var assigned: [KafkaTopicPartition] { locked { epochs.keys.map(KafkaTopicPartition.init).sorted() } }

    private func updateFlow() {
        let action = flow.update(records: tracker.totalInFlight, bytes: tracker.totalInFlightBytes)
        if action != .none { applyFlow(action, epochs.keys.map(KafkaTopicPartition.init)) }
    }
}

extension TopicPartition {
    init(_ partition: KafkaTopicPartition) { self.init(topic: partition.topic, partition: partition.partition.rawValue) }
}

extension KafkaTopicPartition {
    init(_ partition: TopicPartition) { self.init(topic: partition.topic, partition: KafkaPartition(partition.partition)) }
}
