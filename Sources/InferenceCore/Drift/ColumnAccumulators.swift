/// The per-window state of one numeric column, updated once per value on the inference thread.
///
/// Nothing here allocates per value: the histogram and the sketch's stores are preallocated and
/// reused across windows (a sketch store grows only when a value lands outside every key seen so far).
/// Finite numbers wait in the monitor's pending buffer until ``drain(_:)``; the state is complete only
/// after the monitor drained it (it does so before building a report).
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
    let grid: EdgeGrid

    init(name: String, reference: ColumnReference, relativeAccuracy: Double) {
        self.name = name
        self.reference = reference
        self.edges = reference.binEdges ?? []
        self.shiftFromBaseline = reference.mean?.isFinite ?? false
        self.shift = shiftFromBaseline ? reference.mean! : 0
        self.histogram = [Int](repeating: 0, count: edges.isEmpty ? 0 : edges.count + 1)
        self.sketch = QuantileSketch(relativeAccuracy: relativeAccuracy)
        self.grid = EdgeGrid(edges: edges)
    }

    /// Values buffered per numeric feature before ``add(batch:)`` processes them.
    static let batchCapacity = 128

    /// Values waiting in this column's region of the monitor's pending buffer.
    var pendingCount = 0

    /// Counts one raw value; a finite number is buffered at `pending[pendingCount]` (this column's
    /// region of ``batchCapacity`` values) and the region is processed when full.
    ///
    /// Buffering keeps the per-value work to a store and a count; the moments, the histogram and the
    /// sketch are then updated in tight loops over 128 values, each array's uniqueness checked once per
    /// batch instead of once per value (measured: 520 → ~400 ns per 16-feature row; see docs/drift.md).
    @inline(__always)
    mutating func add(_ value: RawFeatureValue, pending: UnsafeMutablePointer<Double>) {
        switch value {
        case .number(let x):
            if x.isFinite {
                pending[pendingCount] = x
                pendingCount &+= 1
                if pendingCount == Self.batchCapacity { drain(pending) }
            } else if x.isNaN {
                missing &+= 1  // a bare `NaN` is a missing value, as in the input schema
            } else {
                invalid &+= 1
            }
        case .bool(let flag):
            pending[pendingCount] = flag ? 1 : 0  // 1 / 0, as the input schema encodes it
            pendingCount &+= 1
            if pendingCount == Self.batchCapacity { drain(pending) }
        case .missing, .null:
            missing &+= 1
        case .string:
            invalid &+= 1
        }
    }

    /// Processes the buffered values.
    @inline(never)
    mutating func drain(_ pending: UnsafeMutablePointer<Double>) {
        add(batch: UnsafeBufferPointer(start: pending, count: pendingCount))
        pendingCount = 0
    }

    /// Adds finite values (unbuffered: the output score, one per prediction).
    @inline(__always)
    mutating func add(_ x: Double) {
        withUnsafePointer(to: x) { add(batch: UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// Adds finite values, one tight pass per concern.
    mutating func add(batch values: UnsafeBufferPointer<Double>) {
        guard let first = values.first else { return }
        if n == 0 && !shiftFromBaseline { shift = first }
        let shift = self.shift
        var s = sum, ss = sumOfSquares, lo = minimum, hi = maximum
        for x in values {
            let d = x - shift
            s += d
            ss += d * d
            lo = x < lo ? x : lo  // minsd/maxsd; Swift.min's NaN-aware form compiled to a 3-instruction blend
            hi = x > hi ? x : hi
        }
        sum = s; sumOfSquares = ss; minimum = lo; maximum = hi
        n &+= values.count
        if !edges.isEmpty {
            let grid = self.grid
            edges.withUnsafeBufferPointer { edges in
                grid.start.withUnsafeBufferPointer { start in
                    histogram.withUnsafeMutableBufferPointer { counts in
                        for x in values { counts[Self.bucket(x, edges: edges, grid: grid, start: start)] &+= 1 }
                    }
                }
            }
        }
        sketch.add(contentsOf: values)
    }

    /// Underflow 0, bin `[e_i, e_{i+1})` → i + 1 (the last bin closed), overflow `edges.count`.
    ///
    /// A binary search over the edges mispredicted about half its branches on real data and took ~45%
    /// of the monitor's time (perf, this machine; LLVM's cmov converter turns every branch-free
    /// formulation back into a branch). Instead a grid of ``EdgeGrid/cells`` equal cells over
    /// `[e_0, e_k]` gives a lower bound of the answer, and a short forward scan finishes it: the scan
    /// takes no step unless the value's cell contains an edge.
    @inline(__always)
    static func bucket(_ x: Double, edges e: UnsafeBufferPointer<Double>, grid: EdgeGrid, start: UnsafeBufferPointer<UInt16>) -> Int {
        let count = e.count
        if x < grid.low { return 0 }
        if x >= grid.high { return x == grid.high ? count &- 1 : count }
        let cell = Swift.min(Int((x - grid.low) * grid.scale), EdgeGrid.cells &- 1)
        var below = Int(start[cell])
        // Stops at count − 1 at the latest: x < high = e[count − 1].
        while e[below] <= x { below &+= 1 }
        return below
    }

    var moments: RunningMoments {
        guard n > 0 else { return RunningMoments() }
        let count = Double(n)
        return RunningMoments(n: n, mean: shift + sum / count, m2: Swift.max(0, sumOfSquares - sum * sum / count), min: minimum, max: maximum)
    }

    /// The column's state; drain pending values first.
    func column() -> DriftColumn {
        precondition(pendingCount == 0, "NumericAccumulator.column: values still pending")
        return DriftColumn(name: name, kind: .numeric, reference: reference, count: n + missing + invalid, missing: missing, invalid: invalid,
                    moments: moments, histogram: edges.isEmpty ? nil : histogram, sketch: sketch)
    }

    mutating func reset() {
        n = 0; missing = 0; invalid = 0; sum = 0; sumOfSquares = 0; pendingCount = 0
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
        case .number(let x) where x.isNaN:
            missing &+= 1  // a bare `NaN` is a missing value, as in the input schema
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

extension Bool {
    /// 1 or 0, without a branch.
    @inline(__always) var _asInt: Int { Int(truncatingIfNeeded: unsafeBitCast(self, to: UInt8.self)) }
}

/// A lookup table over `[e_0, e_k]` in equal cells: `start[c]` is the number of edges that lie in
/// cells before `c`, hence ≤ every value in cell `c` (cell indices are computed the same, monotone, way
/// for edges and values, so this holds despite rounding).
struct EdgeGrid {
    /// 512 cells of 2 bytes: 1 KiB per feature, so 16 features' tables stay in L1 (2,048 cells measured slower).
    static let cells = 512
    let low: Double
    let high: Double
    let scale: Double
    let start: [UInt16]

    init(edges: [Double]) {
        guard let first = edges.first, let last = edges.last, last > first, edges.count < Int(UInt16.max) else {
            low = .infinity; high = .infinity; scale = 0; start = [UInt16](repeating: 0, count: Self.cells)
            return
        }
        low = first
        high = last
        scale = Double(Self.cells) / (last - first)
        var inCell = [Int](repeating: 0, count: Self.cells)
        for edge in edges { inCell[Swift.min(Int((edge - first) * scale), Self.cells - 1)] += 1 }
        var start = [UInt16](repeating: 0, count: Self.cells)
        var before = 0
        for c in 0..<Self.cells {
            start[c] = UInt16(before)
            before += inCell[c]
        }
        self.start = start
    }
}
