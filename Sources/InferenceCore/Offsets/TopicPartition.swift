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

    /// `topic-partition`, the form Kafka tools print.
    public var description: String { "\(topic)-\(partition)" }
}
