/// Linear regression: `y = x · w + b`, one output per row.
public struct LinearKernel: ModelKernel {
    let layer: DenseLayer

    public var inputWidth: Int { layer.inputWidth }
    public var outputWidth: Int { 1 }

    /// Creates the kernel from `weights` (`[inputWidth]`) and the scalar `bias`.
    public init(weights: [Float], bias: Float) throws(KernelConfigurationError) {
        layer = try DenseLayer(inputWidth: weights.count, outputWidth: 1, weights: weights, bias: [bias], activation: .identity)
    }

    public func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        guard rowCount > 0 else { return }
        precondition(input.count >= rowCount * inputWidth && output.count >= rowCount, "LinearKernel: buffers smaller than rowCount")
        layer.forward(input: input.baseAddress!, rowCount: rowCount, output: output.baseAddress!)
    }
}
