/// Tracks, per partition, which dispatched records have their outcome acknowledged, and answers the
/// offset that is safe to commit.
///
/// At-least-once rule (NOTES §2): an input's offset may be stored only after its prediction or dead
/// letter is acknowledged by the broker. Records are dispatched in increasing offset order per
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
/// only when the partition's in-flight window has offset gaps), plus one dictionary lookup.
public struct OffsetTracker: Sendable {
    private var partitions: [TopicPartition: PartitionOffsetWindow] = [:]
    /// Offsets that advanced since the last ``takeAdvancedOffsets()``.
    private var lastReported: [TopicPartition: Int64] = [:]

    /// Records dispatched and not yet acknowledged, over all partitions.
    public private(set) var totalInFlight = 0
    /// Payload bytes of those records.
    public private(set) var totalInFlightBytes = 0

    /// Creates an empty tracker.
    public init() {}

    /// Partitions with state (dispatched at least once and not revoked).
    public var trackedPartitions: [TopicPartition] { Array(partitions.keys) }

    /// Registers a record as in flight. Offsets must increase strictly per partition.
    ///
    /// - Parameter bytes: the record's size, counted in ``totalInFlightBytes`` until acknowledged.
    public mutating func dispatch(_ offset: RecordOffset, in partition: TopicPartition, bytes: Int = 0) throws(OffsetTrackingError) {
        guard offset.rawValue >= 0 else {
            throw OffsetTrackingError(code: .invalidOffset, partition: partition, offset: offset, message: "negative offsets are logical positions, not records")
        }
        let size = max(0, bytes)
        if partitions[partition] == nil { partitions[partition] = PartitionOffsetWindow() }
        let last = partitions[partition]!.lastDispatched
        guard offset.rawValue > last else {
            throw OffsetTrackingError(code: .notIncreasing, partition: partition, offset: offset, message: "offset \(offset) dispatched after \(last); offsets must be dispatched in increasing order (seek or rebalance without revoke?)")
        }
        partitions[partition]!.dispatch(offset.rawValue, bytes: size)
        totalInFlight += 1
        totalInFlightBytes += size
    }

    /// Marks a dispatched record's outcome (prediction or dead letter) as acknowledged by the broker.
    public mutating func acknowledge(_ offset: RecordOffset, in partition: TopicPartition) throws(OffsetTrackingError) {
        guard partitions[partition] != nil else {
            throw OffsetTrackingError(code: .unknownOffset, partition: partition, offset: offset, message: "partition not tracked (never dispatched, or revoked)")
        }
        let before = partitions[partition]!.inFlightBytes
        switch partitions[partition]!.acknowledge(offset.rawValue) {
        case .acknowledged:
            totalInFlight -= 1
            totalInFlightBytes -= before - partitions[partition]!.inFlightBytes
        case .unknown:
            throw OffsetTrackingError(code: .unknownOffset, partition: partition, offset: offset, message: "offset was never dispatched or is already committable")
        case .duplicate:
            throw OffsetTrackingError(code: .alreadyAcknowledged, partition: partition, offset: offset, message: "offset acknowledged twice (duplicate delivery report?)")
        }
    }

    /// The offset to commit for `partition`: lowest in flight, else highest acknowledged + 1;
    /// `nil` when nothing was acknowledged and nothing is in flight (or the partition is untracked).
    public func committableOffset(for partition: TopicPartition) -> RecordOffset? {
        partitions[partition]?.committable.map(RecordOffset.init(rawValue:))
    }

    /// Records in flight on `partition`.
    public func inFlight(for partition: TopicPartition) -> Int { partitions[partition]?.inFlight ?? 0 }

    /// Payload bytes in flight on `partition`.
    public func inFlightBytes(for partition: TopicPartition) -> Int { partitions[partition]?.inFlightBytes ?? 0 }

    /// The committable offsets that changed since the previous call, for a periodic commit.
    public mutating func takeAdvancedOffsets() -> [(partition: TopicPartition, offset: RecordOffset)] {
        var result: [(partition: TopicPartition, offset: RecordOffset)] = []
        for (partition, window) in partitions {
            guard let offset = window.committable, lastReported[partition] != offset else { continue }
            lastReported[partition] = offset
            result.append((partition, RecordOffset(rawValue: offset)))
        }
        return result
    }

    /// Drops the partition's state and returns its final committable offset (commit it before
    /// unassigning); records still in flight are forgotten and will be redelivered to the next owner.
    @discardableResult
    public mutating func revoke(_ partition: TopicPartition) -> RecordOffset? {
        guard let window = partitions.removeValue(forKey: partition) else { return nil }
        lastReported[partition] = nil
        totalInFlight -= window.inFlight
        totalInFlightBytes -= window.inFlightBytes
        return window.committable.map(RecordOffset.init(rawValue:))
    }
}
