@testable import InferenceCore
import InferenceCoreTesting
import Testing

/// The grid-accelerated bucket lookup against the definition (numpy's bins plus under/overflow).
@Suite struct HistogramBucketTests {
    /// Underflow 0, `[e_i, e_{i+1})` → i + 1, the last bin closed, overflow `edges.count`.
    static func naiveBucket(_ x: Double, _ edges: [Double]) -> Int {
        if x < edges[0] { return 0 }
        if x > edges[edges.count - 1] { return edges.count }
        if x == edges[edges.count - 1] { return edges.count - 1 }
        return edges.lastIndex { $0 <= x }! + 1
    }

    static let edgeSets: [[Double]] = [
        [0, 1, 2, 3],
        // The fraud model's `amount`: nine narrow bins and one 30x wider tail bin.
        [0.40930357575416565, 7.046459913253784, 11.789380264282226, 17.53139419555664, 24.070354080200197, 32.27821922302246,
         43.473119354248055, 60.757958984375, 89.8971496582031, 149.7143981933595, 4332.619140625],
        // Many edges crowded into one grid cell.
        [0, 1e-9, 2e-9, 3e-9, 4e-9, 1, 1000],
        [-5, -1, -0.5, 0, 0.5, 1, 5],
    ]

    @Test(arguments: 0..<edgeSets.count)
    func gridLookupMatchesTheDefinition(_ set: Int) {
        let edges = Self.edgeSets[set]
        var reference = DistributionBaseline()
        reference.binEdges = edges
        reference.proportions = [Double](repeating: 1, count: edges.count - 1)
        var accumulator = NumericAccumulator(name: "x", reference: .numeric(reference), relativeAccuracy: 0.01)
        var generator = DriftRandom(seed: UInt64(set))
        var values = edges + edges.map { $0.nextUp } + edges.map { $0.nextDown } + [-0.0, 0.0]
        let lo = edges.first!, hi = edges.last!
        for _ in 0..<5000 { values.append(lo - (hi - lo) * 0.1 + generator.nextDouble() * (hi - lo) * 1.2) }
        var expected = [Int](repeating: 0, count: edges.count + 1)
        for x in values { expected[Self.naiveBucket(x, edges)] += 1 }
        values.withUnsafeBufferPointer { accumulator.add(batch: $0) }
        #expect(accumulator.histogram == expected)
        #expect(accumulator.n == values.count)
    }
}
