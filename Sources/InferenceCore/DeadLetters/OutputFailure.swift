/// What a failed write of an output (a prediction, a dead letter) says, as the output policy needs
/// it. The worker maps its Kafka client's errors onto these; the core never sees Kafka codes.
public enum OutputFailure: Sendable, Hashable {
    /// The broker or the network may clear it by itself: unreachable brokers, timeouts (including a
    /// delivery timed out in `message.timeout.ms`, which may have been persisted), leader changes.
    case transient
    /// The destination topic cannot be written (missing, not authorised): nothing about the record
    /// is wrong, and nothing can be written there until an operator acts.
    case topicUnavailable
    /// The record itself cannot be written as it is (larger than the broker or the client allows,
    /// or refused as invalid): retrying the same bytes can never succeed.
    case recordRejected
    /// The producer instance is unusable (fenced, fatal idempotence error): it must be recreated.
    case producerFatal
    /// The producer is being closed: the output stays unacknowledged (redelivered after a restart).
    case stopping
}

/// What to do about a failed output, decided by ``DeadLetterPolicy/disposition(for:isDeadLetter:attempt:using:)``.
public enum OutputDisposition: Sendable, Hashable {
    /// Send the same output again after the delay. `blocked`: its topic is unavailable, so its
    /// partition is held back until an operator acts (report it).
    case retry(after: Duration, blocked: Bool)
    /// The prediction can never be written: dead-letter its input instead.
    case deadLetterInput
    /// The dead letter is too large or refused as it is: write it again with its value (and if
    /// needed key and headers) truncated, so that the partition moves on.
    case truncate
    /// Recreate the producer and send every unacknowledged output again.
    case recreateProducer
    /// Leave the output unacknowledged: its input is redelivered after the restart.
    case abandon
}
