public import Foundation

/// A verified model ready to serve: its identity, input schema, kernel, output schema and baseline.
///
/// A value: the registry hands out the current one, and a batch that grabbed it finishes on it even if
/// a newer version is swapped in meanwhile.
public struct LoadedModel: Sendable {
    /// The model's name (`<root>/<name>/`).
    public let name: String
    /// The version (`<root>/<name>/<version>/`).
    public let version: String
    /// The model family.
    public let kind: ModelKind
    /// Validates and encodes raw rows.
    public let schema: InputSchema
    /// Evaluates encoded batches.
    public let kernel: any ModelKernel
    /// Validates and interprets outputs.
    public let output: OutputSchema
    /// Training distributions for drift monitoring, if the bundle has them.
    public let baseline: ModelBaseline?
    /// Reference rows for self-test, if the bundle has them.
    public let reference: ReferenceRows?
    /// The decoded manifest, if loaded from a bundle.
    public let manifest: ModelManifest?
    /// The bundle directory, if loaded from a bundle.
    public let directory: URL?

    /// Creates a model from parts (the bundle loader, or tests building models in memory).
    /// `kernel.inputWidth` must equal `schema.width` and `kernel.outputWidth` must equal `output.width`.
    public init(
        name: String, version: String, kind: ModelKind, schema: InputSchema, kernel: any ModelKernel, output: OutputSchema,
        baseline: ModelBaseline? = nil, reference: ReferenceRows? = nil, manifest: ModelManifest? = nil, directory: URL? = nil
    ) {
        precondition(kernel.inputWidth == schema.width, "kernel reads \(kernel.inputWidth) columns, schema encodes \(schema.width)")
        precondition(kernel.outputWidth == output.width, "kernel writes \(kernel.outputWidth) values, output needs \(output.width)")
        self.name = name
        self.version = version
        self.kind = kind
        self.schema = schema
        self.kernel = kernel
        self.output = output
        self.baseline = baseline
        self.reference = reference
        self.manifest = manifest
        self.directory = directory
    }

    /// Predicts a batch: one result per input row, in order.
    ///
    /// Rows failing input validation are left out of the kernel call and get `.invalidInput`; rows
    /// whose output fails validation get `.invalidOutput`; neither affects the other rows. The kernel
    /// runs once over the packed matrix of good rows; multiclass probabilities are slices of one
    /// shared buffer.
    public func predict(_ rows: [[RawFeatureValue]]) -> [Result<PredictionOutput, PredictionError>] {
        predict(encoded: schema.encode(rows: rows))
    }

    /// Predicts an already encoded batch (see `InputSchema.encode(rows:)`).
    public func predict(encoded batch: EncodedBatch) -> [Result<PredictionOutput, PredictionError>] {
        let width = kernel.outputWidth
        let outputs = evaluate(batch)
        return batch.rows.map { status in
            switch status {
            case .rejected(let error):
                return .failure(.invalidInput(error))
            case .packed(let index):
                return output.interpret(outputs[(index * width)..<((index + 1) * width)]).mapError { .invalidOutput($0) }
            }
        }
    }

    /// Runs the kernel over the packed rows of `batch`; `packedCount * kernel.outputWidth` raw outputs.
    public func evaluate(_ batch: EncodedBatch) -> [Float] {
        precondition(batch.width == kernel.inputWidth, "batch encoded for width \(batch.width), kernel reads \(kernel.inputWidth)")
        let rowCount = batch.packedCount
        var outputs = [Float](repeating: 0, count: rowCount * kernel.outputWidth)
        guard rowCount > 0 else { return outputs }
        batch.matrix.withUnsafeBufferPointer { input in
            outputs.withUnsafeMutableBufferPointer { output in
                kernel.predict(input: input, rowCount: rowCount, output: output)
            }
        }
        return outputs
    }
}
