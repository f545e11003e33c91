import Foundation
import InferenceCore
import Kafka
import Synchronization

/// The pipeline's shared record of what is in flight, per partition, across its threads
/// (the consumer's poll thread dispatches, assigns and releases; the scoring thread checks, and
/// acknowledges label records; the producer's delivery thread acknowledges outputs).
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
/// The bookkeeping is a value-type state machine (``State``) behind `condition`'s lock; each call
/// takes the lock once and works on the state in place (no copies of the tracker, one exclusivity
/// check per call rather than one per property access).
///
/// `@unchecked Sendable`: `state` is only accessed with `condition`'s lock held; the other stored
/// properties are immutable or atomic.
final class PartitionLedger: @unchecked Sendable {
    /// Where a dispatched record's partition is tracked and in which assignment it was read.
    struct Ticket: Sendable, Hashable {
        var slot: OffsetTracker.Slot
        var epoch: UInt64
    }

    /// What ``isCurrent(_:cache:)`` last learned, kept by its caller (the scoring thread).
    struct CurrentTicketCache {
        fileprivate var version: UInt64 = .max
        fileprivate var ticket: Ticket?
        fileprivate var current = false
    }

    /// A flow decision for the caller to apply once the ledger's lock is released: hold back or
    /// hand over every partition assigned when it was decided. Each carries the whole desired
    /// state and a sequence number, so applying them out of order is harmless: ``FlowGate``
    /// applies only a decision newer than the last one it applied.
    struct FlowDecision: Sendable, Hashable {
        var action: FlowControl.Action
        var partitions: [KafkaTopicPartition]
        var sequence: UInt64
    }

    private struct State {
        var tracker = OffsetTracker()
        /// Assigned partitions and their slots.
        var assignedSlots: [KafkaTopicPartition: OffsetTracker.Slot] = [:]
        /// The current epoch by slot index; 0 for a slot with no assignment (epochs start at 1).
        var epochs: [UInt64] = []
        var nextEpoch: UInt64 = 1
        var flow: FlowControl
        /// Slots whose committable offset moved since the last ``takeOffsetsToStore()``: a flag
        /// per slot index, and the flagged indices in the order they were flagged.
        var advancedFlags: [Bool] = []
        var advanced: [Int] = []
        /// Threads in ``waitUntilDrained(_:deadline:)``: acknowledgements wake them only if there are any.
        var drainWaiters = 0
        /// The sequence number of the last flow decision handed out.
        var flowSequence: UInt64 = 0

        init(flow: FlowControl) { self.flow = flow }

        mutating func assign(_ partitions: [KafkaTopicPartition]) {
            for partition in partitions {
                let key = partition
                let slot = tracker.slot(for: key)
                assignedSlots[key] = slot
                while epochs.count <= slot.index {
                    epochs.append(0)
                    advancedFlags.append(false)
                }
                epochs[slot.index] = nextEpoch
                nextEpoch += 1
            }
        }

        mutating func dispatch<Records: Sequence>(_ records: Records) -> [Ticket?] where Records.Element == (topic: String, partition: Int32, offset: Int64, bytes: Int) {
            var result: [Ticket?] = []
            result.reserveCapacity(records.underestimatedCount)
            // A batch usually holds one partition: look it up once per run of records.
            var current: (topic: String, partition: Int32, ticket: Ticket?)?
            for (topic, number, offset, bytes) in records {
                let ticket: Ticket?
                if let current, current.partition == number, current.topic == topic {
                    ticket = current.ticket
                } else {
                    ticket = assignedSlots[KafkaTopicPartition(topic: topic, partition: KafkaPartition(number))].map { Ticket(slot: $0, epoch: epochs[$0.index]) }
                    current = (topic, number, ticket)
                }
                guard let ticket else {
                    result.append(nil)
                    continue
                }
                do {
                    try tracker.dispatch(KafkaOffset(offset), at: ticket.slot, bytes: bytes)
                    result.append(ticket)
                } catch {
                    // A redelivery below the tracked window (after a seek) is not dispatched twice.
                    result.append(nil)
                }
            }
            return result
        }

        func isCurrent(_ ticket: Ticket) -> Bool {
            ticket.slot.index < epochs.count && epochs[ticket.slot.index] == ticket.epoch
        }

