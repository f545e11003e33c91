import Testing
@testable import InferenceCore

@Suite("Output validation and interpretation")
struct OutputSchemaTests {
    func reason(_ schema: OutputSchema, _ values: [Float]) -> OutputValidationError.Reason? {
        if case .failure(let error) = schema.interpret(values[...]) { return error.reason }
        return nil
    }

    @Test func regression() throws {
        let schema = OutputSchema(task: .regression, range: -10...10)
        guard case .regression(let score) = try schema.interpret([3.5][...]).get() else { Issue.record("not regression"); return }
        #expect(score == 3.5)
        guard case .outOfRange(11, -10, 10)? = reason(schema, [11]) else { Issue.record("out of range"); return }
        guard case .nonFinite(0, _)? = reason(schema, [.nan]) else { Issue.record("NaN"); return }
        guard case .nonFinite? = reason(OutputSchema(task: .regression), [.infinity]) else { Issue.record("inf"); return }
    }

    @Test func binaryThresholdAndLabels() throws {
        let schema = OutputSchema(task: .binary, labels: ["legit", "fraud"], threshold: 0.7)
        let high = try schema.interpret([0.7][...]).get()
        #expect(high.label == "fraud")
        #expect(high.score == 0.7)
        let low = try schema.interpret([0.69][...]).get()
        guard case .binary(_, "legit", false) = low else { Issue.record("\(low)"); return }
        guard case .probabilityOutOfUnitInterval(0, 1.5)? = reason(schema, [1.5]) else { Issue.record("above 1"); return }
        guard case .probabilityOutOfUnitInterval? = reason(schema, [-0.2]) else { Issue.record("below 0"); return }
        guard case .nonFinite? = reason(schema, [.nan]) else { Issue.record("NaN"); return }
        let ranged = OutputSchema(task: .binary, range: 0...0.9)
        guard case .outOfRange? = reason(ranged, [0.95]) else { Issue.record("range"); return }
        #expect(OutputSchema(task: .binary).labels == ["0", "1"])
    }

    @Test func multiclass() throws {
        let schema = OutputSchema(task: .multiclass, labels: ["a", "b", "c"], sumTolerance: 1e-4)
        let shared: [Float] = [9, 0.2, 0.5, 0.3, 9]
        let prediction = try schema.interpret(shared[1..<4]).get()
        guard case .multiclass(let probabilities, 1, "b") = prediction else { Issue.record("\(prediction)"); return }
        #expect(Array(probabilities) == [0.2, 0.5, 0.3])
        #expect(prediction.score == 0.5)
        guard case .probabilitySum(let sum, 1e-4)? = reason(schema, [0.2, 0.5, 0.2]) else { Issue.record("sum"); return }
        #expect(abs(sum - 0.9) < 1e-6)
        #expect(reason(schema, [0.2, 0.5, 0.30005]) == nil)  // within tolerance
        guard case .probabilityOutOfUnitInterval(2, _)? = reason(schema, [0.6, 0.6, -0.2]) else { Issue.record("negative"); return }
        guard case .nonFinite(1, _)? = reason(schema, [0.5, .nan, 0.5]) else { Issue.record("NaN"); return }
    }

    @Test func consistency() {
        #expect(OutputSchema(task: .multiclass, labels: ["only"]).consistencyProblem() != nil)
        #expect(OutputSchema(task: .binary, labels: ["a", "b"], threshold: 1.5).consistencyProblem() != nil)
        #expect(OutputSchema(task: .regression, labels: ["x"]).consistencyProblem() != nil)
        #expect(OutputSchema(task: .multiclass, labels: ["a", "b"]).consistencyProblem() == nil)
    }

    @Test func errorsCarryCodesAndMessages() {
        let error = OutputValidationError(reason: .probabilitySum(sum: 0.9, tolerance: 1e-4))
        #expect(error.code == .probabilitySum)
        #expect(error.message.contains("0.9"))
        #expect(!error.isRetriable)
    }
}
