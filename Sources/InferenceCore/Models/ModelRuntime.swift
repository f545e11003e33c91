/// What evaluates a model's batches: a native kernel (infallible, on the encoded matrix) or an external
/// runtime (ONNX Runtime) that can fail on a batch and may read the raw feature values instead.
///
/// ``BatchScorer`` is the only caller: it packs accepted rows, runs the runtime once per batch and, for
/// an external runtime that fails, isolates the failing rows by rerunning halves of the batch, so a bad
/// row never fails its batch-mates.
public enum ModelRuntime: Sendable {
    /// A kernel of this package (linear, logistic, softmax, MLP, tree ensembles): the fast path.
    case native(any ModelKernel)
    /// A runtime outside this package, reached through a C API.
    case external(any ExternalModelKernel)

    /// Float32 values written per row.
    public var outputWidth: Int {
        switch self {
        case .native(let kernel): kernel.outputWidth
        case .external(let kernel): kernel.outputWidth
        }
    }

    /// What the runtime reads per row.
    public var feed: ModelFeed {
        switch self {
        case .native(let kernel): .encoded(width: kernel.inputWidth)
        case .external(let kernel): kernel.feed
        }
    }
}

/// What a model runtime reads per row.
public enum ModelFeed: Sendable, Hashable {
    /// The worker's preprocessing output: `width` Float32 columns (scaled numerics, one-hot or ordinal
    /// categoricals), the ``InputSchema`` encoding.
    case encoded(width: Int)
    /// The validated raw value of every feature (after the schema's `default` replaced a missing one);
    /// the model does its own preprocessing (an ONNX graph with its scaler and one-hot encoder).
    case rawFeatures
}

/// One batch as an external runtime reads it: both the encoded matrix and the raw feature columns,
/// for the rows `0..<rowCount` (views into the scorer's buffers, valid for the call only).
public struct ModelBatchInput {
    /// Row-major encoded rows, `encodedWidth` values per row (filled for every feed).
    public let encoded: UnsafeBufferPointer<Float>
    /// Columns per encoded row.
    public let encodedWidth: Int
    /// Column-major raw values, filled only for ``ModelFeed/rawFeatures``: feature `f` of row `r` is
    /// `raw[f * rawStride + r]`. A numeric feature holds its number (a bool as 0 or 1); a categorical
    /// feature its vocabulary index; NaN is a missing value the schema left missing (no `default`).
    public let raw: UnsafeBufferPointer<Double>
    /// Distance between two raw columns (the scorer's largest batch).
    public let rawStride: Int

    /// Creates a view of a batch's buffers.
    public init(encoded: UnsafeBufferPointer<Float>, encodedWidth: Int, raw: UnsafeBufferPointer<Double>, rawStride: Int) {
        self.encoded = encoded
        self.encodedWidth = encodedWidth
        self.raw = raw
        self.rawStride = rawStride
    }
}

/// A model evaluated by a runtime outside this package (ONNX Runtime), which may fail on a batch.
///
/// Implementations are thread-safe: one instance serves every scorer of its model version.
public protocol ExternalModelKernel: Sendable {
    /// What the runtime reads per row.
    var feed: ModelFeed { get }
    /// Float32 values written per row (the ``OutputSchema`` width).
    var outputWidth: Int { get }

    /// Evaluates the rows `rows` of `input` into `output` (row-major, `rows.count * outputWidth`
    /// values, the first for `rows.lowerBound`).
    ///
    /// - Parameters:
    ///   - input: the batch's encoded matrix and raw columns.
    ///   - rows: the rows to evaluate (the scorer reruns sub-ranges to isolate a failing row).
    ///   - output: where the outputs of `rows` go.
    /// - Throws: ``ModelRuntimeError`` when the runtime refuses the batch (a value the graph cannot take,
    ///   an output of the wrong shape); `output` then holds garbage.
    func predict(_ input: ModelBatchInput, rows: Range<Int>, output: UnsafeMutableBufferPointer<Float>) throws(ModelRuntimeError)
}

/// A model runtime refused a batch or a model: a code, and a message saying what failed and how to fix it.
public struct ModelRuntimeError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible identifier of the failure.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The runtime library could not be loaded (missing, not ONNX Runtime, too old).
        public static let libraryUnavailable = Code(rawValue: "runtime_library_unavailable")
        /// The model file is corrupt or uses operators the runtime lacks.
        public static let modelRejected = Code(rawValue: "runtime_model_rejected")
        /// The model's inputs or outputs do not match the bundle's manifest.
        public static let signatureMismatch = Code(rawValue: "runtime_signature_mismatch")
        /// Running a batch failed.
        public static let runFailed = Code(rawValue: "runtime_run_failed")
        /// An output had the wrong type or shape at run time.
        public static let badOutput = Code(rawValue: "runtime_bad_output")
        /// A raw value cannot be given to the model's input (e.g. a fraction for an int64 input).
        public static let unrepresentableInput = Code(rawValue: "runtime_unrepresentable_input")
    }

    /// What failed.
    public var code: Code
    /// What is wrong and how to fix it.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// A missing library or a refused model needs an operator's fix; a batch failure is the rows'.
    public var isRetriable: Bool { false }

    public var description: String { "ModelRuntimeError(\(code)): \(message)" }
}
