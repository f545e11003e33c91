/// Configuration of a consumer-group consumer.
///
/// Offsets are always stored by the application (`enable.auto.offset.store=false`): a record's
/// offset becomes committable only when the caller calls ``KafkaConsumer/storeOffsets(_:)``.
/// Stored offsets are committed on the ``autoCommitInterval`` timer and by ``KafkaConsumer/commitStored()``.
public struct KafkaConsumerConfiguration: Sendable {
    /// How partitions are spread across a group's members.
    public enum AssignmentStrategy: String, Sendable, CaseIterable {
        /// Incremental rebalancing: only moved partitions stop (`cooperative-sticky`). The default.
        case cooperativeSticky = "cooperative-sticky"
        /// Eager `range` assignment: every rebalance revokes everything.
        case range
        /// Eager `roundrobin` assignment.
        case roundRobin = "roundrobin"
    }

    /// Where a group without a committed offset starts reading.
    public enum OffsetReset: String, Sendable, CaseIterable {
        case earliest, latest
        /// Fail with an error instead of guessing.
        case error
    }

    /// Bootstrap brokers, `host:port`. Required.
    public var bootstrapServers: [String]
    /// Consumer group id. Required.
    public var groupID: String
    /// Topics to subscribe to. At least one.
    public var topics: [String]
    /// `client.id`, shown in broker logs and metrics. Default `inference-worker`.
    public var clientID: String = "inference-worker"
    /// Static membership (`group.instance.id`): a member that restarts within the session timeout
    /// gets its partitions back without a rebalance. Default: none (dynamic membership).
    public var groupInstanceID: String? = nil
    /// Default ``AssignmentStrategy/cooperativeSticky``.
    public var assignmentStrategy: AssignmentStrategy = .cooperativeSticky
    /// Default ``OffsetReset/earliest``: a new group misses no request.
    public var autoOffsetReset: OffsetReset = .earliest
    /// `session.timeout.ms`. Default 45 s (Kafka's default).
    public var sessionTimeout: Duration = .seconds(45)
    /// `heartbeat.interval.ms`. Default 3 s.
    public var heartbeatInterval: Duration = .seconds(3)
    /// `max.poll.interval.ms`. Default 300 s.
    public var maxPollInterval: Duration = .seconds(300)
    /// Commit stored offsets on this interval (`auto.commit.interval.ms`); `nil` disables the timer,
    /// leaving commits to ``KafkaConsumer/commitStored()``. Default 1 s: a short interval keeps the
    /// committed lag that lag-based autoscalers read close to the real lag.
    public var autoCommitInterval: Duration? = .seconds(1)
    /// Emit librdkafka statistics (per-partition lag) on this interval; `nil` disables. Default nil.
    public var statisticsInterval: Duration? = nil
    /// Most records handed over per poll. Default 1,000.
    public var maxPollRecords: Int = 1000
    /// How long one poll waits for records. Default 100 ms; it bounds how quickly ``KafkaConsumer/close()`` starts.
    public var pollTimeout: Duration = .milliseconds(100)
    /// Records librdkafka prefetches for one assigned partition before it stops fetching it
    /// (`queued.min.messages`). Each partition has a queue of its own (see ``KafkaConsumer``), so
    /// this bounds each partition, not the consumer. Default 1,000 (like Kafka Streams'
    /// `buffered.records.per.partition`); librdkafka's own default, 100,000, cost ~40 MiB more RSS
    /// with 8 partitions and no throughput.
    public var prefetchRecordsPerPartition: Int = 1000
    /// Kilobytes of record values librdkafka prefetches for one assigned partition before it stops
    /// fetching it (`queued.max.messages.kbytes`, per partition like the above; one fetch response,
    /// up to `max.partition.fetch.bytes`, can land on top). Default 1,024 (1 MiB): prefetch
    /// memory is about partitions x (this + 1 MiB) at most.
    public var prefetchKilobytesPerPartition: Int = 1024
    /// How soon librdkafka fetches again for a partition whose prefetch was full once it has
    /// drained (`fetch.queue.backoff.ms`; librdkafka's own default is 1 s, which starves a fast
    /// consumer). Applied only on librdkafka >= 2.2, which added the key; older runtimes re-check
    /// on the broker thread's next wake-up (up to ~1 s). Default 10 ms.
    public var prefetchRecheckInterval: Duration = .milliseconds(10)
    /// Raw librdkafka properties, applied last (they override the typed fields above).
    /// Keys the runtime librdkafka does not know are rejected with ``KafkaError/Code/unknownConfigurationKey``.
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: [String], groupID: String, topics: [String]) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.topics = topics
    }

    /// Rejects nonsense before librdkafka sees it, with a message that says what to change.
    public func validate() throws(KafkaError) {
        try KafkaConfigurationCheck.bootstrapServers(bootstrapServers)
        if groupID.trimmingWhitespace.isEmpty {
            throw KafkaError(code: .invalidConfiguration, message: "groupID is empty: every replica of a worker needs the same non-empty consumer group id")
        }
        if topics.isEmpty || topics.contains(where: { $0.trimmingWhitespace.isEmpty }) {
            throw KafkaError(code: .invalidConfiguration, message: "topics must name at least one topic, and no empty names (got \(topics))")
        }
        try KafkaConfigurationCheck.positive(maxPollRecords, "maxPollRecords")
        try KafkaConfigurationCheck.positive(sessionTimeout, "sessionTimeout")
        try KafkaConfigurationCheck.positive(heartbeatInterval, "heartbeatInterval")
        try KafkaConfigurationCheck.positive(maxPollInterval, "maxPollInterval")
        try KafkaConfigurationCheck.positive(pollTimeout, "pollTimeout")
        try KafkaConfigurationCheck.positive(prefetchRecordsPerPartition, "prefetchRecordsPerPartition")
        try KafkaConfigurationCheck.positive(prefetchKilobytesPerPartition, "prefetchKilobytesPerPartition")
        try KafkaConfigurationCheck.positive(prefetchRecheckInterval, "prefetchRecheckInterval")
        if heartbeatInterval >= sessionTimeout {
            throw KafkaError(code: .invalidConfiguration, message: "heartbeatInterval (\(heartbeatInterval)) must be shorter than sessionTimeout (\(sessionTimeout)); a third of it is usual")
        }
        if let autoCommitInterval { try KafkaConfigurationCheck.positive(autoCommitInterval, "autoCommitInterval") }
        if let statisticsInterval { try KafkaConfigurationCheck.positive(statisticsInterval, "statisticsInterval") }
        if let groupInstanceID, groupInstanceID.trimmingWhitespace.isEmpty {
            throw KafkaError(code: .invalidConfiguration, message: "groupInstanceID is empty; leave it unset for dynamic membership")
        }
    }

    /// The first librdkafka that knows `fetch.queue.backoff.ms`.
    static let fetchQueueBackoffSince = KafkaVersion(major: 2, minor: 2, patch: 0)

    /// The librdkafka properties, in the order they are applied.
    var properties: [(String, String)] {
        var p: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("group.id", groupID),
            ("client.id", clientID),
            ("partition.assignment.strategy", assignmentStrategy.rawValue),
            ("auto.offset.reset", autoOffsetReset.rawValue),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("heartbeat.interval.ms", String(heartbeatInterval.milliseconds)),
            ("max.poll.interval.ms", String(maxPollInterval.milliseconds)),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "false"),
            ("queued.min.messages", String(prefetchRecordsPerPartition)),
            ("queued.max.messages.kbytes", String(prefetchKilobytesPerPartition)),
        ]
        if KafkaLibrary.version >= Self.fetchQueueBackoffSince {
            p.append(("fetch.queue.backoff.ms", String(prefetchRecheckInterval.milliseconds)))
        }
        if let autoCommitInterval {
            p.append(("enable.auto.commit", "true"))
            p.append(("auto.commit.interval.ms", String(autoCommitInterval.milliseconds)))
        } else {
            p.append(("enable.auto.commit", "false"))
        }
        if let statisticsInterval { p.append(("statistics.interval.ms", String(statisticsInterval.milliseconds))) }
        if let groupInstanceID { p.append(("group.instance.id", groupInstanceID)) }
        p.append(contentsOf: additionalProperties.sorted { $0.key < $1.key })
        return p
    }
}
