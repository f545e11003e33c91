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
    /// or refused as invalid): retrying the same bytes can never succeed. What exactly was refused
    /// (``RecordRefusal``) decides how a dead letter is rewritten.
    case recordRejected
    /// The producer instance is unusable (fenced, fatal idempotence error): it must be recreated.
    case producerFatal
    /// The producer is being closed: the output stays unacknowledged (redelivered after a restart).
    case stopping
}

/// What to do about a failed output, decided by ``DeadLetterPolicy/disposition(for:deadLetter:refusal:attempt:using:)``.
public enum OutputDisposition: Sendable, Hashable {
    /// Send the same output again after the delay. `blocked`: its topic is unavailable, so its
    /// partition is held back until an operator acts (report it).
    case retry(after: Duration, blocked: Bool)
    /// The prediction can never be written: dead-letter its input instead.
    case deadLetterInput
    /// The dead letter is too large: write it again with its value (and if needed key and headers)
    /// cut to the next, smaller byte budget (``DeadLetterTruncation``), so that the partition moves on.
    case truncate
    /// The dead letter's timestamp (the input's) was refused: write it again with the current time
    /// as its timestamp, saying so in headers.
    case replaceTimestamp
    /// The dead letter was refused for something in its content that cutting to a budget does not
    /// address (invalid, corrupt), or nothing is left to cut: write it again in its minimal form,
    /// without the input's key, value and headers (``DeadLetterTruncation`` with a budget of 0:
    /// the context headers, and the sizes and digests of what was dropped).
    case writeMinimal
    /// Even the minimal form was refused for a reason about the record: nothing can be written.
    /// Give the dead letter up and acknowledge its input (counted and logged), as Kafka Connect's
    /// `errors.tolerance=all` does, rather than stop the partition for ever.
    case dropDeadLetter
    /// Recreate the producer and send every unacknowledged output again.
    case recreateProducer
    /// Leave the output unacknowledged: its input is redelivered after the restart.
    case abandon
}

/// Why the broker or the client refused a record itself (an ``OutputFailure/recordRejected``).
public enum RecordRefusal: Sendable, Hashable {
    /// Larger than the client's, the broker's or the topic's limit: cutting it can help.
    case tooLarge
    /// Its timestamp is outside what the topic accepts (`message.timestamp.*.max.ms`): the current
    /// time can help.
    case invalidTimestamp
    /// Invalid or corrupt in another way: only dropping the record's own content can help.
    case invalid
}

/// The form in which a dead letter was last sent: what has been done to it after refusals.
public struct DeadLetterForm: Sendable, Hashable {
    /// Written with the current time instead of the input's timestamp.
    public var timestampReplaced: Bool
    /// The byte budget it was last cut to (nil: not cut).
    public var truncationBudget: Int?
    /// Written without the input's key, value and headers.
    public var isMinimal: Bool

    /// The original form (nothing done), or the given one.
    public init(timestampReplaced: Bool = false, truncationBudget: Int? = nil, isMinimal: Bool = false) {
        self.timestampReplaced = timestampReplaced
        self.truncationBudget = truncationBudget
        self.isMinimal = isMinimal
    }
}
