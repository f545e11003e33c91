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
    /// Whether a record may have been written, as librdkafka knows it (`rd_kafka_message_status`).
    ///
    /// A failed delivery is not necessarily an unwritten record: a produce request that timed out
    /// in flight (`_MSG_TIMED_OUT` after the request was sent) or failed with an uncertain broker
    /// error may have been appended. Sending such a record again can write it twice; not sending it
    /// may lose it. The owner decides, but must not treat the record as certainly absent.
    public enum Persistence: Sendable, Hashable {
        /// Certainly not written (never sent, or refused before it was appended): resending
        /// cannot duplicate it.
        case notPersisted
        /// Perhaps written (sent, but the answer was lost, timed out or uncertain): resending may
        /// duplicate it.
        case possiblyPersisted
        /// Written and acknowledged by the broker.
        case persisted
    }

    public var topic: String
    public var partition: KafkaPartition
    /// The record's offset; nil when delivery failed.
    public var offset: KafkaOffset?
    /// The value passed to ``KafkaProducer/send(_:context:blockIfQueueFull:)``.
    public var context: UInt64
    /// Why delivery failed, or nil. ``persistence`` says whether the record may have been written
    /// nonetheless; ``KafkaError/isAboutTheMessage`` whether the record itself is at fault (sending
    /// it again cannot succeed) rather than the topic, the cluster or this producer;
    /// ``KafkaError/isFatal`` that this producer instance is unusable (see ``KafkaProducer/fatalError``).
    public var error: KafkaError?
    /// Whether the record may have been written: ``Persistence/persisted`` for a delivered record,
    /// either of the other two for a failed one.
    public var persistence: Persistence = .persisted
}
