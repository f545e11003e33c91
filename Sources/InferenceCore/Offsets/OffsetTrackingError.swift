/// A call to ``OffsetTracker`` that contradicts what it was told before; the tracker's state is unchanged.
///
/// These are bugs in the caller (or a broker delivering offsets out of order), never bad input data:
/// ``isFatal`` is always `true` so that the dead-letter policy stops rather than guesses.
public struct OffsetTrackingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, stable for branching and metrics.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An offset dispatched at or below one already dispatched on the partition.
        public static let notIncreasing = Code(rawValue: "offset_not_increasing")
        /// An acknowledgement for an offset that is not in flight (never dispatched, or already committable).
        public static let unknownOffset = Code(rawValue: "unknown_offset")
        /// A second acknowledgement for the same offset.
        public static let alreadyAcknowledged = Code(rawValue: "already_acknowledged")
        /// A negative offset (librdkafka's logical offsets such as -1001 are not records).
        public static let invalidOffset = Code(rawValue: "invalid_offset")
    }

    /// What went wrong.
    public var code: Code
    /// The partition concerned.
    public var partition: KafkaTopicPartition
    /// The offset concerned.
    public var offset: KafkaOffset
    /// What happened and what to check.
    public var message: String
    /// Creates an error.
    public init(code: Code, partition: KafkaTopicPartition, offset: KafkaOffset, message: String) {
        self.code = code
        self.partition = partition
        self.offset = offset
        self.message = message
    }

    /// Always `true`: the tracker cannot be trusted to commit after a contradiction.
    public var isFatal: Bool { true }

    public var description: String { "\(code) at \(partition)@\(offset): \(message)" }
}
