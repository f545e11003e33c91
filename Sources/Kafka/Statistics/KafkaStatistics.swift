import Foundation

/// The part of librdkafka's statistics JSON (`statistics.interval.ms`) that operators act on:
/// per-partition consumer lag.
public struct KafkaStatistics: Sendable {
    /// The client's name (`rdkafka#consumer-1`).
    public var clientName: String
    /// When librdkafka produced the statistics, microseconds on its monotonic clock.
    public var timestampMicroseconds: Int64
    /// One entry per assigned (or produced-to) partition, sorted; librdkafka's internal
    /// "unassigned" partition -1 is left out.
    public var partitions: [KafkaPartitionStatistics]

    /// Parses librdkafka's statistics JSON.
    public init(json: String) throws {
        guard let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw KafkaError(code: .invalidConfiguration, message: "librdkafka statistics are not a JSON object")
        }
        clientName = root["name"] as? String ?? ""
        timestampMicroseconds = (root["ts"] as? NSNumber)?.int64Value ?? 0
        var partitions: [KafkaPartitionStatistics] = []
        for (topic, topicValue) in (root["topics"] as? [String: Any]) ?? [:] {
            let topicPartitions = (topicValue as? [String: Any])?["partitions"] as? [String: Any] ?? [:]
            for (key, value) in topicPartitions {
                guard let id = Int32(key), id >= 0, let p = value as? [String: Any] else { continue }
                func int(_ name: String) -> Int64? {
                    guard let n = (p[name] as? NSNumber)?.int64Value, n >= 0 else { return nil }
                    return n
                }
                partitions.append(KafkaPartitionStatistics(
                    topicPartition: KafkaTopicPartition(topic: topic, partition: KafkaPartition(id)),
                    consumerLag: int("consumer_lag"),
                    consumerLagStored: int("consumer_lag_stored"),
                    committedOffset: int("committed_offset").map { KafkaOffset($0) },
                    storedOffset: int("stored_offset").map { KafkaOffset($0) },
                    highWatermark: int("hi_offset").map { KafkaOffset($0) },
                    fetchQueueCount: int("fetchq_cnt").map { Int($0) }
                ))
            }
        }
        self.partitions = partitions.sorted { $0.topicPartition < $1.topicPartition }
    }
}

/// One partition's figures. A value librdkafka does not know yet (reported as -1) is nil.
public struct KafkaPartitionStatistics: Sendable, Hashable {
    public var topicPartition: KafkaTopicPartition
    /// High watermark minus the committed offset: what lag-based autoscalers (KEDA) see.
    public var consumerLag: Int64?
    /// High watermark minus the stored offset: the lag as far as this worker has finished work.
    public var consumerLagStored: Int64?
    public var committedOffset: KafkaOffset?
    public var storedOffset: KafkaOffset?
    public var highWatermark: KafkaOffset?
    /// Records fetched and waiting in librdkafka's queue.
    public var fetchQueueCount: Int?
}
