/// Multinomial logistic regression: `p = softmax(x · W + b)` with `W` row-major `[inputWidth x classes]`.
///
/// scikit-learn's `coef_` is `[classes x in]`: export `coef_.T`.
public struct SoftmaxKernel: ModelKernel {
    let layer: DenseLayer

    public var inputWidth: Int { layer.inputWidth }
    public var outputWidth: Int { layer.outputWidth }

    /// Creates the kernel; `weights` has `inputWidth * classCount` values, `bias` has `classCount`.
    public init(inputWidth: Int, classCount: Int, weights: [Float], bias: [Float]) throws(KernelConfigurationError) {
        guard classCount >= 2 else { throw KernelConfigurationError("softmax needs at least 2 classes, got \(classCount)") }
        layer = try DenseLayer(inputWidth: inputWidth, outputWidth: classCount, weights: weights, bias: bias, activation: .softmax)
    }

    public func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        guard rowCount > 0 else { return }
        precondition(input.count >= rowCount * inputWidth && output.count >= rowCount * outputWidth, "SoftmaxKernel: buffers smaller than rowCount")
        layer.forward(input: input.baseAddress!, rowCount: rowCount, output: output.baseAddress!)
    }
}
