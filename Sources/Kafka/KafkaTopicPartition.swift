/// A partition number. A distinct type so that it cannot be mixed up with an offset or a count.
public struct KafkaPartition: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public init(integerLiteral value: Int32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// An offset within a partition. In commits and stores it is the offset of the *next* record to read.
public struct KafkaOffset: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public init(integerLiteral value: Int64) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
    /// librdkafka's "no offset" (RD_KAFKA_OFFSET_INVALID), as reported for partitions without a commit.
    public static let invalid = KafkaOffset(-1001)
    public var isValid: Bool { rawValue >= 0 }
}

/// A topic and partition.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: KafkaPartition
    public init(topic: String, partition: KafkaPartition) {
        self.topic = topic
        self.partition = partition
    }
    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)[\(partition)]" }
}

/// A record header. Kafka allows duplicate keys and null values; order is preserved.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?
    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
    /// A header whose value is the UTF-8 bytes of `string`.
    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }
}

/// A record timestamp in milliseconds since the Unix epoch, with its kind.
public struct KafkaTimestamp: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Set by the producer.
        case createTime
        /// Set by the broker when it appended the record.
        case logAppendTime
    }
    public var milliseconds: Int64
    public var kind: Kind
    public init(milliseconds: Int64, kind: Kind) {
        self.milliseconds = milliseconds
        self.kind = kind
    }
}
