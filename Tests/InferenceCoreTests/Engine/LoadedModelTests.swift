import Testing
@testable import InferenceCore

/// A kernel that copies its first input column to the output, so a test controls outputs per row.
struct EchoKernel: ModelKernel {
    var inputWidth: Int { 1 }
    var outputWidth: Int { 1 }
    func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        for row in 0..<rowCount { output[row] = input[row] }
    }
}

@Suite("LoadedModel batch prediction")
struct LoadedModelTests {
    @Test func badInputAndBadOutputRowsDoNotFailBatchMates() throws {
        let model = LoadedModel(
            name: "echo", version: "1", kind: .linear,
            schema: InputSchema(features: [.numeric("p", minimum: -5, maximum: 5)]),
            kernel: EchoKernel(), output: OutputSchema(task: .binary, labels: ["no", "yes"]))
        let results = model.predict([[.number(0.9)], [.string("x")], [.number(2)], [.number(0.1)], []])
        #expect(results.count == 5)
        #expect(try results[0].get().label == "yes")
        #expect(try results[3].get().label == "no")
        guard case .failure(.invalidInput(let input)) = results[1] else { Issue.record("row 1"); return }
        #expect(input.code == .wrongType)
        guard case .failure(.invalidOutput(let output)) = results[2] else { Issue.record("row 2"); return }
        #expect(output.code == .probabilityOutOfUnitInterval)
        guard case .failure(.invalidInput(let arity)) = results[4] else { Issue.record("row 4"); return }
        #expect(arity.code == .wrongArity)
    }

    @Test func fixtureModelPredictsLabelsAndSharedProbabilities() throws {
        let model = try ModelBundle.load(from: TestSupport.fixtureBundle("mlp-tanh-softmax"))
        let rows: [[RawFeatureValue]] = [
            [.number(50), .number(0.1), .number(0.0005), .number(3), .string("DE"), .string("web")],
            [.number(50), .number(0.1), .number(0.0005), .number(3), .string("ZZ"), .string("web")],
            [.number(5000), .missing, .number(0.0009), .null, .missing, .string("pos")],
        ]
        let results = model.predict(rows)
        for index in [0, 2] {
            guard case .success(.multiclass(let probabilities, let classIndex, let label)) = results[index] else {
                Issue.record("row \(index): \(results[index])"); continue
            }
            #expect(probabilities.count == 3)
            #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
            #expect(label == model.output.labels[classIndex])
        }
        guard case .failure(.invalidInput(let error)) = results[1] else { Issue.record("row 1"); return }
        #expect(error.feature == "country")
    }
}
