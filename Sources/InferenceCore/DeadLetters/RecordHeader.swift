/// One Kafka record header: a string key and a byte value, which Kafka allows to be null.
public struct RecordHeader: Hashable, Sendable, CustomStringConvertible {
    /// The header key.
    public var key: String
    /// The header value; `nil` is Kafka's null value (distinct from an empty value).
    public var value: [UInt8]?

    /// Creates a header from bytes.
    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    /// Creates a header whose value is `value`'s UTF-8 bytes.
    public init(key: String, utf8 value: String) {
        self.key = key
        self.value = Array(value.utf8)
    }

    public var description: String {
        guard let value else { return "\(key)=null" }
        return "\(key)=\(String(decoding: value, as: UTF8.self))"
    }
}
