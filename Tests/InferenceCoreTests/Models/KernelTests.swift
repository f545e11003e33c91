import Foundation
import Testing
@testable import InferenceCore

@Suite("Kernels on hand-computed values")
struct KernelTests {
    func run(_ kernel: some ModelKernel, _ input: [Float], rows: Int) -> [Float] {
        var output = [Float](repeating: -1, count: rows * kernel.outputWidth)
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { kernel.predict(input: inputBuffer, rowCount: rows, output: $0) }
        }
        return output
    }

    @Test func linear() throws {
        let kernel = try LinearKernel(weights: [2, -1], bias: 0.5)
        #expect(run(kernel, [1, 1, 0, 0, 3, 4], rows: 3) == [1.5, 0.5, 2.5])
    }

    @Test func logistic() throws {
        let kernel = try LogisticKernel(weights: [1], bias: 0)
        let output = run(kernel, [0, 100, -100], rows: 3)
        #expect(output[0] == 0.5)
        #expect(output[1] > 0.999 && output[1] <= 1)
        #expect(output[2] >= 0 && output[2] < 0.001)
    }

    @Test func softmaxRowsSumToOne() throws {
        // weights [in=2 x classes=3]
        let kernel = try SoftmaxKernel(inputWidth: 2, classCount: 3, weights: [1, 0, -1, 0, 1, 0], bias: [0, 0, 0])
        let output = run(kernel, [0, 0, 50, -50], rows: 2)
        #expect(abs(output[0] - 1.0 / 3) < 1e-6)
        #expect(abs(output[3...5].reduce(0, +) - 1) < 1e-6)
        #expect(output[3] > 0.99)
    }

    @Test func mlpChainsLayersAndActivations() throws {
        // relu(x * [1, -1]) summed plus 0.25 is |x| + 0.25
        let hidden = try DenseLayer(inputWidth: 1, outputWidth: 2, weights: [1, -1], bias: [0, 0], activation: .relu)
        let last = try DenseLayer(inputWidth: 2, outputWidth: 1, weights: [1, 1], bias: [0.25], activation: .identity)
        let kernel = try MLPKernel(layers: [hidden, last], outputActivation: .identity)
        // |x| + 0.25
        #expect(run(kernel, [3, -2, 0], rows: 3) == [3.25, 2.25, 0.25])
        let tanhLayer = try DenseLayer(inputWidth: 1, outputWidth: 1, weights: [1], bias: [0], activation: .tanh)
        let sigmoid = try MLPKernel(layers: [tanhLayer], outputActivation: .sigmoid)
        let out = run(sigmoid, [0, 1000], rows: 2)
        #expect(out[0] == 0.5)
        #expect(abs(Double(out[1]) - 1 / (1 + exp(-1.0))) < 1e-6)
    }

    @Test func inconsistentShapesAreRejected() {
        #expect(throws: KernelConfigurationError.self) {
            try DenseLayer(inputWidth: 2, outputWidth: 2, weights: [1, 2, 3], bias: [0, 0], activation: .relu)
        }
        #expect(throws: KernelConfigurationError.self) {
            let a = try DenseLayer(inputWidth: 1, outputWidth: 2, weights: [1, 1], bias: [0, 0], activation: .relu)
            let b = try DenseLayer(inputWidth: 3, outputWidth: 1, weights: [1, 1, 1], bias: [0], activation: .relu)
            _ = try MLPKernel(layers: [a, b], outputActivation: .identity)
        }
    }
}
