/// Maps feature names to their index without allocating per lookup: open addressing over the
/// names' UTF-8 bytes (FNV-1a), built once per decoder.
///
/// Names match by exact UTF-8 bytes (after the decoder has resolved JSON escapes), not by Swift's
/// canonical-equivalence `String` equality: "é" precomposed and decomposed are different features.
struct FeatureNameTable: Sendable {
    private let bytes: [UInt8]
    private let starts: [Int]
    private let lengths: [Int]
    private let slots: [Int32]
    private let mask: Int

    /// Builds the table; returns the index of the first duplicate name instead when there is one.
    static func make(_ names: [String]) -> Result<FeatureNameTable, DuplicateName> {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var lengths: [Int] = []
        for name in names {
            starts.append(bytes.count)
            bytes.append(contentsOf: name.utf8)
            lengths.append(name.utf8.count)
        }
        var capacity = 8
        while capacity < names.count * 2 { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for index in names.indices {
            let hash = bytes.withUnsafeBytes { buffer in
                Self.hash(UnsafeRawBufferPointer(rebasing: buffer[starts[index]..<(starts[index] + lengths[index])]))
            }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 {
                let other = Int(slots[slot])
                if bytes[starts[other]..<(starts[other] + lengths[other])].elementsEqual(bytes[starts[index]..<(starts[index] + lengths[index])]) {
                    return .failure(DuplicateName(index: index))
                }
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(index)
        }
        return .success(FeatureNameTable(bytes: bytes, starts: starts, lengths: lengths, slots: slots, mask: mask))
    }

    struct DuplicateName: Error { var index: Int }

    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The index of the feature whose UTF-8 name is `key`, if any.
    func index(of key: UnsafeRawBufferPointer) -> Int? {
        var slot = Int(truncatingIfNeeded: Self.hash(key)) & mask
        return bytes.withUnsafeBytes { all in
            while true {
                let candidate = Int(slots[slot])
                if candidate < 0 { return nil }
                let length = lengths[candidate]
                if length == key.count {
                    let start = starts[candidate]
                    if length == 0 || memcmpEqual(all.baseAddress! + start, key.baseAddress!, length) { return candidate }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    @inline(__always)
    private func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        for i in 0..<count where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
            return false
        }
        return true
    }
}
