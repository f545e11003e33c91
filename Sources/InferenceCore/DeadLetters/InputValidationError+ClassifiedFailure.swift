extension InputValidationError: ClassifiedFailure {
    /// Values outside the declared range are `out_of_range_value`, infinities (and NaN where missing
    /// values are not allowed) `non_finite`, categories outside the vocabulary `unknown_category`,
    /// everything else a `schema_violation`.
    public var deadLetterReason: DeadLetterReason? {
        switch reason {
        case .outOfRange: .outOfRangeValue
        case .nonFinite: .nonFinite
        case .unknownCategory: .unknownCategory
        case .missing, .wrongType, .wrongArity, .unknownFeature: .schemaViolation
        }
    }
}
