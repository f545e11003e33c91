/// Values keyed by a unique string id, kept in insertion order: O(1) append, lookup, removal by id,
/// and removal of the oldest. Removed slots become holes that are compacted away once they are the
/// majority, so memory stays proportional to the live entries.
struct KeyedFIFO<Value: Sendable>: Sendable {
    private var slots: [(id: String, value: Value)?] = []
    private var head = 0
    /// Sequence number of `slots[0]`.
    private var base = 0
    private var index: [String: Int] = [:]

    /// Live entries.
    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }

    func contains(_ id: String) -> Bool { index[id] != nil }

    func value(for id: String) -> Value? {
        guard let seq = index[id] else { return nil }
        return slots[seq - base]?.value
    }

    /// Appends `value` under `id`; the caller ensures `id` is not present.
    mutating func append(_ id: String, _ value: Value) {
        index[id] = base + slots.count
        slots.append((id, value))
    }

    @discardableResult
    mutating func remove(_ id: String) -> Value? {
        guard let seq = index.removeValue(forKey: id) else { return nil }
        let value = slots[seq - base]?.value
        slots[seq - base] = nil
        skipHoles()
        // Holes in the middle (entries joined while an older one waits) are compacted once they
        // outnumber the live entries twice over, so memory stays O(live entries), amortised O(1).
        if slots.count - head > 2 * index.count + 1024 { compact() }
        return value
    }

    private mutating func compact() {
        let live = slots[head...].compactMap { $0 }
        base += slots.count
        slots = live.map { Optional($0) }
        for (i, entry) in live.enumerated() { index[entry.id] = base + i }
        head = 0
    }

    /// The oldest live entry.
    var oldest: (id: String, value: Value)? {
        var i = head
        while i < slots.count {
            if let entry = slots[i] { return entry }
            i += 1
        }
        return nil
    }

    @discardableResult
    mutating func removeOldest() -> (id: String, value: Value)? {
        skipHoles()
        guard head < slots.count, let entry = slots[head] else { return nil }
        index.removeValue(forKey: entry.id)
        slots[head] = nil
        skipHoles()
        return entry
    }

    /// Live entries, oldest first.
    var values: [Value] { slots[head...].compactMap { $0?.value } }

    mutating func removeAll() {
        slots.removeAll()
        index.removeAll()
        head = 0
        base = 0
    }

    private mutating func skipHoles() {
        while head < slots.count, slots[head] == nil { head += 1 }
        if head == slots.count {
            base += slots.count
            slots.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= slots.count {
            slots.removeFirst(head)
            base += head
            head = 0
        }
    }
}
