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
    /// Where the id's text lies in the payload: a string's contents between its quotes, escapes as
    /// written (valid JSON string contents, so they can be copied into another JSON string as they
    /// are), or a number's text. `nil` when there is no id. Filled in whether or not
    /// ``RequestDecoder/Configuration/materializesID`` is set.
    public var idSpan: Range<Int>?
    /// How the features were laid out.
    public var layout: FeatureLayout

    /// Creates a decoded request description.
    public init(id: String?, idIsNumber: Bool = false, idSpan: Range<Int>? = nil, layout: FeatureLayout) {
        self.id = id
        self.idIsNumber = idIsNumber
        self.idSpan = idSpan
        self.layout = layout
    }
}
