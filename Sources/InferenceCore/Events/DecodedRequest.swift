/// What ``RequestDecoder`` returns besides the feature values it writes into the caller's buffer.
public struct DecodedRequest: Sendable, Hashable {
    /// How the request laid out its features.
    public enum FeatureLayout: Sendable, Hashable {
        /// `"features": [...]`, in the model's declared order.
        case array
        /// `"features": {"name": value, ...}`; absent features decode as ``RawFeatureValue/missing``.
        case object
    }

    /// The request's `id`: a string's unescaped text, or a number's exact text as written (so a
    /// 20-digit id keeps all its digits); `nil` when absent or `null` (the prediction then derives
    /// `<topic>-<partition>-<offset>`).
    public var id: String?
    /// `true` when `id` was a JSON number.
    public var idIsNumber: Bool
    /// How the features were laid out.
    public var layout: FeatureLayout

    /// Creates a decoded request description.
    public init(id: String?, idIsNumber: Bool = false, layout: FeatureLayout) {
        self.id = id
        self.idIsNumber = idIsNumber
        self.layout = layout
    }
}
