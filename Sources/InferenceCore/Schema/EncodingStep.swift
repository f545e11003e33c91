/// A feature's encoding reduced to trivial values, so the per-value loop does no reference counting.
struct EncodingStep: Sendable {
    enum Operation: Sendable { case numeric, oneHot, ordinal }

    var operation: Operation
    var width: Int
    var missingAllowed: Bool
    /// The feature declares a `default`; a missing value takes it even when the kernel handles NaN.
    var hasDefault: Bool
    /// -infinity / +infinity when unbounded.
    var minimum: Double
    var maximum: Double
    var numericDefault: Double
    /// Vocabulary index of the categorical default (0 when none: the loader rejects missing-allowed features without one).
    var categoryDefault: Int
    var scales: Bool
    var mean: Double
    var std: Double

    init(_ feature: FeatureSpec) {
        switch feature.encoding {
        case .identity, .standardScale: operation = feature.valueType == .numeric ? .numeric : .oneHot
        case .oneHot: operation = .oneHot
        case .ordinal: operation = .ordinal
        }
        width = feature.width
        missingAllowed = feature.missing == .allowed
        hasDefault = feature.numericDefault != nil || feature.categoricalDefault != nil
        minimum = feature.minimum ?? -.infinity
        maximum = feature.maximum ?? .infinity
        numericDefault = feature.numericDefault ?? 0
        categoryDefault = feature.categoricalDefault.flatMap { feature.vocabularyIndex[$0] } ?? 0
        if case .standardScale(let mean, let std) = feature.encoding {
            scales = true
            self.mean = mean
            self.std = std
        } else {
            scales = false
            mean = 0
            std = 1
        }
    }
}
