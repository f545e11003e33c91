extension RawFeatureValue {
    /// The JSON kind of a raw value, used in validation errors ("expected numeric, got string").
    public enum Kind: String, Sendable, Hashable, CustomStringConvertible {
        case missing, null, number, string, bool

        public var description: String { rawValue }
    }

    /// The JSON kind of this value.
    public var kind: Kind {
        switch self {
        case .missing: .missing
        case .null: .null
        case .number: .number
        case .string: .string
        case .bool: .bool
        }
    }
}
