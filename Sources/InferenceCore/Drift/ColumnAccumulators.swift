/// The per-window state of one numeric column, updated once per value on the inference thread.
///
/// Nothing here allocates per value: the histogram and the sketch's stores are preallocated and
/// reused across windows (a sketch store grows only when a value lands outside every key seen so far).
/// Mean and M2 come from sums of `x − shift` and `(x − shift)²` (no division per value), with
/// `shift` = the baseline mean, or the window's first value without one; that keeps the usual
/// cancellation of the sum-of-squares formula small when the data sit near the shift.
struct NumericAccumulator {
    let name: String
    let reference: ColumnReference
    /// Baseline bin edges (empty: no histogram).
    let edges: [Double]
    let shiftFromBaseline: Bool
    var shift: Double
    var n = 0
    var missing = 0
    var invalid = 0
    var sum = 0.0
    var sumOfSquares = 0.0
    var minimum = Double.infinity
    var maximum = -Double.infinity
    var histogram: [Int]
    var sketch: QuantileSketch

    init(name: String, reference: ColumnReference, relativeAccuracy: Double) {
        self.name = name
        self.reference = reference
        self.edges = reference.binEdges ?? []
        self.shiftFromBaseline = reference.mean?.isFinite ?? false
        self.shift = shiftFromBaseline ? reference.mean! : 0
        self.histogram = [Int](repeating: 0, count: edges.isEmpty ? 0 : edges.count + 1)
        self.sketch = QuantileSketch(relativeAccuracy: relativeAccuracy)
    }

    @inline(__always)
    mutating func add(_ value: RawFeatureValue) {
        switch value {
        case .number(let x):
            if x.isFinite { add(x) } else { invalid &+= 1 }
        case .missing, .null:
            missing &+= 1
        case .string, .bool:
            invalid &+= 1
        }
    }

    @inline(__always)
    mutating func add(_ x: Double) {
        if n == 0 && !shiftFromBaseline { shift = x }
        n &+= 1
        let d = x - shift
        sum += d
        sumOfSquares += d * d
        minimum = Swift.min(minimum, x)
        maximum = Swift.max(maximum, x)
        if !edges.isEmpty { histogram[bucket(x)] &+= 1 }
        sketch.add(x)
    }

    /// Underflow 0, bin `[e_i, e_{i+1})` → i + 1 (the last bin closed), overflow `edges.count`.
    @inline(__always)
    func bucket(_ x: Double) -> Int {
        edges.withUnsafeBufferPointer { e in
            // Branch-free search for the number of edges ≤ x.
            var base = 0
            var length = e.count
            while length > 1 {
                let half = length >> 1
                base = e[base + half] <= x ? base + half : base
                length -= half
            }
            var below = base + (e[base] <= x ? 1 : 0)
            if below == e.count && x == e[e.count - 1] { below -= 1 }
            return below
        }
    }

    var moments: RunningMoments {
        guard n > 0 else { return RunningMoments() }
        let count = Double(n)
        return RunningMoments(n: n, mean: shift + sum / count, m2: Swift.max(0, sumOfSquares - sum * sum / count), min: minimum, max: maximum)
    }

    func column() -> DriftColumn {
        DriftColumn(name: name, kind: .numeric, reference: reference, count: n + missing + invalid, missing: missing, invalid: invalid,
                    moments: moments, histogram: edges.isEmpty ? nil : histogram, sketch: sketch)
    }

    mutating func reset() {
        n = 0; missing = 0; invalid = 0; sum = 0; sumOfSquares = 0
        minimum = .infinity; maximum = -.infinity
        if !shiftFromBaseline { shift = 0 }
        for i in histogram.indices { histogram[i] = 0 }
        sketch.reset()
    }
}

/// The per-window state of one categorical column: a count per category plus an "unseen" bucket.
struct CategoricalAccumulator {
    let name: String
    let reference: ColumnReference
    let index: [String: Int]
    var missing = 0
    var invalid = 0
    var counts: [Int]

    init(name: String, categories: [String], reference: ColumnReference) {
        self.name = name
        self.reference = reference
        var index: [String: Int] = [:]
        for (i, category) in categories.enumerated() where index[category] == nil { index[category] = i }
        self.index = index
        self.counts = [Int](repeating: 0, count: categories.count + 1)
    }

    @inline(__always)
    mutating func add(_ value: RawFeatureValue) {
        switch value {
        case .string(let s):
            counts[index[s] ?? (counts.count - 1)] &+= 1
        case .missing, .null:
            missing &+= 1
        case .number, .bool:
            invalid &+= 1
        }
    }

    /// Counts category `i` (an output class or label index).
    @inline(__always)
    mutating func add(index i: Int) {
        if i >= 0 && i < counts.count - 1 { counts[i] &+= 1 } else { counts[counts.count - 1] &+= 1 }
    }

    func column() -> DriftColumn {
        let valid = counts.reduce(0, +)
        return DriftColumn(name: name, kind: .categorical, reference: reference, count: valid + missing + invalid, missing: missing,
                           invalid: invalid, moments: nil, histogram: counts, sketch: nil)
    }

    mutating func reset() {
        missing = 0; invalid = 0
        for i in counts.indices { counts[i] = 0 }
    }
}
