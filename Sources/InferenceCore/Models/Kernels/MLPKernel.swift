/// A multi-layer perceptron: dense layers in sequence, then an output activation.
///
/// The batch goes through one layer at a time (all rows of layer 1, then all rows of layer 2), so
/// each layer's weights stay hot in cache for the whole batch. Two scratch buffers sized for the
/// widest hidden layer are allocated once per batch (on the stack when small), never per row.
public struct MLPKernel: ModelKernel {
    /// The layers, first to last; each one's `inputWidth` equals the previous one's `outputWidth`.
    public let layers: [DenseLayer]
    /// Applied after the last layer (and after that layer's own activation): sigmoid, softmax or identity.
    public let outputActivation: Activation
    let scratchWidth: Int

    public var inputWidth: Int { layers[0].inputWidth }
    public var outputWidth: Int { layers[layers.count - 1].outputWidth }

    /// Creates the kernel, checking that consecutive layers' widths chain.
    public init(layers: [DenseLayer], outputActivation: Activation) throws(KernelConfigurationError) {
        guard !layers.isEmpty else { throw KernelConfigurationError("an MLP needs at least one layer") }
        for index in layers.indices.dropFirst() where layers[index].inputWidth != layers[index - 1].outputWidth {
            throw KernelConfigurationError("layer \(index) reads \(layers[index].inputWidth) values but layer \(index - 1) writes \(layers[index - 1].outputWidth)")
        }
        self.layers = layers
        self.outputActivation = outputActivation
        self.scratchWidth = layers.dropLast().map(\.outputWidth).max() ?? 0
    }

    public func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        guard rowCount > 0 else { return }
        precondition(input.count >= rowCount * inputWidth && output.count >= rowCount * outputWidth, "MLPKernel: buffers smaller than rowCount")
        let scratchCount = Swift.max(rowCount * scratchWidth, 1)
        // Stack-allocated when small (batch 1..few dozen rows), heap otherwise; once per batch either way.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { bufferA in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { bufferB in
                let scratchA = bufferA.baseAddress!
                let scratchB = bufferB.baseAddress!
                var source = UnsafePointer(input.baseAddress!)
                var target = scratchA
                for (index, layer) in layers.enumerated() {
                    let isLast = index == layers.count - 1
                    let destination = isLast ? output.baseAddress! : target
                    layer.forward(input: source, rowCount: rowCount, output: destination)
                    source = UnsafePointer(destination)
                    target = destination == scratchA ? scratchB : scratchA
                }
            }
        }
        outputActivation.apply(output.baseAddress!, rowCount: rowCount, width: outputWidth)
    }
}
