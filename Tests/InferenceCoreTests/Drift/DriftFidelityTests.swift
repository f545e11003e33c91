import Foundation
@testable import InferenceCore
import Testing

/// The Swift statistics against numpy/scipy on the fixed samples of scripts/fixtures/make_drift_fixtures.py.
@Suite struct DriftFidelityTests {
    static let fixtures = try! DriftTestSupport.load("drift_fixtures.json", as: DriftTestSupport.Fixtures.self)

    /// One-feature monitor fed `values`, flushed into a report.
    static func numericColumn(_ c: DriftTestSupport.NumericCase) throws -> DriftColumn {
        let quantiles = c.expected.quantiles.keys.compactMap(Double.init).sorted()
        var monitor = DriftMonitor(
            modelName: "m", modelVersion: "1", schema: InputSchema(features: [.numeric("x", missing: .allowed, default: 0)]),
            output: OutputSchema(task: .regression), baseline: ModelBaseline(features: ["x": c.baseline]),
            configuration: DriftConfiguration(quantiles: quantiles), workerID: "w", now: DriftTestSupport.t0
        )
        for value in c.values { monitor.observe(row: [value.map(RawFeatureValue.number) ?? .null]) }
        let reportTaken = monitor.flush(now: DriftTestSupport.t0)
        let report = try #require(reportTaken)
        return try #require(report.column("x"))
    }

    @Test(arguments: fixtures.numeric.map(\.name))
    func numericStatisticsMatchNumpy(_ name: String) throws {
        let c = try #require(Self.fixtures.numeric.first { $0.name == name })
        let column = try Self.numericColumn(c)
        let e = c.expected
        #expect(column.count == e.count)
        #expect(column.missing == e.missing)
        #expect(column.moments?.n == e.n)
        #expect(column.histogram == e.histogram)
        #expect(column.moments?.min == e.min)
        #expect(column.moments?.max == e.max)
        #expect(DriftTestSupport.close(column.moments?.mean, e.mean))
        #expect(DriftTestSupport.close(column.moments?.m2, e.m2))
        #expect(DriftTestSupport.close(column.std, e.std))
        let s = column.scores
        #expect(DriftTestSupport.close(s.psi, e.psi), "psi \(s.psi ?? .nan) vs \(e.psi)")
        #expect(DriftTestSupport.close(s.kolmogorovSmirnov, e.kolmogorov_smirnov))
        #expect(DriftTestSupport.close(s.jensenShannon, e.jensen_shannon))
        #expect(DriftTestSupport.close(s.wasserstein, e.wasserstein), "w1 \(s.wasserstein ?? .nan) vs \(e.wasserstein)")
        #expect(DriftTestSupport.close(s.wassersteinNormed, e.wasserstein_normed))
        #expect(DriftTestSupport.close(s.missingRate, e.missing_rate))
        #expect(DriftTestSupport.close(s.missingRateChange, e.missing_rate_change))
    }

    @Test(arguments: fixtures.numeric.map(\.name))
    func quantilesAreWithinTheSketchBound(_ name: String) throws {
        let c = try #require(Self.fixtures.numeric.first { $0.name == name })
        let column = try Self.numericColumn(c)
        let alpha = Self.fixtures.sketch_relative_accuracy
        let quantiles = try #require(column.quantiles)
        #expect(quantiles.count == c.expected.quantiles.count)
        for (key, exact) in c.expected.quantiles {
            let estimate = try #require(quantiles[DriftColumn.quantileKey(Double(key)!)], "quantile \(key)")
            // |estimate − x₍ᵣ₎| ≤ α·|x₍ᵣ₎| (plus rounding).
            #expect(abs(estimate - exact) <= alpha * abs(exact) * (1 + 1e-12) + 1e-300, "q\(key): \(estimate) vs \(exact)")
        }
    }

    @Test(arguments: fixtures.categorical.map(\.name))
    func categoricalStatisticsMatchScipy(_ name: String) throws {
        let c = try #require(Self.fixtures.categorical.first { $0.name == name })
        var monitor = DriftMonitor(
            modelName: "m", modelVersion: "1",
            schema: InputSchema(features: [.categorical("c", vocabulary: c.vocabulary, missing: .allowed, default: c.vocabulary[0])]),
            output: OutputSchema(task: .regression), baseline: ModelBaseline(features: ["c": c.baseline]),
            workerID: "w", now: DriftTestSupport.t0
        )
        for value in c.values { monitor.observe(row: [value.map(RawFeatureValue.string) ?? .missing]) }
        let columnTaken = monitor.flush(now: DriftTestSupport.t0)?.column("c")
        let column = try #require(columnTaken)
        let e = c.expected
        #expect(column.count == e.count)
        #expect(column.missing == e.missing)
        #expect(column.histogram == e.counts)
        let s = column.scores
        #expect(DriftTestSupport.close(s.psi, e.psi))
        #expect(DriftTestSupport.close(s.jensenShannon, e.jensen_shannon))
        #expect(DriftTestSupport.close(s.chiSquare, e.chi_square))
        #expect(s.chiSquareDegreesOfFreedom == e.chi_square_df)
        #expect(DriftTestSupport.close(s.chiSquarePValue, e.chi_square_p_value, tolerance: 1e-9), "p \(s.chiSquarePValue ?? .nan) vs \(e.chi_square_p_value)")
        #expect(DriftTestSupport.close(s.missingRateChange, e.missing_rate_change))
    }

    /// The incomplete gamma against values of scipy.stats.chi2.sf (computed once, listed here).
    @Test(arguments: [
        (3.84145882069412, 1, 0.05000000000000028), (0.5, 4, 0.9735009788392561), (30.0, 10, 0.000856641210775301),
        (200.0, 3, 4.218541107192018e-43), (7.0, 7, 0.42887985755305486),
    ])
    func chiSquareSurvivalMatchesScipy(_ statistic: Double, _ df: Int, _ expected: Double) {
        let p = SpecialFunctions.regularizedGammaQ(Double(df) / 2, statistic / 2)
        #expect(abs(p - expected) <= 1e-9 * expected, "\(p) vs \(expected)")
    }
}
