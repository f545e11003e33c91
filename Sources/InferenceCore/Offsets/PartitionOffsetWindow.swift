/// The dispatched-but-not-yet-committable offsets of one partition, as a ring buffer.
///
/// Entries are kept in dispatch (= offset) order with a done flag; acknowledged entries at the front
/// are popped, so the front is always the lowest offset still in flight. Offsets may have gaps
/// (compaction, transaction markers): acknowledging looks the entry up at `offset - front` first
/// (O(1) when the window has no gaps) and falls back to a binary search (O(log n)).
struct PartitionOffsetWindow: Sendable {
    private var offsets: [Int64] = []
    private var bytes: [Int] = []
    private var done: [Bool] = []
    private var head = 0
    private(set) var count = 0
    /// Records dispatched and not yet acknowledged.
    private(set) var inFlight = 0
    /// Payload bytes of those records.
    private(set) var inFlightBytes = 0
    /// The highest offset ever dispatched on the partition, `-1` before the first.
    private(set) var lastDispatched: Int64 = -1
    /// Offset to commit once nothing is in flight: highest acknowledged + 1 (`nil` before any acknowledgement).
    private var nextAfterDone: Int64?

    private var capacity: Int { offsets.count }

    @inline(__always) private func slot(_ i: Int) -> Int {
        let s = head + i
        return s >= capacity ? s - capacity : s
    }

    /// Lowest in flight, else highest acknowledged + 1, else `nil`.
    var committable: Int64? {
        count > 0 ? offsets[head] : nextAfterDone
    }

    mutating func dispatch(_ offset: Int64, bytes size: Int) {
        if count == capacity { grow() }
        let s = slot(count)
        offsets[s] = offset
        bytes[s] = size
        done[s] = false
        count += 1
        inFlight += 1
        inFlightBytes += size
        lastDispatched = offset
    }

    /// `false` when `offset` is not above the last dispatched offset (nothing changes then).
    mutating func dispatchIfIncreasing(_ offset: Int64, bytes size: Int) -> Bool {
        guard offset > lastDispatched else { return false }
        dispatch(offset, bytes: size)
        return true
    }

    enum AcknowledgeResult { case acknowledged(bytes: Int), unknown, duplicate }

    mutating func acknowledge(_ offset: Int64) -> AcknowledgeResult {
        guard count > 0, offset >= offsets[head], offset <= lastDispatched else { return .unknown }
        var index = -1
        let guess = offset - offsets[head]
        if guess < Int64(count), offsets[slot(Int(guess))] == offset {
            index = Int(guess)
        } else {
            var low = 0, high = count - 1
            while low <= high {
                let mid = (low + high) / 2
                let value = offsets[slot(mid)]
                if value == offset { index = mid; break }
                if value < offset { low = mid + 1 } else { high = mid - 1 }
            }
        }
        guard index >= 0 else { return .unknown }
        let s = slot(index)
        if done[s] { return .duplicate }
        done[s] = true
        let released = bytes[s]
        inFlight -= 1
        inFlightBytes -= released
        // Pop the acknowledged prefix; each entry is popped once, so this is amortised O(1).
        while count > 0, done[head] {
            nextAfterDone = offsets[head] + 1
            head += 1
            if head == capacity { head = 0 }
            count -= 1
        }
        return .acknowledged(bytes: released)
    }

    private mutating func grow() {
        let newCapacity = max(16, capacity * 2)
        var newOffsets = [Int64](repeating: 0, count: newCapacity)
        var newBytes = [Int](repeating: 0, count: newCapacity)
        var newDone = [Bool](repeating: false, count: newCapacity)
        for i in 0..<count {
            let s = slot(i)
            newOffsets[i] = offsets[s]
            newBytes[i] = bytes[s]
            newDone[i] = done[s]
        }
        offsets = newOffsets
        bytes = newBytes
        done = newDone
        head = 0
    }
}
