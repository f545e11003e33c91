import Crypto

/// Shrinks a dead letter that the broker or the client refused as too large, so that it can still
/// be written and its partition moves on (a dead-letter topic exists so that no record can stop a
/// partition; a dead letter retried for ever would do exactly that).
///
/// The value is cut first, then the key, then the original record's headers (the context headers
/// of ``DeadLetterHeaders`` always stay). What was cut is said in headers, so a reader knows the
/// dead letter is not the original byte for byte and can match it to the source record:
/// - `inference.errors.value.truncated` = `true`, `inference.errors.value.original.size` (bytes,
///   decimal), `inference.errors.value.sha256` (lowercase hex of the original value);
/// - the same three with `key` for a cut key;
/// - `inference.errors.headers.truncated` = `true` and `inference.errors.headers.original.count`
///   when the original headers were dropped.
///
/// The byte budget comes from the caller: the client's `message.max.bytes` for the first attempt,
/// a quarter of the previous budget on each further refusal (the broker's or the topic's limit may
/// be lower than the client's, and is not known here).
public struct DeadLetterTruncation: Sendable, Hashable {
    /// Header keys written when something was cut.
    public enum Key {
        /// `true` when the value was cut.
        public static let valueTruncated = "inference.errors.value.truncated"
        /// The original value's size in bytes.
        public static let valueOriginalSize = "inference.errors.value.original.size"
        /// SHA-256 of the original value, lowercase hex.
        public static let valueSHA256 = "inference.errors.value.sha256"
        /// `true` when the key was cut.
        public static let keyTruncated = "inference.errors.key.truncated"
        /// The original key's size in bytes.
        public static let keyOriginalSize = "inference.errors.key.original.size"
        /// SHA-256 of the original key, lowercase hex.
        public static let keySHA256 = "inference.errors.key.sha256"
        /// `true` when the original record's headers were dropped.
        public static let headersTruncated = "inference.errors.headers.truncated"
        /// How many original headers there were.
        public static let headersOriginalCount = "inference.errors.headers.original.count"
    }

    /// Bytes reserved for the record's framing and the truncation headers themselves.
    public static let reservedBytes = 1024

    /// The dead letter as it will be written.
    public var key: [UInt8]?
    public var value: [UInt8]?
    /// The original headers kept (possibly none), then the context headers, then the truncation headers.
    public var headers: [KafkaHeader]
    /// Whether anything had to be cut.
    public var isTruncated: Bool

    /// Shrinks a dead letter to at most `budget` bytes of key, value and headers (approximately:
    /// header framing is counted as ``reservedBytes``).
    ///
    /// - Parameters:
    ///   - key: the original record's key.
    ///   - value: the original record's value.
    ///   - originalHeaders: the original record's headers (the first part of a dead letter's headers).
    ///   - contextHeaders: the dead letter's own headers (``DeadLetterHeaders``), always kept.
    ///   - budget: the most bytes the record may carry.
    public init(key: [UInt8]?, value: [UInt8]?, originalHeaders: [KafkaHeader], contextHeaders: [KafkaHeader], budget: Int) {
        func size(_ headers: [KafkaHeader]) -> Int { headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 8 } }
        var remaining = max(0, budget - Self.reservedBytes - size(contextHeaders))
        var extra: [KafkaHeader] = []
        var kept = originalHeaders
        // The original headers go first when they alone do not fit (they are least useful to a reader).
        if size(kept) > remaining {
            extra.append(KafkaHeader(key: Key.headersTruncated, string: "true"))
            extra.append(KafkaHeader(key: Key.headersOriginalCount, string: String(originalHeaders.count)))
            kept = []
        }
        remaining -= size(kept)
        var newKey = key
        if let key, key.count > remaining {
            newKey = Array(key.prefix(max(0, remaining / 2)))
            extra += Self.describe(key, truncated: Key.keyTruncated, size: Key.keyOriginalSize, digest: Key.keySHA256)
        }
        remaining -= newKey?.count ?? 0
        var newValue = value
        if let value, value.count > remaining {
            newValue = Array(value.prefix(max(0, remaining)))
            extra += Self.describe(value, truncated: Key.valueTruncated, size: Key.valueOriginalSize, digest: Key.valueSHA256)
        }
        self.key = newKey
        self.value = newValue
        headers = kept + contextHeaders + extra
        isTruncated = !extra.isEmpty
    }

    private static func describe(_ bytes: [UInt8], truncated: String, size: String, digest: String) -> [KafkaHeader] {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0xF)])
        }
        return [
            KafkaHeader(key: truncated, string: "true"),
            KafkaHeader(key: size, string: String(bytes.count)),
            KafkaHeader(key: digest, value: hex),
        ]
    }
}
