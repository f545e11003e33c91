/// Why a request payload could not be decoded: a stable code, the byte offset where the problem was
/// found, and a message that names the feature where one is concerned.
///
/// JSON-level problems only; whether a decoded value suits the model (type, range, category) is the
/// input schema's business. Every such error dead-letters the record (see ``ClassifiedFailure``).
public struct RequestDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; stable across releases, used in metrics and dead-letter headers.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not JSON: syntax error, truncated document, invalid number, string escape or UTF-8, trailing data.
        public static let malformedJSON = Code(rawValue: "malformed_json")
        /// Valid JSON, but the top-level value is not an object.
        public static let notAnObject = Code(rawValue: "not_an_object")
        /// No `features` key.
        public static let missingFeatures = Code(rawValue: "missing_features")
        /// `features` is neither an array nor an object.
        public static let featuresWrongType = Code(rawValue: "features_wrong_type")
        /// A feature's value is an object or an array (features are scalars).
        public static let featureWrongType = Code(rawValue: "feature_wrong_type")
        /// An array of features whose length differs from the model's feature count.
        public static let wrongArity = Code(rawValue: "wrong_arity")
        /// A key of the `features` object that is not one of the model's features.
        public static let unknownFeature = Code(rawValue: "unknown_feature")
        /// A feature given twice in the `features` object.
        public static let duplicateFeature = Code(rawValue: "duplicate_feature")
        /// `id` or `features` given twice at the top level.
        public static let duplicateKey = Code(rawValue: "duplicate_key")
        /// `id` is neither a string, a number nor null.
        public static let invalidID = Code(rawValue: "invalid_id")
        /// The payload is larger than the configured maximum.
        public static let oversizedPayload = Code(rawValue: "oversized_payload")
        /// Objects or arrays nested deeper than the configured maximum.
        public static let nestingTooDeep = Code(rawValue: "nesting_too_deep")
    }

    /// What went wrong.
    public var code: Code
    /// Offset in the payload (bytes from its start) where the problem was detected.
    public var byteOffset: Int
    /// What is wrong and how the producer can fix it.
    public var message: String
    /// The feature concerned, when there is one.
    public var feature: String?
    /// For ``Code/wrongArity``: the model's feature count.
    public var expectedCount: Int?
    /// For ``Code/wrongArity``: the number of values in the request.
    public var actualCount: Int?

    /// Creates an error.
    public init(code: Code, byteOffset: Int, message: String, feature: String? = nil, expectedCount: Int? = nil, actualCount: Int? = nil) {
        self.code = code
        self.byteOffset = byteOffset
        self.message = message
        self.feature = feature
        self.expectedCount = expectedCount
        self.actualCount = actualCount
    }

    /// `code at byte N: message`.
    public var description: String { "\(code.rawValue) at byte \(byteOffset): \(message)" }
}
