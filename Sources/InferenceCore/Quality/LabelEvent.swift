/// One ground-truth event from the labels topic: the id of the request it is about and the true
/// outcome, as decoded by ``LabelDecoder`` (format in docs/quality.md).
///
/// The value is kept as sent; whether it suits a model (a known class, a number for a regressor) is
/// decided when the label meets its prediction (``QualityMonitor/observe(_:)``), since one labels
/// topic may serve several model versions.
public struct LabelEvent: Sendable, Hashable {
    /// The true outcome as sent.
    public enum Value: Sendable, Hashable {
        /// A JSON string: a class name (classifiers).
        case text(String)
        /// A JSON number: a class index (classifiers; must be integral) or a target (regressors).
        case number(Double)
        /// `true` / `false`: class 1 / class 0 of a binary classifier, or 1 / 0 as a target.
        case bool(Bool)
    }

    /// The request's id, as the prediction carries it (a numeric id as its exact text).
    public var id: String
    /// The true outcome.
    public var value: Value

    /// Creates a label event.
    public init(id: String, value: Value) {
        self.id = id
        self.value = value
    }
}

/// Why a label event could not be decoded: a stable code, the byte offset and a message saying how
/// the producer can fix it. Such an event is counted (by code) and skipped; it never stops the worker.
public struct LabelDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; stable across releases, usable as a metric label.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not JSON (syntax, truncation, bad escapes or UTF-8, trailing data, nesting too deep).
        public static let malformedJSON = Code(rawValue: "malformed_json")
        /// Valid JSON whose top-level value is not an object.
        public static let notAnObject = Code(rawValue: "not_an_object")
        /// No `id`, or `id` is `null`: a label cannot be joined without one.
        public static let missingID = Code(rawValue: "missing_id")
        /// `id` is neither a string nor a number, or is an empty string.
        public static let invalidID = Code(rawValue: "invalid_id")
        /// No `label` key, or `label` is `null`.
        public static let missingLabel = Code(rawValue: "missing_label")
        /// `label` is an object or an array, or a non-finite number.
        public static let invalidLabel = Code(rawValue: "invalid_label")
        /// `id` or `label` appears twice.
        public static let duplicateKey = Code(rawValue: "duplicate_key")
        /// The payload is larger than ``LabelDecoder/maxPayloadBytes``, or empty.
        public static let oversizedPayload = Code(rawValue: "oversized_payload")
    }

    /// What went wrong.
    public var code: Code
    /// Offset in the payload where the problem was found.
    public var byteOffset: Int
    /// What is wrong and how to fix it.
    public var message: String

    /// Creates an error.
    public init(code: Code, byteOffset: Int, message: String) {
        self.code = code
        self.byteOffset = byteOffset
        self.message = message
    }

    public var description: String { "\(code) at byte \(byteOffset): \(message)" }
}

extension LabelEvent.Value {
    /// The class this label names among `classCount` classes: by name (text, looked up with
    /// `named`), by index (an integral number), or 1 / 0 (booleans, binary models only).
    func classIndex(classCount: Int, named: (String) -> Int?) -> Result<Int, QualityMonitor.Rejection> {
        switch self {
        case .text(let name):
            guard let k = named(name) else { return .failure(.unknownClass) }
            return .success(k)
        case .number(let x):
            guard x.rounded() == x, x.magnitude < 1e15 else { return .failure(.notAClassIndex) }
            let k = Int(x)
            guard k >= 0, k < classCount else { return .failure(.classIndexOutOfRange) }
            return .success(k)
        case .bool(let flag):
            guard classCount == 2 else { return .failure(.notAClassIndex) }
            return .success(flag ? 1 : 0)
        }
    }
}
