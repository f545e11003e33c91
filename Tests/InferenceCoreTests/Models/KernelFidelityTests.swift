import Foundation
import Testing
@testable import InferenceCore

/// Every kernel kind against outputs computed by scikit-learn in float64
/// (scripts/fixtures/make_sklearn_fixtures.py).
@Suite("Kernel fidelity against scikit-learn")
struct KernelFidelityTests {
    @Test("fixture reproduces within 1e-5 relative", arguments: TestSupport.fixtureNames)
    func fixtureReproduces(name: String) throws {
        // Loading runs the self-test too; run it without, so a failure shows the figures below.
        let model = try ModelBundle.load(from: TestSupport.fixtureBundle(name), options: .init(runSelfTest: false))
        let reference = try #require(model.reference)
        #expect(reference.rowCount >= 1000)

        let rows = (0..<reference.rowCount).map { reference.rawRow($0, schema: model.schema) }
        let results = model.predict(rows)
        let width = model.output.width
        var maxScaled = 0.0
        for (row, result) in results.enumerated() {
            let prediction = try result.get()
            let actual: [Float]
            switch prediction {
            case .regression(let score), .binary(let score, _, _): actual = [score]
            case .multiclass(let probabilities, _, _), .multiOutputRegression(let probabilities): actual = Array(probabilities)
            }
            for column in 0..<width {
                let expected = Double(reference.expectedOutputs[row * width + column])
                // Float32 kernel vs float64 scikit-learn: relative 1e-5, with an absolute floor of 1e-5
                // for values below 1 (probabilities near 0, scores near 0), where relative error is meaningless.
                let scaled = abs(Double(actual[column]) - expected) / max(abs(expected), 1)
                maxScaled = max(maxScaled, scaled)
                #expect(scaled <= 1e-5, "row \(row) output \(column): \(actual[column]) vs \(expected)")
            }
        }
        let report = try #require(model.selfTest())
        #expect(report.passed, "\(report.summary)")
        #expect(report.maxScaledError == maxScaled || abs(report.maxScaledError - maxScaled) < 1e-12)
    }

    @Test("reference rows exercise missing values, range bounds and zeros", arguments: TestSupport.fixtureNames)
    func referenceRowsCoverEdges(name: String) throws {
        let model = try ModelBundle.load(from: TestSupport.fixtureBundle(name), options: .init(runSelfTest: false))
        let reference = try #require(model.reference)
        let rows = (0..<reference.rowCount).map { reference.rawRow($0, schema: model.schema) }
        for (position, feature) in model.schema.features.enumerated() {
            let values = rows.map { $0[position] }
            if feature.missing == .allowed {
                #expect(values.contains(.missing), "\(feature.name) has no missing reference value")
            }
            if let lo = feature.minimum, let hi = feature.maximum {
                #expect(values.contains(.number(lo)) && values.contains(.number(hi)), "\(feature.name) bounds not exercised")
            }
        }
    }

    @Test("the demo model fraud-mlp loads, self-tests and has a full baseline")
    func demoModel() throws {
        // The demo bundle lives in models/ at the repository root.
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let model = try ModelBundle.load(from: repository.appendingPathComponent("models/fraud-mlp/1"))
        #expect(model.kind == .mlp)
        #expect(model.schema.features.count == 16)
        #expect(model.output.labels == ["legit", "fraud"])
        let mlp = try #require(model.kernel as? MLPKernel)
        #expect(mlp.layers.map(\.outputWidth) == [32, 2])
        #expect(mlp.outputActivation == .softmax)
        let baseline = try #require(model.baseline)
        #expect(baseline.features.count == 16)
        #expect(baseline.features.values.allSatisfy { $0.binEdges != nil && $0.quantiles?["0.5"] != nil })
        #expect(baseline.output?.categories?.keys.sorted() == ["fraud", "legit"])
        #expect(try #require(model.selfTest()).passed)
    }
}
