/// Why an XGBoost model could not be loaded as a ``TreeEnsembleKernel``, and where in the JSON.
///
/// Loading a model is the only place a tree ensemble can fail: once built, a kernel evaluates any
/// row (NaN included) without error. Every problem the loader detects becomes one of these, never a
/// crash: a corrupt or hostile model file must not bring the worker down.
///
/// Branch on ``code`` (or on ``isUnsupportedFeature``), show ``description`` to people.
public struct TreeEnsembleError: Error, CustomStringConvertible {
    /// What kind of problem it is. Extensible: new codes may be added, so `switch` with a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The bytes are not valid JSON (truncated, not UTF-8, a syntax error).
        public static let malformedJSON = Code("malformedJSON")
        /// A field the XGBoost schema requires is absent.
        public static let missingField = Code("missingField")
        /// A field is present but its type or value is wrong (a negative count, an index out of range,
        /// arrays of different lengths, a child pointing back up the tree).
        public static let invalidField = Code("invalidField")
        /// The objective is valid XGBoost but this kernel does not evaluate it.
        public static let unsupportedObjective = Code("unsupportedObjective")
        /// The booster is not `gbtree` (for example `gblinear` or `dart`).
        public static let unsupportedBooster = Code("unsupportedBooster")
        /// The trees use a feature this kernel does not evaluate: categorical splits or
        /// vector leaves (multi-target trees).
        public static let unsupportedTreeFeature = Code("unsupportedTreeFeature")
    }

    /// What kind of problem it is.
    public let code: Code
    /// Where in the document, as a JSON path such as `learner.gradient_booster.model.trees[3].left_children[5]`;
    /// empty for the document as a whole.
    public let path: String
    /// What is wrong and, where it helps, how to fix it.
    public let message: String
    /// The error that caused this one, such as the JSON decoder's, when there is one.
    public let underlying: (any Error)?

    /// Creates an error; `path` names the JSON location.
    public init(code: Code, path: String, message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.underlying = underlying
    }

    /// True when the model is valid XGBoost but uses something this kernel does not implement:
    /// retraining or re-exporting the model differently can fix it, editing the file cannot.
    public var isUnsupportedFeature: Bool {
        code == .unsupportedObjective || code == .unsupportedBooster || code == .unsupportedTreeFeature
    }

    /// Loading the same bytes again gives the same error: never worth retrying.
    public var isRetriable: Bool { false }

    public var description: String {
        let location = path.isEmpty ? "" : " at \(path)"
        return "XGBoost model \(code)\(location): \(message)"
    }
}
