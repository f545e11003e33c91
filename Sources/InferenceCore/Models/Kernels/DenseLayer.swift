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
                    // Four rows at a time: each weight row is loaded once for four rows. Every output
                    // still accumulates over inputs in order, so results equal the one-row loop's.
                    var r = 0
                    while r + 4 <= rowCount {
                        let x0 = input + r * inWidth
                        let x1 = x0 + inWidth
                        let x2 = x1 + inWidth
                        let x3 = x2 + inWidth
                        let y0 = output + r * outWidth
                        let y1 = y0 + outWidth
                        let y2 = y1 + outWidth
                        let y3 = y2 + outWidth
                        for j in 0..<outWidth {
                            let bj = b[j]
                            y0[j] = bj
                            y1[j] = bj
                            y2[j] = bj
                            y3[j] = bj
                        }
                        for i in 0..<inWidth {
                            let a0 = x0[i], a1 = x1[i], a2 = x2[i], a3 = x3[i]
                            let wRow = w + i * outWidth
                            for j in 0..<outWidth {
                                let wj = wRow[j]
                                y0[j] += a0 * wj
                                y1[j] += a1 * wj
                                y2[j] += a2 * wj
                                y3[j] += a3 * wj
                            }
                        }
                        r += 4
                    }
                    for r in r..<rowCount {
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
