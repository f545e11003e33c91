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
