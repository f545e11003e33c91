// The vocabulary every layer shares: the Kafka layer, the core and the worker speak of partitions,
// offsets and headers with these types, so that nothing converts between twin types per record
// (NIOCore's role for swift-nio's modules). Pure values: no librdkafka here.

/// A partition number. A distinct type so that it cannot be mixed up with an offset or a count.
public struct KafkaPartition: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The partition number (librdkafka's `int32_t`).
    public var rawValue: Int32
    /// Wraps a partition number.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// Wraps a partition number.
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(integerLiteral value: Int32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// The offset of a record within its partition (librdkafka's `int64_t`). In commits and stores it
/// is the offset of the *next* record to read.
///
/// A wrapper rather than a bare `Int64` so that an offset cannot be passed where a partition number,
/// a count or a byte size is expected.
public struct KafkaOffset: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The offset; non-negative for real records, negative for librdkafka's logical offsets.
    public var rawValue: Int64
    /// Wraps an offset.
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    /// Wraps an offset.
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(integerLiteral value: Int64) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
    /// librdkafka's "no offset" (RD_KAFKA_OFFSET_INVALID), as reported for partitions without a commit.
    public static let invalid = KafkaOffset(-1001)
    /// Whether this is a real record's offset (not a logical one).
    public var isValid: Bool { rawValue >= 0 }
}

/// A partition of a topic: the unit of ordering and of offset commits.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition within the topic.
    public var partition: KafkaPartition

    /// Creates a topic-partition pair.
    public init(topic: String, partition: KafkaPartition) {
        self.topic = topic
        self.partition = partition
    }

    /// Hashes the partition number and the topic's length only: a worker tracks a handful of topics,
    /// so this rarely collides (and `==` still compares the full topic), while skipping a SipHash pass
    /// over the topic's bytes on every offset-tracker operation (measured: ~2x faster dispatch + ack).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(partition.rawValue)
        hasher.combine(topic.utf8.count)
    }

    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    /// `topic[partition]`.
    public var description: String { "\(topic)[\(partition)]" }
}

/// One record header: a string key and a byte value, which Kafka allows to be null (distinct from
/// an empty value). Kafka allows duplicate keys; order is preserved.
public struct KafkaHeader: Sendable, Hashable, CustomStringConvertible {
    /// The header key.
    public var key: String
    /// The header value; `nil` is Kafka's null value.
    public var value: [UInt8]?

    /// Creates a header from bytes.
    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    /// A header whose value is the UTF-8 bytes of `string`.
    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }

    /// `key=value` (the value as UTF-8), `key=null` for a null value.
    public var description: String {
        guard let value else { return "\(key)=null" }
        return "\(key)=\(String(decoding: value, as: UTF8.self))"
    }
}

/// A record timestamp in milliseconds since the Unix epoch, with its kind.
public struct KafkaTimestamp: Sendable, Hashable {
    /// Who set the timestamp.
    public enum Kind: Sendable, Hashable {
        /// Set by the producer.
        case createTime
        /// Set by the broker when it appended the record.
        case logAppendTime
    }

    /// Milliseconds since the Unix epoch.
    public var milliseconds: Int64
    /// Who set it.
    public var kind: Kind

    /// Creates a timestamp.
    public init(milliseconds: Int64, kind: Kind) {
        self.milliseconds = milliseconds
        self.kind = kind
    }
}
