/// Configuration of a producer.
public struct KafkaProducerConfiguration: Sendable {
    /// Compression of record batches.
    public enum Compression: String, Sendable, CaseIterable {
        case none, gzip, snappy, lz4, zstd
    }

    /// Bootstrap brokers, `host:port`. Required.
    public var bootstrapServers: [String]
    /// `client.id`. Default `inference-worker`.
    public var clientID: String = "inference-worker"
    /// `enable.idempotence`: no duplicates or reordering from the producer's own retries; implies
    /// `acks=all`. Default true.
    public var idempotent: Bool = true
    /// `linger.ms`: how long to wait for more records to fill a batch. Default 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// `message.timeout.ms`: a record not acknowledged by then is reported failed (retriable).
    /// Default 60 s.
    public var messageTimeout: Duration = .seconds(60)
    /// `queue.buffering.max.messages`: records waiting in the local queue before
    /// ``KafkaError/Code/queueFull`` (back-pressure). Default 100,000.
    public var maxQueuedMessages: Int = 100_000
    /// `compression.codec`. Default none.
    public var compression: Compression = .none
    /// `partitioner` for records without an explicit partition. Default `murmur2_random`, the Java
    /// client's: a key lands on the same partition whichever client produced it.
    public var partitioner: String = "murmur2_random"
    /// Emit librdkafka statistics on this interval; `nil` disables. Default nil.
    public var statisticsInterval: Duration? = nil
    /// Raw librdkafka properties, applied last (they override the typed fields above).
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    public func validate() throws(KafkaError) {
        try KafkaConfigurationCheck.bootstrapServers(bootstrapServers)
        try KafkaConfigurationCheck.positive(messageTimeout, "messageTimeout")
        try KafkaConfigurationCheck.positive(maxQueuedMessages, "maxQueuedMessages")
        if linger < .zero {
            throw KafkaError(code: .invalidConfiguration, message: "linger must not be negative (got \(linger))")
        }
        if let statisticsInterval { try KafkaConfigurationCheck.positive(statisticsInterval, "statisticsInterval") }
    }

    var properties: [(String, String)] {
        var p: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("client.id", clientID),
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("linger.ms", String(linger.milliseconds)),
            ("message.timeout.ms", String(messageTimeout.milliseconds)),
            ("queue.buffering.max.messages", String(maxQueuedMessages)),
            ("compression.codec", compression.rawValue),
            ("partitioner", partitioner),
        ]
        if let statisticsInterval { p.append(("statistics.interval.ms", String(statisticsInterval.milliseconds))) }
        p.append(contentsOf: additionalProperties.sorted { $0.key < $1.key })
        return p
    }
}
