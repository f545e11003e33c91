/// Binary logistic regression: `p = sigmoid(x · w + b)`, the positive-class probability per row.
public struct LogisticKernel: ModelKernel {
    let layer: DenseLayer

    public var inputWidth: Int { layer.inputWidth }
    public var outputWidth: Int { 1 }

    /// Creates the kernel from `weights` (`[inputWidth]`, scikit-learn's `coef_[0]`) and `bias` (`intercept_[0]`).
    public init(weights: [Float], bias: Float) throws(KernelConfigurationError) {
        layer = try DenseLayer(inputWidth: weights.count, outputWidth: 1, weights: weights, bias: [bias], activation: .sigmoid)
    }

    public func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        guard rowCount > 0 else { return }
        precondition(input.count >= rowCount * inputWidth && output.count >= rowCount, "LogisticKernel: buffers smaller than rowCount")
        layer.forward(input: input.baseAddress!, rowCount: rowCount, output: output.baseAddress!)
    }
}
