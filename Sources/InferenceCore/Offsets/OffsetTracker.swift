/// Tracks, per partition, which dispatched records have their outcome acknowledged, and answers the
/// offset that is safe to commit.
///
/// At-least-once rule (the worker stores offsets itself, `enable.auto.offset.store=false`, and
/// librdkafka commits only what was stored): an input's offset may be stored only after its
/// prediction or dead letter is acknowledged by the broker. Records are dispatched in increasing offset order per
/// partition and acknowledged in any order; the committable offset of a partition is the lowest
/// offset still in flight, else the highest acknowledged offset + 1 (Kafka commits the *next* offset
/// to read). Gaps in offsets (compaction, transaction markers) are fine: committing the next
/// dispatched offset skips nothing that exists. A record that is never acknowledged (for example
/// because the dead-letter topic is down) holds its partition's committable offset back forever;
/// that is the intended behaviour, and ``inFlight(for:)`` / ``inFlightBytes`` let the caller apply
/// back-pressure (pause at a high watermark) rather than run away.
///
/// A value type with no lock: the worker keeps it behind its own lock or on one thread. Every
/// operation is amortised O(1) per record (a ring buffer per partition; acknowledgement is O(log n)
/// only when the partition's in-flight window has offset gaps), plus one dictionary lookup; the
/// ``Slot``-addressed variants skip the lookup (no hashing of the topic per record).
public struct OffsetTracker: Sendable {
    /// Where a partition's state lives in the tracker, from ``slot(for:)``: dispatching and
    /// acknowledging by slot costs an array access instead of a dictionary lookup keyed by topic.
    ///
    /// Valid until the partition is revoked; the slot is then reused by the next new partition, so a
    /// caller that keeps slots beyond a revocation must tell stale ones apart itself (the worker's
    /// ledger does, with an epoch per assignment).
    public struct Slot: Hashable, Sendable {
        /// Index into the tracker's storage.
        public let index: Int
        /// Wraps an index (a slot the tracker did not hand out holds nothing).
        public init(index: Int) { self.index = index }
    }

    /// Windows live in an array addressed through `slots`: mutating `windows[i]` in place goes through
    /// an addressor, whereas mutating a dictionary value goes through a `_modify` coroutine whose frame
    /// for a value this size is heap-allocated (measured: one malloc/free per operation).
    private var windows: [PartitionOffsetWindow] = []
    private var slots: [KafkaTopicPartition: Int] = [:]
    /// The partition in each slot (nil: free), for errors and for checking slot-addressed calls.
    private var owners: [KafkaTopicPartition?] = []
    private var freeSlots: [Int] = []
    /// Offsets that advanced since the last ``takeAdvancedOffsets()``.
    private var lastReported: [KafkaTopicPartition: Int64] = [:]

    /// Records dispatched and not yet acknowledged, over all partitions.
    public private(set) var totalInFlight = 0
    /// Payload bytes of those records.
    public private(set) var totalInFlightBytes = 0
    /// The highest ``totalInFlight`` since the tracker was created: what back-pressure actually
    /// allowed, however briefly (a gauge sampled now and then can miss it).
    public private(set) var peakInFlight = 0

    /// Creates an empty tracker.
    public init() {}

    /// Partitions with state (dispatched at least once and not revoked).
    public var trackedPartitions: [KafkaTopicPartition] { Array(slots.keys) }

    private func slot(_ partition: KafkaTopicPartition) -> Int? { slots[partition] }

    private mutating func slotCreating(_ partition: KafkaTopicPartition) -> Int {
        if let slot = slots[partition] { return slot }
        let slot: Int
        if let free = freeSlots.popLast() {
            windows[free] = PartitionOffsetWindow()
            owners[free] = partition
            slot = free
        } else {
            windows.append(PartitionOffsetWindow())
            owners.append(partition)
            slot = windows.count - 1
        }
        slots[partition] = slot
        return slot
    }

    /// The partition's slot, creating its (empty) state if it has none: nothing in flight, no
    /// committable offset, exactly as before its first ``dispatch(_:in:bytes:)``.
    public mutating func slot(for partition: KafkaTopicPartition) -> Slot { Slot(index: slotCreating(partition)) }

    /// The partition in `slot`, or nil if the slot is free (its partition was revoked).
    public func partition(at slot: Slot) -> KafkaTopicPartition? {
        isOccupied(slot) ? owners[slot.index] : nil
    }

    private func isOccupied(_ slot: Slot) -> Bool {
        slot.index >= 0 && slot.index < owners.count && owners[slot.index] != nil
    }

    /// A slot-addressed call on a free slot; the error names no real partition (there is none).
    private static func freeSlot(_ slot: Slot, _ offset: KafkaOffset) -> OffsetTrackingError {
        OffsetTrackingError(code: .unknownOffset, partition: KafkaTopicPartition(topic: "", partition: -1), offset: offset, message: "slot \(slot.index) holds no partition (revoked)")
    }

    /// Registers a record as in flight. Offsets must increase strictly per partition.
    ///
    /// - Parameter bytes: the record's size, counted in ``totalInFlightBytes`` until acknowledged.
    public mutating func dispatch(_ offset: KafkaOffset, in partition: KafkaTopicPartition, bytes: Int = 0) throws(OffsetTrackingError) {
        guard offset.rawValue >= 0 else {
            throw OffsetTrackingError(code: .invalidOffset, partition: partition, offset: offset, message: "negative offsets are logical positions, not records")
        }
        try dispatch(offset, at: slotCreating(partition), bytes: bytes)
    }

