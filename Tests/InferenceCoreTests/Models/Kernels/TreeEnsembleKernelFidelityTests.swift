import Foundation
import InferenceCore
import Testing

/// The kernel against XGBoost's own predictions (fixtures made by
/// scripts/fixtures/make_xgboost_fixtures.py): edge values, NaN, every supported objective,
/// random forests.
@Suite("TreeEnsembleKernel matches XGBoost")
struct TreeEnsembleKernelFidelityTests {
    @Test("every reference row matches XGBoost's predict", arguments: XGBoostFixture.caseNames)
    func matchesXGBoost(caseName: String) throws {
        let fixture = try XGBoostFixture.load(caseName)
        let kernel = try TreeEnsembleKernel(xgboostJSON: fixture.modelJSON)
        #expect(kernel.inputWidth == fixture.meta.cols)
        #expect(kernel.outputWidth == fixture.meta.outputWidth)
        #expect(kernel.objective.name == fixture.meta.objective)
        #expect(fixture.meta.rows >= 1000)
        #expect(fixture.inputs.count == fixture.meta.rows * fixture.meta.cols)
        #expect(fixture.expected.count == fixture.meta.rows * fixture.meta.outputWidth)
        #expect(fixture.inputs.contains { $0.isNaN }, "the fixture exercises missing values")

        let actual = kernel.predictAll(fixture.inputs)
        var mismatches: [String] = []
        for index in actual.indices where !withinFidelity(actual[index], fixture.expected[index]) {
            mismatches.append("row \(index / kernel.outputWidth) output \(index % kernel.outputWidth): "
                + "\(actual[index]) vs XGBoost \(fixture.expected[index])")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }

    @Test("multiclass probabilities sum to 1", arguments: ["multiclass", "multiclass_softmax", "rf_multiclass", "xgb2_rf_multiclass"])
    func probabilitiesSumToOne(caseName: String) throws {
        let fixture = try XGBoostFixture.load(caseName)
        let kernel = try TreeEnsembleKernel(xgboostJSON: fixture.modelJSON)
        let actual = kernel.predictAll(fixture.inputs)
        for row in 0..<fixture.meta.rows {
            let probabilities = actual[(row * kernel.outputWidth)..<((row + 1) * kernel.outputWidth)]
            #expect(abs(probabilities.reduce(0, +) - 1) <= 1e-5)
            #expect(probabilities.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    @Test("results do not depend on how rows are batched")
    func batchingDoesNotChangeResults() throws {
        let fixture = try XGBoostFixture.load("rf_multiclass")
        let kernel = try TreeEnsembleKernel(xgboostJSON: fixture.modelJSON)
        let whole = kernel.predictAll(fixture.inputs)
        let width = kernel.inputWidth
        for batchSize in [1, 7, 64, 65, 130] {
            var pieces: [Float] = []
            var start = 0
            while start < fixture.meta.rows {
                let end = min(start + batchSize, fixture.meta.rows)
                pieces += kernel.predictAll(Array(fixture.inputs[(start * width)..<(end * width)]))
                start = end
            }
            #expect(pieces == whole, "batch size \(batchSize)")
        }
    }

    @Test("the fraud-trees example model reproduces its reference outputs")
    func fraudTreesExampleModel() throws {
        // models/fraud-trees/1 is at the repository root, five path components above this file.
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("models/fraud-trees/1")
        let kernel = try TreeEnsembleKernel(xgboostJSON: Data(contentsOf: directory.appendingPathComponent("model.json")))
        let inputs = XGBoostFixture.littleEndianFloats(try Data(contentsOf: directory.appendingPathComponent("reference_inputs.f32")))
        let expected = XGBoostFixture.littleEndianFloats(try Data(contentsOf: directory.appendingPathComponent("reference_outputs.f32")))
        #expect(kernel.inputWidth == 16)
        #expect(kernel.outputWidth == 1)
        #expect(kernel.objective == .binaryLogistic)
        #expect(kernel.treeCount == 100)
        #expect(expected.count == inputs.count / 16)
        let actual = kernel.predictAll(inputs)
        #expect(actual.count == expected.count)
        let mismatches = zip(actual, expected).filter { !withinFidelity($0, $1) }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }
}
