/// A record to produce.
public struct KafkaProducerMessage: Sendable, Hashable {
    public var topic: String
    /// An explicit partition, or nil to let the partitioner choose from the key.
    public var partition: KafkaPartition?
    /// nil for a null key.
    public var key: [UInt8]?
    /// nil for a null value (a tombstone).
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Create time in ms since the epoch; nil means now.
    public var timestampMilliseconds: Int64?

    public init(
        topic: String, partition: KafkaPartition? = nil, key: [UInt8]? = nil, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }
}

/// The broker's answer for one produced record, matched to the caller's context.
public struct KafkaDeliveryReport: Sendable {
    public var topic: String
    public var partition: KafkaPartition
    /// The record's offset; nil when delivery failed.
    public var offset: KafkaOffset?
    /// The value passed to ``KafkaProducer/send(_:context:blockIfQueueFull:)``.
    public var context: UInt64
    /// Why delivery failed, or nil. A failed record was *not* written; ``KafkaError/isRetriable``
    /// says whether sending it again may succeed.
    public var error: KafkaError?
}
