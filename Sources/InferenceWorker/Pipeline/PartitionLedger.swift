import Foundation
import InferenceCore
import Kafka
import Synchronization

/// The pipeline's shared record of what is in flight, per partition, across its three threads
/// (the consumer's poll thread dispatches, the inference thread checks, the producer's delivery
/// thread acknowledges).
///
/// Each assignment of a partition gets a new *epoch*; a record carries the epoch it was read in,
/// so that work finishing after its partition was revoked or lost (and perhaps assigned back)
/// can never acknowledge an offset of the new assignment.
///
/// A record also carries its partition's ``OffsetTracker/Slot`` (in a ``Ticket``), fixed when the
/// partition is assigned, so that checking and acknowledging it are array accesses rather than
/// dictionary lookups hashing the topic. A slot is reused after its partition is released; the
/// epoch (unique over all assignments) tells a stale ticket from a current one.
///
/// `@unchecked Sendable`: every stored property is guarded by `condition`'s lock, except
/// `assignmentVersion`, an atomic.
final class PartitionLedger: @unchecked Sendable {
    /// Where a dispatched record's partition is tracked and in which assignment it was read.
    struct Ticket: Sendable, Hashable {
        var slot: OffsetTracker.Slot
        var epoch: UInt64
    }

    /// What ``isCurrent(_:cache:)`` last learned, kept by its caller (the inference thread).
    struct CurrentTicketCache {
        fileprivate var version: UInt64 = .max
        fileprivate var ticket: Ticket?
        fileprivate var current = false
    }

