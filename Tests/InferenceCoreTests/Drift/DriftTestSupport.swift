import Foundation
@testable import InferenceCore
import InferenceCoreTesting

/// Fixtures and helpers shared by the drift tests.
enum DriftTestSupport {
    struct NumericCase: Decodable {
        struct Expected: Decodable {
            var count: Int, missing: Int, n: Int
            var mean: Double, std: Double, m2: Double, min: Double, max: Double
            var histogram: [Int]
            var psi: Double, kolmogorov_smirnov: Double, jensen_shannon: Double
            var wasserstein: Double, wasserstein_normed: Double
            var missing_rate: Double, missing_rate_change: Double
            var quantiles: [String: Double]
        }
        var name: String
        var baseline: DistributionBaseline
        var values: [Double?]
        var expected: Expected
    }

    struct CategoricalCase: Decodable {
        struct Expected: Decodable {
            var count: Int, missing: Int, counts: [Int]
            var psi: Double, jensen_shannon: Double
            var chi_square: Double, chi_square_df: Int, chi_square_p_value: Double
            var missing_rate: Double, missing_rate_change: Double
        }
        var name: String
        var vocabulary: [String]
        var baseline: DistributionBaseline
        var values: [String?]
        var expected: Expected
    }

    struct Fixtures: Decodable {
        var psi_epsilon: Double
        var sketch_relative_accuracy: Double
        var numeric: [NumericCase]
        var categorical: [CategoricalCase]
    }

    struct FraudBaseline: Decodable {
        var features: [String]
        var labels: [String]
        var baseline: ModelBaseline
    }

    static func load<T: Decodable>(_ file: String, as type: T.Type) throws -> T {
        let url = TestSupport.fixturesDirectory.appendingPathComponent("drift/\(file)")
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000) // a multiple of 60 s

    /// A monitor over the fraud model's real baseline (16 numeric features, multiclass output).
    static func fraudMonitor(configuration: DriftConfiguration = DriftConfiguration(), workerID: String = "w1", now: Date = t0) throws -> (DriftMonitor, FraudBaseline) {
        let fraud = try load("fraud_mlp_baseline.json", as: FraudBaseline.self)
        let schema = InputSchema(features: fraud.features.map { .numeric($0) })
        let monitor = DriftMonitor(modelName: "fraud-mlp", modelVersion: "1", schema: schema,
                                   output: OutputSchema(task: .multiclass, labels: fraud.labels), baseline: fraud.baseline,
                                   configuration: configuration, workerID: workerID, now: now)
        return (monitor, fraud)
    }

    /// Draws one value from a baseline histogram: a bin by its proportion, then uniform within it.
    static func sample(_ baseline: DistributionBaseline, _ generator: inout DriftRandom) -> Double {
        let edges = baseline.binEdges!, shares = baseline.proportions!
        var u = generator.nextDouble() * shares.reduce(0, +)
        for (i, share) in shares.enumerated() {
            if u < share || i == shares.count - 1 {
                return edges[i] + generator.nextDouble() * (edges[i + 1] - edges[i])
            }
            u -= share
        }
        return edges[0]
    }

    /// Draws a class index from a categorical baseline over `labels`.
    static func sampleClass(_ baseline: DistributionBaseline, labels: [String], _ generator: inout DriftRandom) -> Int {
        var u = generator.nextDouble()
        for (i, label) in labels.enumerated() {
            let share = baseline.categories?[label] ?? 0
            if u < share { return i }
            u -= share
        }
        return labels.count - 1
    }

    /// Feeds `rows` rows drawn from the fraud baseline, with `transform(featureIndex, value)` applied.
    static func feed(_ monitor: inout DriftMonitor, _ fraud: FraudBaseline, rows: Int, generator: inout DriftRandom,
                     transform: (Int, Double) -> RawFeatureValue = { .number($1) }) {
        let bases = fraud.features.map { fraud.baseline.features[$0]! }
        let outputBase = fraud.baseline.output!
        let probabilities: ArraySlice<Float> = [0.5, 0.5]
        for _ in 0..<rows {
            let row = bases.enumerated().map { transform($0.offset, sample($0.element, &generator)) }
            monitor.observe(row: row)
            let k = sampleClass(outputBase, labels: fraud.labels, &generator)
            monitor.observe(output: .multiclass(probabilities: probabilities, classIndex: k, label: fraud.labels[k]))
        }
    }

    static func close(_ a: Double?, _ b: Double, tolerance: Double = 1e-6) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance * Swift.max(1, abs(b))
    }
}