        mutating func acknowledge(_ ticket: Ticket, offset: KafkaOffset) {
            guard isCurrent(ticket) else { return }
            let before = tracker.committableOffset(at: ticket.slot)
            try? tracker.acknowledge(offset, at: ticket.slot)
            if tracker.committableOffset(at: ticket.slot) != before, !advancedFlags[ticket.slot.index] {
                advancedFlags[ticket.slot.index] = true
                advanced.append(ticket.slot.index)
            }
        }

        mutating func takeOffsetsToStore() -> [KafkaTopicPartition: KafkaOffset] {
            var result: [KafkaTopicPartition: KafkaOffset] = [:]
            for index in advanced where advancedFlags[index] {
                advancedFlags[index] = false
                let slot = OffsetTracker.Slot(index: index)
                if let partition = tracker.partition(at: slot), let offset = tracker.committableOffset(at: slot) {
                    result[partition] = offset
                }
            }
            advanced.removeAll(keepingCapacity: true)
            return result
        }

        func inFlight(_ partitions: [KafkaTopicPartition]) -> Int {
            partitions.reduce(0) { $0 + tracker.inFlight(for: $1) }
        }

        mutating func release(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
            var result: [KafkaTopicPartition: KafkaOffset] = [:]
            for partition in partitions {
                let key = partition
                if let slot = assignedSlots.removeValue(forKey: key) {
                    epochs[slot.index] = 0
                    advancedFlags[slot.index] = false
                }
                if let offset = tracker.revoke(key) { result[partition] = offset }
            }
            return result
        }

        /// Called whenever the in-flight totals may have changed.
        mutating func updateFlow() -> FlowDecision? {
            let action = flow.update(records: tracker.totalInFlight, bytes: tracker.totalInFlightBytes)
            return action == .none ? nil : decision(action)
        }

        mutating func decision(_ action: FlowControl.Action) -> FlowDecision {
            flowSequence += 1
            return FlowDecision(action: action, partitions: Array(assignedSlots.keys), sequence: flowSequence)
        }
    }

    private let condition = NSCondition()
    private var state: State
    /// Bumped under the lock by every assignment and release, after the epochs change: while it is
    /// unchanged, whether a ticket is current cannot change.
    private let assignmentVersion = Atomic<UInt64>(0)

    init(flow: FlowControl) {
        state = State(flow: flow)
    }

    private func locked<R>(_ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }

    /// Starts a new epoch for each partition.
    ///
    /// - Returns: a pause of every assigned partition when back-pressure holds them back now
    ///   (partitions assigned while paused are paused too).
    func assign(_ partitions: [KafkaTopicPartition]) -> FlowDecision? {
        locked { state in
            state.assign(partitions)
            assignmentVersion.add(1, ordering: .releasing)
            return state.flow.isPaused ? state.decision(.pause) : nil
        }
    }

    /// Records that these records are now in flight.
    ///
    /// - Returns: each record's ticket (nil for a partition that is not assigned: the record is
    ///   ignored), and the flow decision to apply, if the in-flight totals crossed a watermark.
    func dispatch(_ records: KafkaMessageBatch) -> (tickets: [Ticket?], flow: FlowDecision?) {
        dispatch(records.lazy.map { (topic: $0.topic, partition: $0.partition.rawValue, offset: $0.offset.rawValue, bytes: $0.valueLength) })
    }

    /// ``dispatch(_:)`` for records given as topic, partition, offset and value size (what tests
    /// can build without librdkafka).
    func dispatch<Records: Sequence>(_ records: Records) -> (tickets: [Ticket?], flow: FlowDecision?) where Records.Element == (topic: String, partition: Int32, offset: Int64, bytes: Int) {
        locked { state in
            let tickets = state.dispatch(records)
            return (tickets, state.updateFlow())
        }
    }

    /// Whether work read under `ticket` still belongs to this worker.
    func isCurrent(_ ticket: Ticket) -> Bool {
        locked { $0.isCurrent(ticket) }
    }

    /// ``isCurrent(_:)`` without the lock while no assignment changed since `cache` learned the
    /// answer for this ticket (records arrive in runs of one partition): the scoring thread
    /// checks every record, and took the ledger's lock for it, contending with acknowledgements.
    func isCurrent(_ ticket: Ticket, cache: inout CurrentTicketCache) -> Bool {
        let version = assignmentVersion.load(ordering: .acquiring)
        if version == cache.version, cache.ticket == ticket { return cache.current }
        let current = isCurrent(ticket)
        cache = CurrentTicketCache(version: version, ticket: ticket, current: current)
        return current
    }

