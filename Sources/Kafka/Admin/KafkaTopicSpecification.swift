/// A topic to create if missing.
public struct KafkaTopicSpecification: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic-level configuration (e.g. `retention.ms`), applied on creation only.
    public var config: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, config: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.config = config
    }
}

/// Something that can create topics: a real cluster through ``KafkaAdmin`` or the ``EmbeddedKafkaBroker``.
public protocol KafkaTopicAdministrator: Sendable {
    /// Creates the topics that do not exist; existing topics are left as they are. Blocks.
    /// Returns the names of the topics it created.
    @discardableResult
    func ensureTopics(_ topics: [KafkaTopicSpecification]) throws(KafkaError) -> [String]
}
