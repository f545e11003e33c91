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
    /// ``DeadLetterReason/oversizedPayload`` for oversized payloads; ``DeadLetterReason/requestSchemaViolation``
    /// when the JSON is a valid request envelope whose features do not fit the model (missing or
    /// mistyped `features`, a feature that is an object or array, wrong arity, unknown or repeated
    /// feature names), so that a producer sending the wrong features shows up as a schema problem;
    /// ``DeadLetterReason/malformedJSON`` for everything else.
    public var deadLetterReason: DeadLetterReason? {
        switch code {
        case .oversizedPayload: .oversizedPayload
        case .missingFeatures, .featuresWrongType, .featureWrongType, .wrongArity, .unknownFeature, .duplicateFeature: .requestSchemaViolation
        default: .malformedJSON
        }
    }
}

extension OffsetTrackingError: ClassifiedFailure {}
