import InferenceCore
import Kafka
import Synchronization

/// An output (prediction or dead letter) sent to the producer and not yet acknowledged: what the
/// delivery report needs to acknowledge the input, and what a retry or a recreated producer needs
/// to send it again.
///
/// The destination topic is not stored: it follows from ``kind`` (the pipeline's output or
/// dead-letter topic), which saves a reference-counted `String` per record.
struct OutputSlot: Sendable {
    enum Kind: Sendable {
        case prediction
        /// Indirect: a dead letter is rare, and its details would otherwise make every slot,
        /// predictions included, larger.
        indirect case deadLetter(DeadLetter)
    }

    /// What a dead letter carries besides the input record.
    struct DeadLetter: Sendable {
        var reason: DeadLetterReason
        /// The key written (the input's, unless truncation cut it).
        var key: [UInt8]?
        /// What has been done to it after refusals (timestamp replaced, cut, minimal).
        var form = DeadLetterForm()
        /// The original record's headers, before the context headers in ``OutputSlot/headers``
        /// (kept apart so that truncation can drop them).
        var originalHeaders: [KafkaHeader]
        var contextHeaders: [KafkaHeader]
        /// The input's timestamp, kept by the dead letter (predictions get the producer's time);
        /// nil once refused and replaced by the producer's time.
        var timestampMilliseconds: Int64?
    }

    var kind: Kind
    var input: InboundRecord
    var value: [UInt8]?
    var headers: [KafkaHeader]
    // Kept small (the slab moves slots in and out per record): no timestamp here (dead letters
    // keep theirs in `DeadLetter`), a 32-bit attempt count next to the flag.
    /// Failed attempts so far (0: not failed yet).
    var attempt: UInt32 = 0
    /// Held back because its topic cannot be written (counted in the blocked gauge until delivered).
    var isBlocked = false
    /// Order of first sending, over all outputs: a recreated producer sends the unacknowledged
    /// outputs again in this order, so each input partition's outputs keep their order.
    var sequence: UInt64 = 0
    /// The producer generation this output was last handed to (see ``OutputPublisher``).
    var generation: UInt64 = 0

    /// The timestamp written: the input's for a dead letter, none (the producer's time) for a prediction.
    var timestampMilliseconds: Int64? {
        if case .deadLetter(let details) = kind { return details.timestampMilliseconds }
        return nil
    }

    var offset: KafkaOffset { input.message.offset }
    var isDeadLetter: Bool {
        if case .deadLetter = kind { return true }
        return false
    }
}

/// Outputs in flight by producer context, shared by the scoring thread (``insert(_:)``), the
/// producer's delivery thread (``remove(_:)``, ``get(_:)``), retry timers and producer recovery
/// (``get(_:)``, ``update(_:_:)``, ``live()``); every operation takes one lock.
///
/// A slab rather than a dictionary: slots live in an array and freed positions are reused through
/// a free list, so insert and remove are an array write and a move out of one element. A
/// `[UInt64: OutputSlot]` hashed every id and, on removal, shifted the colliding entries that
/// followed (each a large struct): the top of the delivery thread's profile.
///
/// An id is the position in the low 32 bits and the position's generation (bumped by every insert
/// there) above it, so an id is never reused while its slot is live, and a stale id (already
/// removed, position since reused) finds nothing. Ids are never below 2^32 (generations start at
/// 1), so the publisher's side records can use contexts 0 to 2 (drift reports and shadow
/// predictions, quality reports, training examples), and never set bit 63
/// (``KafkaProducer/reservedContextBit``).
///
/// Generic over the slot type only so that it can be tested without Kafka records; the pipeline
/// uses `OutputSlots<OutputSlot>` (specialised in release builds, which optimise the whole module).
final class OutputSlots<Slot: Sendable>: Sendable {
    private struct Entry {
        var generation: UInt32 = 0
        var slot: Slot?
    }

    private struct Storage {
        var entries: [Entry] = []
        var free: [UInt32] = []
        var count = 0
        /// Output buffers of removed slots, for the scoring thread to encode into again.
        var spares: [[UInt8]] = []
    }

    /// At most this many spare buffers are kept (the pool tracks outputs in flight, bounded).
    static var maxSpares: Int { 1024 }
    /// Larger buffers are not kept (a rare large output should not stay allocated).
    static var maxSpareCapacity: Int { 16 * 1024 }
    /// Generations stay below 2^31, keeping bit 63 of an id clear.
    private static var maxGeneration: UInt32 { 0x7FFF_FFFF }

