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
    /// Evaluates batches: a native kernel, or an external runtime (ONNX Runtime).
    public let runtime: ModelRuntime
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

    /// Creates a model served by a native kernel (the bundle loader, or tests building models in memory).
    /// `kernel.inputWidth` must equal `schema.width` and `kernel.outputWidth` must equal `output.width`.
    public init(
        name: String, version: String, kind: ModelKind, schema: InputSchema, kernel: any ModelKernel, output: OutputSchema,
        baseline: ModelBaseline? = nil, reference: ReferenceRows? = nil, manifest: ModelManifest? = nil, directory: URL? = nil
    ) {
        self.init(
            name: name, version: version, kind: kind, schema: schema, runtime: .native(kernel), output: output,
            baseline: baseline, reference: reference, manifest: manifest, directory: directory)
    }

    /// Creates a model from parts, with any runtime. An encoded feed's width must equal `schema.width`
    /// and the runtime's output width must equal `output.width`.
    public init(
        name: String, version: String, kind: ModelKind, schema: InputSchema, runtime: ModelRuntime, output: OutputSchema,
        baseline: ModelBaseline? = nil, reference: ReferenceRows? = nil, manifest: ModelManifest? = nil, directory: URL? = nil
    ) {
        if case .encoded(let width) = runtime.feed {
            precondition(width == schema.width, "the runtime reads \(width) columns, schema encodes \(schema.width)")
        }
        precondition(runtime.outputWidth == output.width, "the runtime writes \(runtime.outputWidth) values, output needs \(output.width)")
        self.name = name
        self.version = version
        self.kind = kind
        self.schema = schema
        self.runtime = runtime
        self.output = output
        self.baseline = baseline
        self.reference = reference
        self.manifest = manifest
        self.directory = directory
    }

    /// The native kernel, when the model is served by one (nil for an external runtime).
    public var kernel: (any ModelKernel)? {
        if case .native(let kernel) = runtime { return kernel }
        return nil
    }

    /// Predicts a batch: one result per input row, in order, through the one scoring path
    /// (``BatchScorer``).
    ///
    /// Rows failing input validation are left out of the kernel call and get `.invalidInput`; rows
    /// whose output fails validation get `.invalidOutput`; neither affects the other rows. The kernel
    /// runs once over the packed matrix of good rows; multiclass probabilities are slices of one
    /// shared buffer.
    public func predict(_ rows: [[RawFeatureValue]]) -> [Result<PredictionOutput, PredictionError>] {
        var scorer = makeScorer(maxRows: rows.count)
        var accepted: [Int?] = []
        accepted.reserveCapacity(rows.count)
        var refused: [Int: InputValidationError] = [:]
        for (index, row) in rows.enumerated() {
            if let failure = scorer.append(row: row) {
                guard case .input(let error) = failure.cause else { preconditionFailure("a decoded row can only fail input validation") }
                refused[index] = error
                accepted.append(nil)
            } else {
                accepted.append(scorer.rowCount - 1)
            }
        }
        scorer.score()
        return accepted.enumerated().map { index, packed in
            guard let packed else { return .failure(.invalidInput(refused[index]!)) }
            return scorer.outcome(ofRow: packed).mapError { failure in
                guard case .output(let error) = failure.cause else { preconditionFailure("a scored row can only fail output validation") }
                return .invalidOutput(error)
            }
        }
    }

    /// A scorer for batches of up to `maxRows` rows.
    ///
    /// A model's feature names are unique (the bundle loader and ``InputSchema`` users guarantee
    /// it), which is all that creating the scorer's request decoder can fail on.
    public func makeScorer(maxRows: Int, maxPayloadBytes: Int = 1 << 20) -> BatchScorer {
        do {
            return try BatchScorer(model: self, maxRows: Swift.max(1, maxRows), maxPayloadBytes: maxPayloadBytes)
        } catch {
            preconditionFailure("model \(name)@\(version) cannot be scored: \(error)")
        }
    }
}
