/// Why a record went to the dead-letter topic: a stable machine-readable code plus the Kafka Connect
/// context (stage, class names) written into the dead letter's headers.
///
/// A struct with static members rather than an enum so that new reasons can be added without
/// breaking exhaustive switches elsewhere (as swift-nio does with its error codes).
/// `stage` uses Kafka Connect's `Stage` enum names (`VALUE_CONVERTER`, `TRANSFORMATION`, `TASK_PUT`),
/// so that tooling built for Connect's dead letters reads ours unchanged.
public struct DeadLetterReason: Hashable, Sendable, CustomStringConvertible {
    /// Stable code, written as `inference.errors.reason` (e.g. `malformed_json`).
    public var code: String
    /// Kafka Connect stage name, written as `__connect.errors.stage`.
    public var stage: String
    /// The component that failed, written as `__connect.errors.class.name`.
    public var className: String
    /// The error type, written as `__connect.errors.exception.class.name`.
    public var exceptionClassName: String

    /// Creates a reason; prefer the predefined ones.
    public init(code: String, stage: String, className: String, exceptionClassName: String) {
        self.code = code
        self.stage = stage
        self.className = className
        self.exceptionClassName = exceptionClassName
    }

    public var description: String { code }

    /// The payload is not valid JSON, or not the request shape (no `features`, wrong arity, unknown
    /// feature name...).
    public static let malformedJSON = DeadLetterReason(code: "malformed_json", stage: "VALUE_CONVERTER", className: "InferenceCore.RequestDecoder", exceptionClassName: "InferenceCore.RequestDecodingError")
    /// The payload exceeds the configured maximum size.
    public static let oversizedPayload = DeadLetterReason(code: "oversized_payload", stage: "VALUE_CONVERTER", className: "InferenceCore.RequestDecoder", exceptionClassName: "InferenceCore.RequestDecodingError")
    /// The request is valid JSON but its features do not fit the model's feature list (wrong arity,
    /// unknown or repeated names, nested values, no `features`): found by the request decoder.
    public static let requestSchemaViolation = DeadLetterReason(code: "schema_violation", stage: "VALUE_CONVERTER", className: "InferenceCore.RequestDecoder", exceptionClassName: "InferenceCore.RequestDecodingError")
    /// A feature has the wrong type or a required feature is missing, per the model's input schema.
    public static let schemaViolation = DeadLetterReason(code: "schema_violation", stage: "TRANSFORMATION", className: "InferenceCore.InputSchema", exceptionClassName: "InferenceCore.InputValidationError")
    /// A numeric feature lies outside the schema's allowed range.
    public static let outOfRangeValue = DeadLetterReason(code: "out_of_range_value", stage: "TRANSFORMATION", className: "InferenceCore.InputSchema", exceptionClassName: "InferenceCore.InputValidationError")
    /// A feature is `Infinity` / `-Infinity` (or a number beyond the range of a double), or `NaN` where
    /// the schema does not allow missing values (elsewhere `NaN` counts as missing).
    public static let nonFinite = DeadLetterReason(code: "non_finite", stage: "TRANSFORMATION", className: "InferenceCore.InputSchema", exceptionClassName: "InferenceCore.InputValidationError")
    /// A categorical feature has a category the model was not trained with and the schema has no fallback.
    public static let unknownCategory = DeadLetterReason(code: "unknown_category", stage: "TRANSFORMATION", className: "InferenceCore.InputSchema", exceptionClassName: "InferenceCore.InputValidationError")
    /// The model failed on this record (after any retries).
    public static let modelFailure = DeadLetterReason(code: "model_failure", stage: "TASK_PUT", className: "InferenceWorker.ModelRunner", exceptionClassName: "InferenceCore.ModelError")
    /// The model produced an output that fails validation (NaN, probabilities not summing to 1...).
    public static let outputValidationFailure = DeadLetterReason(code: "output_validation_failure", stage: "TASK_PUT", className: "InferenceWorker.ModelRunner", exceptionClassName: "InferenceCore.OutputValidationError")

    /// Every predefined reason. Codes repeat (`schema_violation` from the decoder and from the input
    /// schema); use `Set(allPredefined.map(\.code))` for a metrics label set.
    public static let allPredefined: [DeadLetterReason] = [
        .malformedJSON, .oversizedPayload, .requestSchemaViolation, .schemaViolation, .outOfRangeValue, .nonFinite, .unknownCategory, .modelFailure, .outputValidationFailure,
    ]
}
