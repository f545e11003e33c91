/// One input feature of a model: its type, allowed values, missing-value policy and preprocessing.
///
/// Built from a manifest's `input.features[i]` by the bundle loader, which rejects inconsistent specs
/// (a default outside the range, an empty vocabulary, ...), so encoding never meets them.
public struct FeatureSpec: Sendable, Hashable {
    /// The JSON kind a feature accepts.
    public enum ValueType: String, Sendable, Hashable, CustomStringConvertible {
        /// A JSON number.
        case numeric
        /// A JSON string from the vocabulary.
        case categorical

        public var description: String { rawValue }
    }

    /// Whether a feature may be absent or `null`.
    public enum MissingPolicy: String, Sendable, Hashable {
        case allowed
        case forbidden
    }

    /// How the raw value becomes the Float32 columns the kernel reads.
    public enum Encoding: Sendable, Hashable {
        /// Numeric, passed through.
        case identity
        /// Numeric, `(x - mean) / std`, computed in Double then rounded to Float32.
        case standardScale(mean: Double, std: Double)
        /// Categorical, one column per vocabulary entry: 1 for the value's column, 0 elsewhere.
        case oneHot
        /// Categorical, one column holding the vocabulary index (0, 1, 2, ...).
        case ordinal
    }

    /// The feature's name, unique in the schema.
    public var name: String
    /// The JSON kind accepted.
    public var valueType: ValueType
    /// Smallest accepted number (numeric only; inclusive); `nil` = unbounded.
    public var minimum: Double?
    /// Largest accepted number (numeric only; inclusive); `nil` = unbounded.
    public var maximum: Double?
    /// Whether the value may be missing or `null`.
    public var missing: MissingPolicy
    /// Replaces a missing numeric value (before scaling). Required when missing values are allowed,
    /// unless the kernel handles missing values natively; when declared it is used for every kernel.
    public var numericDefault: Double?
    /// Replaces a missing categorical value; must be in `vocabulary`. Used for every kernel when declared.
    public var categoricalDefault: String?
    /// The categories, in column order (categorical only).
    public var vocabulary: [String]
    /// The preprocessing applied.
    public var encoding: Encoding
    /// `vocabulary` value -> index.
    public let vocabularyIndex: [String: Int]

    /// Creates a numeric feature.
    public static func numeric(
        _ name: String, minimum: Double? = nil, maximum: Double? = nil,
        missing: MissingPolicy = .forbidden, default defaultValue: Double? = nil, encoding: Encoding = .identity
    ) -> FeatureSpec {
        FeatureSpec(name: name, valueType: .numeric, minimum: minimum, maximum: maximum, missing: missing,
                    numericDefault: defaultValue, categoricalDefault: nil, vocabulary: [], encoding: encoding)
    }

    /// Creates a categorical feature.
    public static func categorical(
        _ name: String, vocabulary: [String], missing: MissingPolicy = .forbidden,
        default defaultValue: String? = nil, encoding: Encoding = .oneHot
    ) -> FeatureSpec {
        FeatureSpec(name: name, valueType: .categorical, minimum: nil, maximum: nil, missing: missing,
                    numericDefault: nil, categoricalDefault: defaultValue, vocabulary: vocabulary, encoding: encoding)
    }

    /// Creates a feature from all of its parts.
    public init(
        name: String, valueType: ValueType, minimum: Double?, maximum: Double?, missing: MissingPolicy,
        numericDefault: Double?, categoricalDefault: String?, vocabulary: [String], encoding: Encoding
    ) {
        self.name = name
        self.valueType = valueType
        self.minimum = minimum
        self.maximum = maximum
        self.missing = missing
        self.numericDefault = numericDefault
        self.categoricalDefault = categoricalDefault
        self.vocabulary = vocabulary
        self.encoding = encoding
        var index: [String: Int] = [:]
        for (i, value) in vocabulary.enumerated() where index[value] == nil { index[value] = i }
        self.vocabularyIndex = index
    }

    /// Float32 columns this feature occupies in the preprocessed row.
    public var width: Int {
        if case .oneHot = encoding { return vocabulary.count }
        return 1
    }

    /// Checks the spec's internal consistency; returns the problem, or `nil` when it is consistent.
    ///
    /// - Parameter nativeMissing: the kernel accepts NaN for missing values, so no default is needed.
    public func consistencyProblem(nativeMissing: Bool) -> String? {
        if name.isEmpty { return "name is empty" }
        switch valueType {
        case .numeric:
            switch encoding {
            case .oneHot, .ordinal: return "one_hot/ordinal apply to categorical features only"
            case .standardScale(let mean, let std):
                if !mean.isFinite || !std.isFinite || std <= 0 { return "standard_scale needs a finite mean and a finite std > 0, got mean \(mean), std \(std)" }
            case .identity: break
            }
            if let lo = minimum, !lo.isFinite { return "min must be finite" }
            if let hi = maximum, !hi.isFinite { return "max must be finite" }
            if let lo = minimum, let hi = maximum, lo > hi { return "min \(lo) is greater than max \(hi)" }
            if let value = numericDefault {
                if !value.isFinite { return "default must be finite" }
                if let lo = minimum, value < lo { return "default \(value) is below min \(lo)" }
                if let hi = maximum, value > hi { return "default \(value) is above max \(hi)" }
            }
            if categoricalDefault != nil { return "a numeric feature needs a numeric default" }
            if missing == .allowed && numericDefault == nil && !nativeMissing {
                return "missing is 'allowed' but there is no default: add \"default\" (this model kind cannot take NaN)"
            }
        case .categorical:
            switch encoding {
            case .identity, .standardScale: return "a categorical feature needs one_hot or ordinal preprocessing"
            case .oneHot, .ordinal: break
            }
            if vocabulary.isEmpty { return "vocabulary is empty" }
            if vocabularyIndex.count != vocabulary.count { return "vocabulary has duplicate entries" }
            if minimum != nil || maximum != nil { return "min/max apply to numeric features only" }
            if numericDefault != nil { return "a categorical feature needs a string default" }
            if let value = categoricalDefault, vocabularyIndex[value] == nil { return "default '\(value)' is not in the vocabulary" }
            if missing == .allowed && categoricalDefault == nil && !nativeMissing {
                return "missing is 'allowed' but there is no default: add \"default\" (this model kind cannot take NaN)"
            }
        }
        return nil
    }
}