    private let storage = Mutex(Storage())

    private static func split(_ id: UInt64) -> (index: Int, generation: UInt32) {
        (Int(truncatingIfNeeded: id & 0xFFFF_FFFF), UInt32(truncatingIfNeeded: id >> 32))
    }

    /// Registers an output; returns its context for the producer.
    func insert(_ slot: Slot) -> UInt64 {
        storage.withLock { storage in Self.insert(slot, into: &storage) }
    }

    /// Registers an output and, if a spare buffer is available, puts it in `buffer` (whose previous
    /// contents the caller no longer needs: typically the slot's own value, which keeps its copy).
    ///
    /// Recycling output buffers saves an allocation per record on the inserting thread and, more,
    /// a free of that thread's memory on the removing thread (glibc's arena lock, contended).
    func insert(_ slot: Slot, takingSpareInto buffer: inout [UInt8]) -> UInt64 {
        storage.withLock { storage in
            if let spare = storage.spares.popLast() { buffer = spare }
            return Self.insert(slot, into: &storage)
        }
    }

    private static func insert(_ slot: Slot, into storage: inout Storage) -> UInt64 {
        let index: Int
        if let free = storage.free.popLast() {
            index = Int(free)
        } else {
            precondition(storage.entries.count <= Int(UInt32.max), "more than 2^32 outputs in flight")
            storage.entries.append(Entry())
            index = storage.entries.count - 1
        }
        let previous = storage.entries[index].generation
        let generation = previous >= Self.maxGeneration ? 1 : previous + 1
        storage.entries[index].generation = generation
        storage.entries[index].slot = slot
        storage.count += 1
        return UInt64(generation) << 32 | UInt64(index)
    }

    /// Takes the slot out like ``remove(_:)``, keeping the buffer `recycle` takes out of it as a
    /// spare for ``insert(_:takingSpareInto:)`` (unless the pool is full or the buffer large).
    func remove(_ id: UInt64, recycling recycle: (inout Slot) -> [UInt8]?) -> Slot? {
        let (index, generation) = Self.split(id)
        return storage.withLock { storage in
            guard index < storage.entries.count, storage.entries[index].generation == generation,
                  var slot = storage.entries[index].slot.take() else { return nil }
            storage.free.append(UInt32(index))
            storage.count -= 1
            if storage.spares.count < Self.maxSpares, let buffer = recycle(&slot), buffer.capacity <= Self.maxSpareCapacity {
                storage.spares.append(buffer)
            }
            return slot
        }
    }

    /// Spare buffers held (for tests).
    var spareCount: Int { storage.withLock { $0.spares.count } }

    /// A copy of the slot, or nil if `id` is not live.
    func get(_ id: UInt64) -> Slot? {
        let (index, generation) = Self.split(id)
        return storage.withLock { storage in
            guard index < storage.entries.count, storage.entries[index].generation == generation else { return nil }
            return storage.entries[index].slot
        }
    }

    /// Takes the slot out (nil if `id` is not live); its position becomes free for reuse.
    func remove(_ id: UInt64) -> Slot? {
        remove(id, recycling: { _ in nil })
    }

    /// Changes a live slot in place and returns the changed copy; nil (and no change) if `id` is
    /// not live.
    @discardableResult
    func update(_ id: UInt64, _ body: (inout Slot) -> Void) -> Slot? {
        let (index, generation) = Self.split(id)
        return storage.withLock { storage in
            guard index < storage.entries.count, storage.entries[index].generation == generation,
                  storage.entries[index].slot != nil else { return nil }
            body(&storage.entries[index].slot!)
            return storage.entries[index].slot
        }
    }

    /// Every live slot with its id (for resending after the producer was recreated).
    func live() -> [(id: UInt64, slot: Slot)] {
        storage.withLock { storage in
            var result: [(id: UInt64, slot: Slot)] = []
            result.reserveCapacity(storage.count)
            for (index, entry) in storage.entries.enumerated() {
                if let slot = entry.slot { result.append((UInt64(entry.generation) << 32 | UInt64(index), slot)) }
            }
            return result
        }
    }

    /// Outputs registered and not yet removed.
    var count: Int { storage.withLock { $0.count } }
}