    /// ``dispatch(_:in:bytes:)`` by slot. Throws ``OffsetTrackingError/Code/unknownOffset`` for a free slot.
    public mutating func dispatch(_ offset: KafkaOffset, at slot: Slot, bytes: Int = 0) throws(OffsetTrackingError) {
        guard isOccupied(slot) else { throw Self.freeSlot(slot, offset) }
        guard offset.rawValue >= 0 else {
            throw OffsetTrackingError(code: .invalidOffset, partition: owners[slot.index]!, offset: offset, message: "negative offsets are logical positions, not records")
        }
        try dispatch(offset, at: slot.index, bytes: bytes)
    }

    private mutating func dispatch(_ offset: KafkaOffset, at slot: Int, bytes: Int) throws(OffsetTrackingError) {
        let size = max(0, bytes)
        guard windows[slot].dispatchIfIncreasing(offset.rawValue, bytes: size) else {
            let last = windows[slot].lastDispatched
            throw OffsetTrackingError(code: .notIncreasing, partition: owners[slot]!, offset: offset, message: "offset \(offset) dispatched after \(last); offsets must be dispatched in increasing order (seek or rebalance without revoke?)")
        }
        totalInFlight += 1
        totalInFlightBytes += size
        peakInFlight = max(peakInFlight, totalInFlight)
    }

    /// Marks a dispatched record's outcome (prediction or dead letter) as acknowledged by the broker.
    public mutating func acknowledge(_ offset: KafkaOffset, in partition: KafkaTopicPartition) throws(OffsetTrackingError) {
        guard let slot = slot(partition) else {
            throw OffsetTrackingError(code: .unknownOffset, partition: partition, offset: offset, message: "partition not tracked (never dispatched, or revoked)")
        }
        try acknowledge(offset, at: slot)
    }

    /// ``acknowledge(_:in:)`` by slot. Throws ``OffsetTrackingError/Code/unknownOffset`` for a free slot.
    public mutating func acknowledge(_ offset: KafkaOffset, at slot: Slot) throws(OffsetTrackingError) {
        guard isOccupied(slot) else { throw Self.freeSlot(slot, offset) }
        try acknowledge(offset, at: slot.index)
    }

    private mutating func acknowledge(_ offset: KafkaOffset, at slot: Int) throws(OffsetTrackingError) {
        switch windows[slot].acknowledge(offset.rawValue) {
        case .acknowledged(let bytes):
            totalInFlight -= 1
            totalInFlightBytes -= bytes
        case .unknown:
            throw OffsetTrackingError(code: .unknownOffset, partition: owners[slot]!, offset: offset, message: "offset was never dispatched or is already committable")
        case .duplicate:
            throw OffsetTrackingError(code: .alreadyAcknowledged, partition: owners[slot]!, offset: offset, message: "offset acknowledged twice (duplicate delivery report?)")
        }
    }

    /// The offset to commit for `partition`: lowest in flight, else highest acknowledged + 1;
    /// `nil` when nothing was acknowledged and nothing is in flight (or the partition is untracked).
    public func committableOffset(for partition: KafkaTopicPartition) -> KafkaOffset? {
        slot(partition).flatMap { windows[$0].committable }.map(KafkaOffset.init(rawValue:))
    }

    /// ``committableOffset(for:)`` by slot; nil for a free slot.
    public func committableOffset(at slot: Slot) -> KafkaOffset? {
        guard isOccupied(slot) else { return nil }
        return windows[slot.index].committable.map(KafkaOffset.init(rawValue:))
    }

    /// Records in flight on `partition`.
    public func inFlight(for partition: KafkaTopicPartition) -> Int { slot(partition).map { windows[$0].inFlight } ?? 0 }

    /// Payload bytes in flight on `partition`.
    public func inFlightBytes(for partition: KafkaTopicPartition) -> Int { slot(partition).map { windows[$0].inFlightBytes } ?? 0 }

    /// The committable offsets that changed since the previous call, for a periodic commit.
    public mutating func takeAdvancedOffsets() -> [(partition: KafkaTopicPartition, offset: KafkaOffset)] {
        var result: [(partition: KafkaTopicPartition, offset: KafkaOffset)] = []
        for (partition, slot) in slots {
            guard let offset = windows[slot].committable, lastReported[partition] != offset else { continue }
            lastReported[partition] = offset
            result.append((partition, KafkaOffset(rawValue: offset)))
        }
        return result
    }

    /// Drops the partition's state and returns its final committable offset (commit it before
    /// unassigning); records still in flight are forgotten and will be redelivered to the next owner.
    @discardableResult
    public mutating func revoke(_ partition: KafkaTopicPartition) -> KafkaOffset? {
        guard let slot = slots.removeValue(forKey: partition) else { return nil }
        let window = windows[slot]
        // Free the ring buffer's memory now; the slot is reused by the next new partition.
        windows[slot] = PartitionOffsetWindow()
        owners[slot] = nil
        freeSlots.append(slot)
        lastReported[partition] = nil
        totalInFlight -= window.inFlight
        totalInFlightBytes -= window.inFlightBytes
        return window.committable.map(KafkaOffset.init(rawValue:))
    }
}
