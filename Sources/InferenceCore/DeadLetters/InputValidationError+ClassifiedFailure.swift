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
