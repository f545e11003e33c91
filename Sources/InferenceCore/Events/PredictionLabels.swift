/// A model's class labels, JSON-escaped once so that encoding a prediction only copies bytes.
public struct PredictionLabels: Sendable, Hashable {
    /// The labels, in the model's class order.
    public let names: [String]
    /// Each label as a complete JSON string literal (quotes included), concatenated.
    let encoded: [UInt8]
    let ranges: [Range<Int>]
    /// The longest encoded label, for the encoder's size bound.
    let longestEncoded: Int

    /// Escapes `names` once.
    public init(_ names: [String]) {
        self.names = names
        var encoded: [UInt8] = []
        var ranges: [Range<Int>] = []
        for name in names {
            let start = encoded.count
            encoded.appendJSONString(name)
            ranges.append(start..<encoded.count)
        }
        self.encoded = encoded
        self.ranges = ranges
        self.longestEncoded = ranges.map(\.count).max() ?? 0
    }

    /// The number of labels.
    public var count: Int { names.count }
}
