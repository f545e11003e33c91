/// Something about a bundle that loads but that `model validate` cannot vouch for: the bundle is
/// served, yet a wrong export (transposed weights, features in the wrong order, a wrong `default`)
/// could pass unnoticed. `model validate --strict` turns warnings into failure.
public struct ModelBundleWarning: Sendable, Hashable, CustomStringConvertible {
    /// A stable, extensible identifier of the warning.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The bundle has no reference rows: nothing checks that the weights, the feature order and
        /// the defaults match what the training library computed.
        public static let noReferenceRows = Code(rawValue: "no_reference_rows")
        /// A feature allows missing values but no reference row leaves it missing, so its `default`
        /// (or the trees' missing-value branches) is never checked.
        public static let missingValueNotExercised = Code(rawValue: "missing_value_not_exercised")
        /// A vocabulary entry of a categorical feature appears in no reference row, so its one-hot
        /// column (or ordinal index) is never checked.
        public static let categoryNotExercised = Code(rawValue: "category_not_exercised")
    }

    /// What is not checked.
    public var code: Code
    /// The feature concerned, when there is one.
    public var feature: String?
    /// What is not checked and how to fix the export.
    public var message: String

    /// Creates a warning.
    public init(code: Code, feature: String?, message: String) {
        self.code = code
        self.feature = feature
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