    private let condition = NSCondition()
    /// Bumped under the lock by every assignment and release, after the epochs change: while it is
    /// unchanged, whether a ticket is current cannot change.
    private let assignmentVersion = Atomic<UInt64>(0)
    private var tracker = OffsetTracker()
    /// Assigned partitions and their slots.
    private var assignedSlots: [TopicPartition: OffsetTracker.Slot] = [:]
    /// The current epoch by slot index; 0 for a slot with no assignment (epochs start at 1).
    private var epochs: [UInt64] = []
    private var nextEpoch: UInt64 = 1
    private var flow: FlowControl
    /// Slots whose committable offset moved since the last ``takeOffsetsToStore()``: a flag per
    /// slot index, and the flagged indices in the order they were flagged.
    private var advancedFlags: [Bool] = []
    private var advanced: [Int] = []
    /// Threads in ``waitUntilDrained(_:deadline:)``: acknowledgements wake them only if there are any.
    private var drainWaiters = 0
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
                let key = TopicPartition(partition)
                let slot = tracker.slot(for: key)
                assignedSlots[key] = slot
                while epochs.count <= slot.index {
                    epochs.append(0)
                    advancedFlags.append(false)
                }
                epochs[slot.index] = nextEpoch
                nextEpoch += 1
            }
            assignmentVersion.add(1, ordering: .releasing)
            if flow.isPaused { applyFlow(.pause, partitions) }
        }
    }

    /// Records that these records are now in flight; returns each record's ticket (nil for a
    /// partition that is not assigned: the record is ignored).
    func dispatch(_ records: KafkaMessageBatch) -> [Ticket?] {
        dispatch(records.lazy.map { (topic: $0.topic, partition: $0.partition.rawValue, offset: $0.offset.rawValue, bytes: $0.valueLength) })
    }

    /// ``dispatch(_:)`` for records given as topic, partition, offset and value size (what tests
    /// can build without librdkafka).
    func dispatch<Records: Sequence>(_ records: Records) -> [Ticket?] where Records.Element == (topic: String, partition: Int32, offset: Int64, bytes: Int) {
        locked {
            var result: [Ticket?] = []
            result.reserveCapacity(records.underestimatedCount)
            // A batch usually holds one partition: look it up once per run of records.
            var current: (topic: String, partition: Int32, ticket: Ticket?)?
            for (topic, number, offset, bytes) in records {
                let ticket: Ticket?
                if let current, current.partition == number, current.topic == topic {
                    ticket = current.ticket
                } else {
                    ticket = assignedSlots[TopicPartition(topic: topic, partition: number)].map { Ticket(slot: $0, epoch: epochs[$0.index]) }
                    current = (topic, number, ticket)
                }
                guard let ticket else {
                    result.append(nil)
                    continue
                }
                do {
                    try tracker.dispatch(RecordOffset(offset), at: ticket.slot, bytes: bytes)
                    result.append(ticket)
                } catch {
                    // A redelivery below the tracked window (after a seek) is not dispatched twice.
                    result.append(nil)
                }
            }
            updateFlow()
            return result
        }
    }

    /// Whether work read under `ticket` still belongs to this worker.
    func isCurrent(_ ticket: Ticket) -> Bool {
        locked { isCurrentLocked(ticket) }
    }

    /// ``isCurrent(_:)`` without the lock while no assignment changed since `cache` learned the
    /// answer for this ticket (records arrive in runs of one partition): the inference thread
    /// checks every record, and took the ledger's lock for it, contending with acknowledgements.
    func isCurrent(_ ticket: Ticket, cache: inout CurrentTicketCache) -> Bool {
        let version = assignmentVersion.load(ordering: .acquiring)
        if version == cache.version, cache.ticket == ticket { return cache.current }
        let current = isCurrent(ticket)
        cache = CurrentTicketCache(version: version, ticket: ticket, current: current)
        return current
    }

    private func isCurrentLocked(_ ticket: Ticket) -> Bool {
        ticket.slot.index < epochs.count && epochs[ticket.slot.index] == ticket.epoch
    }

    /// Marks a record's outcome as safely written. Stale tickets are ignored.
    func acknowledge(_ ticket: Ticket, offset: RecordOffset) {
        locked {
            guard isCurrentLocked(ticket) else { return }
            let before = tracker.committableOffset(at: ticket.slot)
            try? tracker.acknowledge(offset, at: ticket.slot)
            if tracker.committableOffset(at: ticket.slot) != before, !advancedFlags[ticket.slot.index] {
                advancedFlags[ticket.slot.index] = true
                advanced.append(ticket.slot.index)
            }
            updateFlow()
            if drainWaiters > 0 { condition.broadcast() }
        }
    }

    /// Committable offsets that moved since the last call, for `KafkaConsumer.storeOffsets`.
    func takeOffsetsToStore() -> [KafkaTopicPartition: KafkaOffset] {
        locked {
            var result: [KafkaTopicPartition: KafkaOffset] = [:]
            for index in advanced where advancedFlags[index] {
                advancedFlags[index] = false
                let slot = OffsetTracker.Slot(index: index)
                if let partition = tracker.partition(at: slot), let offset = tracker.committableOffset(at: slot) {
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
        drainWaiters += 1
        defer { drainWaiters -= 1 }
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
                if let slot = assignedSlots.removeValue(forKey: key) {
                    epochs[slot.index] = 0
                    advancedFlags[slot.index] = false
                }
                if let offset = tracker.revoke(key) { result[partition] = KafkaOffset(offset.rawValue) }
            }
            assignmentVersion.add(1, ordering: .releasing)
            updateFlow()
            condition.broadcast()
            return result
        }
    }

    var inFlight: (records: Int, bytes: Int) { locked { (tracker.totalInFlight, tracker.totalInFlightBytes) } }
    var isPaused: Bool { locked { flow.isPaused } }
    var assigned: [KafkaTopicPartition] { locked { assignedSlots.keys.map(KafkaTopicPartition.init).sorted() } }

    private func updateFlow() {
        let action = flow.update(records: tracker.totalInFlight, bytes: tracker.totalInFlightBytes)
        if action != .none { applyFlow(action, assignedSlots.keys.map(KafkaTopicPartition.init)) }
    }
}

extension TopicPartition {
    init(_ partition: KafkaTopicPartition) { self.init(topic: partition.topic, partition: partition.partition.rawValue) }
}

extension KafkaTopicPartition {
    init(_ partition: TopicPartition) { self.init(topic: partition.topic, partition: KafkaPartition(partition.partition)) }
}
