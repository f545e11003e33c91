/// An error that says how the pipeline should treat it; ``DeadLetterPolicy`` reads these flags.
///
/// - `isFatal`: stop the worker (a bug, lost invariants, configuration that cannot work);
/// - `isRetriable`: a transient condition (timeout, broker unavailable): try the same record again later;
/// - `deadLetterReason`: the record itself is bad: send it to the dead-letter topic with this reason.
public protocol ClassifiedFailure: Error {
    /// The error is transient and the same operation may succeed later.
    var isRetriable: Bool { get }
    /// The worker must stop: continuing could lose or corrupt data.
    var isFatal: Bool { get }
    /// The reason to dead-letter the record with, when the record (not the system) is at fault.
    var deadLetterReason: DeadLetterReason? { get }
}

extension ClassifiedFailure {
    public var isRetriable: Bool { false }
    public var isFatal: Bool { false }
    public var deadLetterReason: DeadLetterReason? { nil }
}

extension RequestDecodingError: ClassifiedFailure {
    /// Unparseable bytes are `malformed_json`; well-formed JSON of the wrong shape for the model
    /// (arity, unknown or duplicate feature, a feature that is an object) is a `schema_violation`;
    /// an oversized payload is `oversized_payload`.
    public var deadLetterReason: DeadLetterReason? {
        switch code {
        case .oversizedPayload: .oversizedPayload
        case .wrongArity, .unknownFeature, .duplicateFeature, .missingFeatures, .featuresWrongType, .featureWrongType: .schemaViolation
        default: .malformedJSON
        }
    }
}

extension InputValidationError: ClassifiedFailure {
    /// Values outside the declared range (or not finite) are `out_of_range_value`, categories
    /// outside the vocabulary `unknown_category`, everything else a `schema_violation`.
    public var deadLetterReason: DeadLetterReason? {
        switch reason {
        case .outOfRange, .nonFinite: .outOfRangeValue
        case .unknownCategory: .unknownCategory
        case .missing, .wrongType, .wrongArity, .unknownFeature: .schemaViolation
        }
    }
}

extension OutputValidationError: ClassifiedFailure {
    public var deadLetterReason: DeadLetterReason? { .outputValidationFailure }
}

extension OffsetTrackingError: ClassifiedFailure {}
