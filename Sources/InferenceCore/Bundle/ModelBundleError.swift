/// Why a model bundle could not be loaded: a code to branch on, a message that says how to fix it,
/// and the offending path.
public struct ModelBundleError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible identifier of the failure.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The directory has no `manifest.json` (possibly still being copied).
        public static let manifestMissing = Code(rawValue: "manifest_missing")
        /// `manifest.json` is not valid JSON or lacks required fields.
        public static let manifestInvalid = Code(rawValue: "manifest_invalid")
        /// `format_version` is not one this build reads.
        public static let unsupportedFormatVersion = Code(rawValue: "unsupported_format_version")
        /// `kind` is unknown.
        public static let unsupportedKind = Code(rawValue: "unsupported_kind")
        /// A file listed in `files` does not exist (or a path escapes the bundle).
        public static let fileMissing = Code(rawValue: "file_missing")
        /// A file is used by the model but not listed in `files`, so it cannot be verified.
        public static let fileNotListed = Code(rawValue: "file_not_listed")
        /// A tensor file's size does not match its shape (truncated, or extra bytes).
        public static let sizeMismatch = Code(rawValue: "size_mismatch")
        /// A file's SHA-256 differs from the manifest's (tampered or corrupted).
        public static let digestMismatch = Code(rawValue: "digest_mismatch")
        /// Tensor shapes are inconsistent with each other or with the input/output schema.
        public static let shapeMismatch = Code(rawValue: "shape_mismatch")
        /// `input` or `output` is inconsistent (bad range, missing default, empty vocabulary, ...).
        public static let schemaInvalid = Code(rawValue: "schema_invalid")
        /// The kernel refused the model (e.g. an unparsable XGBoost file, or tree ensembles unavailable).
        public static let kernelRejected = Code(rawValue: "kernel_rejected")
        /// ONNX Runtime could not be loaded (missing library, not ONNX Runtime, too old): see the message
        /// for how to install it.
        public static let runtimeUnavailable = Code(rawValue: "runtime_unavailable")
        /// ONNX Runtime refused the `.onnx` file (corrupt, or operators it does not have).
        public static let onnxModelRejected = Code(rawValue: "onnx_model_rejected")
        /// The ONNX graph's inputs or outputs do not match the manifest (names, element types, shapes,
        /// a ZipMap output).
        public static let graphMismatch = Code(rawValue: "graph_mismatch")
        /// A weights tensor holds NaN or infinity.
        public static let nonFiniteWeights = Code(rawValue: "non_finite_weights")
        /// The bundle's reference rows do not reproduce within tolerance.
        public static let selfTestFailed = Code(rawValue: "self_test_failed")
        /// The model directory could not be listed, or holds no versions.
        public static let noVersions = Code(rawValue: "no_versions")
    }

    /// What failed.
    public var code: Code
    /// What is wrong and how to fix it.
    public var message: String
    /// The file or directory concerned.
    public var path: String?
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(code: Code, message: String, path: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.underlying = underlying
    }

    /// A missing file or manifest may be a bundle still being copied: the registry tries it again on
    /// its next poll. Everything else needs a new export.
    public var isRetriable: Bool { code == .manifestMissing || code == .fileMissing }

    public var description: String {
        var text = "ModelBundleError(\(code)): \(message)"
        if let path { text += " [\(path)]" }
        if let underlying { text += " (underlying: \(underlying))" }
        return text
    }
}
