import Foundation

/// A mergeable quantile sketch with a relative-error guarantee (DDSketch, Masson et al., VLDB 2019),
/// using a piecewise-linear approximation of the logarithm so that an insert costs a few integer and
/// floating-point operations and no call to `log`.
///
/// **Mapping.** A value `x` with `|x| = m·2^e` (`m` in [1, 2)) is keyed by `f(x) = e + (m − 1)`, a
/// monotone piecewise-linear approximation of `log2|x|`, and stored in bucket `⌊f(x)·M⌋` with
/// `M = 1 / ln γ`, `γ = (1 + α) / (1 − α)`. Because `d(log2|x|)/df ≤ 1 / ln 2`, a bucket's upper and
/// lower bounds differ by a factor of at most γ, so its representative `2·lo·hi / (lo + hi)` is within
/// a relative distance α of every value in it. Negative values go to a second store keyed by `|x|`;
/// zero and subnormal values go to a zero bucket (represented by 0).
///
/// **Guarantee.** For `q` in [0, 1], ``quantile(_:)`` returns an estimate of the order statistic
/// `x₍ᵣ₎`, `r = ⌊q·(n − 1)⌋` (0-based, ascending), with `|estimate − x₍ᵣ₎| ≤ α·|x₍ᵣ₎|` — as long as
/// no store collapsed (see ``maxBucketsPerStore``). The default α = 0.01 uses about 50 buckets per
/// doubling of magnitude.
///
/// **Collapse.** Each store keeps at most ``maxBucketsPerStore`` consecutive buckets (2048 ≈ a
/// dynamic range of 2^41 at α = 0.01); values of smaller magnitude than that range below the largest
/// are folded into its lowest bucket (``collapsed`` becomes true) and lose the guarantee. Quantiles
/// of the large-magnitude tail keep it.
///
/// **Merging** adds bucket counts: sketches with the same α merge exactly, so the merge of two
/// replicas' sketches equals the sketch of the union of their streams.
public struct QuantileSketch: Sendable, Hashable, Codable {
    /// The relative accuracy α.
    public let relativeAccuracy: Double
    /// Values of magnitude below the smallest normal `Double` (and zeros).
    public private(set) var zeroCount: Int
    /// Values > 0.
    public private(set) var positive: Store
    /// Values < 0, keyed by magnitude.
    public private(set) var negative: Store

    /// The most buckets one store keeps before it folds its lowest ones together.
    public static let maxBucketsPerStore = 2048

    /// Dense bucket counts for keys `offset ..< offset + counts.count`.
    public struct Store: Sendable, Hashable, Codable {
        /// The key of `counts[0]`.
        public var offset: Int
        /// Counts per key, dense.
        public var counts: [Int]
        /// Whether low keys were folded together (the guarantee no longer holds for them).
        public var collapsed: Bool

        init() { offset = 0; counts = []; collapsed = false }

        /// Total count.
        public var total: Int { counts.reduce(0, +) }

        @inline(__always)
        mutating func add(key: Int, count: Int = 1) {
            let slot = key &- offset
            if slot >= 0, slot < counts.count {
                counts[slot] &+= count
            } else {
                addSlow(key: key, count: count)
            }
        }

        @inline(never)
        mutating func addSlow(key: Int, count: Int) {
            let limit = QuantileSketch.maxBucketsPerStore
            if counts.isEmpty {
                offset = key
                counts = [count]
                counts.reserveCapacity(64)
                return
            }
            let high = offset + counts.count - 1
            if key > high {
                // Grow upwards; fold the lowest keys if the span gets too wide.
                counts.append(contentsOf: repeatElement(0, count: key - high))
                counts[counts.count - 1] &+= count
                if counts.count > limit {
                    let excess = counts.count - limit
                    let folded = counts[0...excess].reduce(0, +)
                    counts.removeFirst(excess)
                    counts[0] = folded
                    offset += excess
                    collapsed = true
                }
            } else {
                // key < offset: grow downwards if the span allows, else fold into the lowest bucket.
                let newSpan = high - key + 1
                if newSpan <= limit {
                    counts.insert(contentsOf: repeatElement(0, count: offset - key), at: 0)
                    offset = key
                    counts[0] &+= count
                } else {
                    let newLow = high - limit + 1
                    if newLow > offset {
                        let excess = newLow - offset
                        let folded = counts[0...excess].reduce(0, +)
                        counts.removeFirst(excess)
                        counts[0] = folded
                        offset = newLow
                    } else if newLow < offset {
                        counts.insert(contentsOf: repeatElement(0, count: offset - newLow), at: 0)
                        offset = newLow
                    }
                    counts[0] &+= count
                    collapsed = true
                }
            }
        }