    /// Marks a record's outcome as safely written. Stale tickets are ignored.
    ///
    /// - Returns: the flow decision to apply, if the in-flight totals crossed a watermark.
    func acknowledge(_ ticket: Ticket, offset: KafkaOffset) -> FlowDecision? {
        locked { state in
            state.acknowledge(ticket, offset: offset)
            if state.drainWaiters > 0 { condition.broadcast() }
            return state.updateFlow()
        }
    }

    /// Committable offsets that moved since the last call, for `KafkaConsumer.storeOffsets`.
    func takeOffsetsToStore() -> [KafkaTopicPartition: KafkaOffset] {
        locked { $0.takeOffsetsToStore() }
    }

    /// Waits until nothing is in flight for `partitions`, or until `deadline`. Returns the number
    /// of records still in flight then (0: drained).
    func waitUntilDrained(_ partitions: [KafkaTopicPartition], deadline: Date) -> Int {
        let keys = partitions
        condition.lock()
        defer { condition.unlock() }
        state.drainWaiters += 1
        defer { state.drainWaiters -= 1 }
        while true {
            let remaining = state.inFlight(keys)
            if remaining == 0 || !condition.wait(until: deadline) {
                return state.inFlight(keys)
            }
        }
    }

    /// Ends the partitions' epochs and forgets their state.
    ///
    /// - Returns: their final committable offsets (what is safe to commit for them), and the flow
    ///   decision to apply, if forgetting their records crossed a watermark.
    @discardableResult
    func release(_ partitions: [KafkaTopicPartition]) -> (offsets: [KafkaTopicPartition: KafkaOffset], flow: FlowDecision?) {
        locked { state in
            let result = state.release(partitions)
            assignmentVersion.add(1, ordering: .releasing)
            condition.broadcast()
            return (result, state.updateFlow())
        }
    }

    var inFlight: (records: Int, bytes: Int) { locked { ($0.tracker.totalInFlight, $0.tracker.totalInFlightBytes) } }
    var peakInFlightRecords: Int { locked { $0.tracker.peakInFlight } }
    var isPaused: Bool { locked { $0.flow.isPaused } }
    var assigned: [KafkaTopicPartition] { locked { $0.assignedSlots.keys.sorted() } }
}

/// Applies the ledger's flow decisions to the consumer, outside the ledger's lock.
///
/// Decisions are made on three threads (dispatch, assignments and releases on the consumer's poll
/// thread, the revoke hook included; acknowledgements of outputs on the producer's delivery thread;
/// acknowledgements of label records on the scoring thread) and may reach the gate out of order; each carries
/// the whole desired state and a sequence number, and the gate applies only one newer than the
/// last it applied, so a stale pause can never overtake the resume that followed it (which would
/// leave delivery suspended with nothing in flight to ever resume it).
final class FlowGate: Sendable {
    private let lastApplied = Mutex<UInt64>(0)
    private let counters: PipelineCounters

    init(counters: PipelineCounters) {
        self.counters = counters
    }

    /// Applies `decision` to `consumer` unless a newer decision was applied already.
    func apply(_ decision: PartitionLedger.FlowDecision?, to consumer: (any DeliveryControl)?) {
        guard let decision, let consumer else { return }
        lastApplied.withLock { last in
            guard decision.sequence > last else { return }
            last = decision.sequence
            // Suspending delivery rather than pausing the fetch keeps librdkafka's prefetched records
            // (bounded per partition), so resuming is immediate: a librdkafka pause/resume cycle left
            // the fetcher idle for about a second each time (docs/performance.md).
            switch decision.action {
            case .pause:
                counters.update { $0.pauses += 1 }
                consumer.suspendDelivery(of: decision.partitions)
            case .resume:
                consumer.resumeDelivery(of: decision.partitions)
            case .none:
                break
            }
        }
    }
}

/// What the ``FlowGate`` needs of a consumer: holding back and handing over partitions' records.
protocol DeliveryControl: Sendable {
    func suspendDelivery(of partitions: [KafkaTopicPartition])
    func resumeDelivery(of partitions: [KafkaTopicPartition])
}

extension KafkaConsumer: DeliveryControl {}
