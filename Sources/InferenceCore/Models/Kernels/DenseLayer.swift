/// A fully connected layer `y = activation(x · W + b)` with `W` stored row-major as `[inputWidth x outputWidth]`.
///
/// `[in x out]` is the layout of scikit-learn's `coefs_` and of `x @ W` in numpy, so exporters write
/// it with `W.astype('<f4').tofile(...)`; PyTorch's `nn.Linear.weight` is `[out x in]` and is
/// exported transposed (`weight.T`). With this layout the inner loop runs over contiguous output
/// columns, which vectorises.
public struct DenseLayer: Sendable {
    /// Values read per row.
    public let inputWidth: Int
    /// Values written per row.
    public let outputWidth: Int
    /// Row-major `[inputWidth x outputWidth]`.
    public let weights: [Float]
    /// `[outputWidth]`.
    public let bias: [Float]
    /// Applied after the affine map.
    public let activation: Activation

    /// Creates a layer, checking that `weights` and `bias` match the widths.
    public init(inputWidth: Int, outputWidth: Int, weights: [Float], bias: [Float], activation: Activation) throws(KernelConfigurationError) {
        guard inputWidth > 0, outputWidth > 0 else {
            throw KernelConfigurationError("layer widths must be positive, got \(inputWidth) x \(outputWidth)")
        }
        guard weights.count == inputWidth * outputWidth else {
            throw KernelConfigurationError("layer weights have \(weights.count) values, expected \(inputWidth) x \(outputWidth) = \(inputWidth * outputWidth)")
        }
        guard bias.count == outputWidth else {
            throw KernelConfigurationError("layer bias has \(bias.count) values, expected \(outputWidth)")
        }
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }

    /// Computes `rowCount` rows of `input` into `output` (row strides are the layer's widths).
    func forward(input: UnsafePointer<Float>, rowCount: Int, output: UnsafeMutablePointer<Float>) {
        let inWidth = inputWidth
        let outWidth = outputWidth
        weights.withUnsafeBufferPointer { weightBuffer in
            bias.withUnsafeBufferPointer { biasBuffer in
                let w = weightBuffer.baseAddress!
                let b = biasBuffer.baseAddress!
                if outWidth == 1 {
                    // A dot product per row; accumulated in Double because linear models often see
                    // unscaled inputs of very different magnitudes.
                    let bias0 = Double(b[0])
                    for r in 0..<rowCount {
                        let x = input + r * inWidth
                        var sum = bias0
                        for i in 0..<inWidth { sum += Double(x[i]) * Double(w[i]) }
                        output[r] = Float(sum)
                    }
                } else {
                    for r in 0..<rowCount {
                        let x = input + r * inWidth
                        let y = output + r * outWidth
                        for j in 0..<outWidth { y[j] = b[j] }
                        for i in 0..<inWidth {
                            let xi = x[i]
                            let wRow = w + i * outWidth
                            for j in 0..<outWidth { y[j] += xi * wRow[j] }
                        }
                    }
                }
            }
        }
        activation.apply(output, rowCount: rowCount, width: outWidth)
    }
}
