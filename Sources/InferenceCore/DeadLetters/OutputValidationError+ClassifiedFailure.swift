extension OutputValidationError: ClassifiedFailure {
    public var deadLetterReason: DeadLetterReason? { .outputValidationFailure }
}