        mutating func merge(_ other: Store) {
            for (i, c) in other.counts.enumerated() where c != 0 { add(key: other.offset + i, count: c) }
            collapsed = collapsed || other.collapsed
        }

        /// Empties the store, keeping its capacity.
        mutating func reset() {
            for i in counts.indices { counts[i] = 0 }
            collapsed = false
        }

        /// Drops leading and trailing zero buckets (for compact serialisation).
        func trimmed() -> Store {
            guard let first = counts.firstIndex(where: { $0 != 0 }), let last = counts.lastIndex(where: { $0 != 0 }) else {
                var empty = Store(); empty.collapsed = collapsed; return empty
            }
            var copy = Store()
            copy.offset = offset + first
            copy.counts = Array(counts[first...last])
            copy.collapsed = collapsed
            return copy
        }
    }

    /// `M = 1 / ln γ`: keys per unit of `f(x)`.
    @usableFromInline let multiplier: Double

    /// Creates an empty sketch with relative accuracy `relativeAccuracy` (0 < α < 1; default 0.01).
    public init(relativeAccuracy: Double = 0.01) {
        precondition(relativeAccuracy > 0 && relativeAccuracy < 1, "QuantileSketch: relative accuracy must be in (0, 1)")
        self.relativeAccuracy = relativeAccuracy
        let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
        self.multiplier = 1 / log(gamma)
        self.zeroCount = 0
        self.positive = Store()
        self.negative = Store()
    }

    enum CodingKeys: String, CodingKey {
        case relativeAccuracy = "relative_accuracy", zeroCount = "zero_count", positive, negative
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let alpha = try container.decode(Double.self, forKey: .relativeAccuracy)
        guard alpha > 0 && alpha < 1 else {
            throw DecodingError.dataCorruptedError(forKey: .relativeAccuracy, in: container, debugDescription: "relative_accuracy must be in (0, 1)")
        }
        self.init(relativeAccuracy: alpha)
        zeroCount = try container.decode(Int.self, forKey: .zeroCount)
        positive = try container.decode(Store.self, forKey: .positive)
        negative = try container.decode(Store.self, forKey: .negative)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(relativeAccuracy, forKey: .relativeAccuracy)
        try container.encode(zeroCount, forKey: .zeroCount)
        try container.encode(positive.trimmed(), forKey: .positive)
        try container.encode(negative.trimmed(), forKey: .negative)
    }

    public static func == (lhs: QuantileSketch, rhs: QuantileSketch) -> Bool {
        lhs.relativeAccuracy == rhs.relativeAccuracy && lhs.zeroCount == rhs.zeroCount
            && lhs.positive.trimmed() == rhs.positive.trimmed() && lhs.negative.trimmed() == rhs.negative.trimmed()
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(relativeAccuracy)
        hasher.combine(zeroCount)
        hasher.combine(positive.trimmed())
        hasher.combine(negative.trimmed())
    }

    /// Values added.
    public var count: Int { zeroCount + positive.total + negative.total }

    /// The bucket key of a positive normal magnitude.
    @inline(__always)
    func key(magnitude: Double) -> Int { Self.key(magnitude: magnitude, multiplier: multiplier) }

