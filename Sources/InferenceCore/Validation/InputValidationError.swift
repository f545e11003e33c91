/// Why one input row was rejected: names the feature (when there is one) and the reason.
///
/// Bad input is never retriable: the same row fails the same way on every attempt, so the dead-letter
/// policy can read `isRetriable == false` and route the row to the dead-letter topic at once.
/// The request decoder reuses `.wrongArity(expected:got:)` and `.unknownFeature(_:)`; the input schema
/// produces the per-feature reasons.
public struct InputValidationError: Error, Sendable, CustomStringConvertible {
    /// The reason a row or one of its values was rejected.
    public enum Reason: Sendable {
        /// The feature is absent or `null` and the schema declares `"missing": "forbidden"`.
        case missing
        /// The value has the wrong JSON kind (a string for a numeric feature, a number or bool for a categorical one).
        case wrongType(expected: FeatureSpec.ValueType, got: RawFeatureValue.Kind)
        /// The number is infinite (`Infinity`, `-Infinity`, or beyond the range of a double), or NaN
        /// for a feature that does not allow missing values (elsewhere NaN counts as missing).
        case nonFinite(Double)
        /// The number lies outside the feature's declared `[min, max]`.
        case outOfRange(value: Double, min: Double?, max: Double?)
        /// The string is not in the feature's vocabulary.
        case unknownCategory(String)
        /// The row has a different number of values than the schema has features (request decoder).
        case wrongArity(expected: Int, got: Int)
        /// The request names a feature the schema does not have (request decoder).
        case unknownFeature(String)
    }

    /// A stable, machine-readable identifier of the reason, for metrics labels and dead-letter headers.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let missing = Code(rawValue: "missing_feature")
        public static let wrongType = Code(rawValue: "wrong_type")
        public static let nonFinite = Code(rawValue: "non_finite")
        public static let outOfRange = Code(rawValue: "out_of_range")
        public static let unknownCategory = Code(rawValue: "unknown_category")
        public static let wrongArity = Code(rawValue: "wrong_arity")
        public static let unknownFeature = Code(rawValue: "unknown_feature")
    }

    /// The feature the error is about; `nil` for row-level errors (wrong arity).
    public var feature: String?
    /// Why the value or row was rejected.
    public var reason: Reason

    /// Creates an error about `feature` (or the whole row when `nil`).
    public init(feature: String?, reason: Reason) {
        self.feature = feature
        self.reason = reason
    }

    /// The row has `got` values but the schema has `expected` features.
    public static func wrongArity(expected: Int, got: Int) -> InputValidationError {
        InputValidationError(feature: nil, reason: .wrongArity(expected: expected, got: got))
    }

    /// The request carries a feature named `name` that the schema does not declare.
    public static func unknownFeature(_ name: String) -> InputValidationError {
        InputValidationError(feature: name, reason: .unknownFeature(name))
    }

    /// Bad input fails the same way every time: never retry it.
    public var isRetriable: Bool { false }

    /// The machine-readable reason.
    public var code: Code {
        switch reason {
        case .missing: .missing
        case .wrongType: .wrongType
        case .nonFinite: .nonFinite
        case .outOfRange: .outOfRange
        case .unknownCategory: .unknownCategory
        case .wrongArity: .wrongArity
        case .unknownFeature: .unknownFeature
        }
    }

    /// A human message saying what was wrong and what the sender should do.
    public var message: String {
        let name = feature.map { "feature '\($0)'" } ?? "row"
        switch reason {
        case .missing:
            return "\(name) is missing or null, and the model's schema does not allow missing values for it: send a value"
        case .wrongType(let expected, let got):
            return "\(name) has a \(got) value, expected \(expected == .numeric ? "a number" : "a string (category)")"
        case .nonFinite(let value) where value.isNaN:
            return "\(name) is NaN, which counts as missing, and the model's schema does not allow missing values for it: send a number"
        case .nonFinite(let value):
            return "\(name) is \(value): only finite numbers are accepted"
        case .outOfRange(let value, let min, let max):
            let lo = min.map { "\($0)" } ?? "-inf"
            let hi = max.map { "\($0)" } ?? "+inf"
            return "\(name) is \(value), outside the declared range [\(lo), \(hi)]"
        case .unknownCategory(let value):
            return "\(name) has category '\(value)', which is not in the model's vocabulary"
        case .wrongArity(let expected, let got):
            return "row has \(got) values but the model expects \(expected) features"
        case .unknownFeature(let unknown):
            return "feature '\(unknown)' is not in the model's input schema: remove it or check its spelling"
        }
    }

    public var description: String { "InputValidationError(\(code)): \(message)" }
}
