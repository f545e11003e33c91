/// What a ``KafkaConsumer`` reports to its handler, on its polling thread, in order.
public enum KafkaConsumerEvent: Sendable {
    /// Records from one poll, possibly from several partitions, in offset order per partition.
    case messages(KafkaMessageBatch)
    /// Partitions added to this member's assignment (already assigned: pause/resume work on them).
    case assigned([KafkaTopicPartition])
    /// Partitions about to be taken away in an orderly rebalance or on close. They are still
    /// assigned while the handler runs: this is the moment to finish or abandon in-flight work,
    /// store and commit what is done. They are released when the handler returns, so it must
    /// return within the group's rebalance timeout.
    case revoking([KafkaTopicPartition])
    /// Partitions lost without an orderly hand-over (session timeout, fenced): another member may
    /// already own them. Drop their state; do not commit for them.
    case lost([KafkaTopicPartition])
    /// librdkafka statistics, every `statisticsInterval`.
    case statistics(KafkaStatistics)
    /// An error librdkafka reported. Most are informational and retried by librdkafka itself;
    /// ``KafkaError/isFatal`` means the consumer must be recreated.
    case error(KafkaError)
}