    @inline(__always)
    static func key(magnitude: Double, multiplier: Double) -> Int {
        let bits = magnitude.bitPattern
        let exponent = Int(truncatingIfNeeded: bits >> 52) &- 1023
        let fraction = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000) - 1
        // floor without a libm call (`rounded(.down)` is not inlined on baseline x86-64).
        let scaled = (Double(exponent) + fraction) * multiplier
        let truncated = Int(scaled)
        return truncated &- (Double(truncated) > scaled)._asInt
    }

    /// Adds a finite value. Non-finite values must be filtered by the caller.
    @inline(__always)
    public mutating func add(_ value: Double) {
        let magnitude = value.magnitude
        if magnitude < Double.leastNormalMagnitude {
            zeroCount &+= 1
        } else if value > 0 {
            positive.add(key: key(magnitude: magnitude))
        } else {
            negative.add(key: key(magnitude: magnitude))
        }
    }

    /// Adds finite values. The common case (a key inside the stores' current range) increments
    /// through buffer pointers, so the stores' uniqueness is checked once per run, not per value.
    public mutating func add(contentsOf values: UnsafeBufferPointer<Double>) {
        let multiplier = self.multiplier
        var index = 0
        var zeros = 0
        while index < values.count {
            let positiveOffset = positive.offset, negativeOffset = negative.offset
            index = positive.counts.withUnsafeMutableBufferPointer { positiveCounts in
                negative.counts.withUnsafeMutableBufferPointer { negativeCounts in
                    // The store is picked by the sign bit with integer masks, not a branch: on
                    // mixed-sign data a branch here mispredicted half the time.
                    let positiveBase = UInt(bitPattern: positiveCounts.baseAddress)
                    let negativeBase = UInt(bitPattern: negativeCounts.baseAddress)
                    let positiveCount = positiveCounts.count, negativeCount = negativeCounts.count
                    var i = index
                    while i < values.count {
                        let x = values[i]
                        let magnitude = x.magnitude
                        if magnitude < Double.leastNormalMagnitude {
                            zeros &+= 1
                            i &+= 1
                            continue
                        }
                        let isNegative = Int(truncatingIfNeeded: x.bitPattern &>> 63)
                        let mask = 0 &- isNegative
                        let offset = (positiveOffset & ~mask) | (negativeOffset & mask)
                        let count = (positiveCount & ~mask) | (negativeCount & mask)
                        let base = (positiveBase & ~UInt(bitPattern: mask)) | (negativeBase & UInt(bitPattern: mask))
                        let slot = Self.key(magnitude: magnitude, multiplier: multiplier) &- offset
                        guard slot >= 0 && slot < count else { return i }
                        UnsafeMutablePointer<Int>(bitPattern: base).unsafelyUnwrapped[slot] &+= 1
                        i &+= 1
                    }
                    return i
                }
            }
            if index < values.count {
                // Outside the stores' range: the growing path.
                add(values[index])
                index &+= 1
            }
        }
        zeroCount &+= zeros
    }

    /// Adds every bucket of `other` (same relative accuracy required).
    public mutating func merge(_ other: QuantileSketch) {
        precondition(other.relativeAccuracy == relativeAccuracy, "QuantileSketch.merge: relative accuracies differ")
        zeroCount += other.zeroCount
        positive.merge(other.positive)
        negative.merge(other.negative)
    }

    /// Empties the sketch, keeping its storage.
    public mutating func reset() {
        zeroCount = 0
        positive.reset()
        negative.reset()
    }

    /// Inverse of `f`: the magnitude whose key position is `v` (in units of f).
    private func magnitude(atF v: Double) -> Double {
        let e = v.rounded(.down)
        return (1 + (v - e)) * Double(sign: .plus, exponent: Int(e), significand: 1)
    }

    /// The representative magnitude of bucket `key`: the value minimising the worst relative error
    /// over the bucket.
    func representative(key: Int) -> Double {
        let lo = magnitude(atF: Double(key) / multiplier)
        let hi = magnitude(atF: Double(key + 1) / multiplier)
        return 2 * lo * (hi / (lo + hi))  // not 2·lo·hi: that overflows near the top of the range
    }

    /// The estimate of the order statistic of rank `⌊q·(n − 1)⌋`; `nil` when empty or `q` is outside [0, 1].
    public func quantile(_ q: Double) -> Double? {
        let n = count
        guard n > 0, q >= 0, q <= 1 else { return nil }
        let rank = Int((q * Double(n - 1)).rounded(.down))
        var seen = 0
        for slot in negative.counts.indices.reversed() where negative.counts[slot] > 0 {
            seen += negative.counts[slot]
            if seen > rank { return -representative(key: negative.offset + slot) }
        }
        seen += zeroCount
        if seen > rank { return 0 }
        for slot in positive.counts.indices where positive.counts[slot] > 0 {
            seen += positive.counts[slot]
            if seen > rank { return representative(key: positive.offset + slot) }
        }
        return nil
    }
}
