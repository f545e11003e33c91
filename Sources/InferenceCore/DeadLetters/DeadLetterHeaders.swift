/// Builds the headers of a dead letter: the original record's headers first, unchanged and in order,
/// then Kafka Connect's (KIP-298) context headers, then ours.
///
/// The worker writes the dead letter with the original key, value and timestamp byte for byte and
/// these headers. Values are UTF-8 strings, as Kafka Connect writes them (partition and offset in
/// decimal). If the original record already carried `__connect.errors.*` headers (a dead letter that
/// was replayed and failed again), they stay and ours follow: Kafka's `Headers.lastHeader(key)` returns
/// ours. `__connect.errors.exception.stacktrace` is omitted: Swift errors carry no stack trace.
///
/// Header list, after the original headers:
/// - `__connect.errors.topic`, `__connect.errors.partition`, `__connect.errors.offset`: where the input was read;
/// - `__connect.errors.stage`: ``DeadLetterReason/stage`` (Kafka Connect stage name);
/// - `__connect.errors.class.name`: ``DeadLetterReason/className``;
/// - `__connect.errors.exception.class.name`: ``DeadLetterReason/exceptionClassName``;
/// - `__connect.errors.exception.message`: the error's message;
/// - `inference.errors.reason`: ``DeadLetterReason/code``;
/// - `inference.model.name`, `inference.model.version`: the model that was to score it (omitted when
///   the record failed before a model was chosen, i.e. when `nil`);
/// - `inference.worker.id`: the worker instance that dead-lettered it;
/// - only when the dead-letter topic refused the original timestamp and the dead letter was written
///   with the current time: `inference.errors.timestamp.replaced` = `true` and
///   `inference.errors.timestamp.original` (the worker adds them, see ``InferenceKey``).
public struct DeadLetterHeaders: Sendable, Hashable {
    /// Kafka Connect's context header keys, in the order written.
    public enum ConnectKey {
        /// Topic the input was read from.
        public static let topic = "__connect.errors.topic"
        /// Its partition, in decimal.
        public static let partition = "__connect.errors.partition"
        /// Its offset, in decimal.
        public static let offset = "__connect.errors.offset"
        /// Kafka Connect stage name.
        public static let stage = "__connect.errors.stage"
        /// The component that failed.
        public static let className = "__connect.errors.class.name"
        /// The error type.
        public static let exceptionClassName = "__connect.errors.exception.class.name"
        /// The error message.
        public static let exceptionMessage = "__connect.errors.exception.message"
    }

    /// This project's header keys, in the order written.
    public enum InferenceKey {
        /// Stable reason code.
        public static let reason = "inference.errors.reason"
        /// Model name, when known.
        public static let modelName = "inference.model.name"
        /// Model version, when known.
        public static let modelVersion = "inference.model.version"
        /// Worker instance.
        public static let workerID = "inference.worker.id"
        /// `true` when the dead letter carries the time it was written instead of the input's
        /// timestamp, which the dead-letter topic refused (INVALID_TIMESTAMP). Added only then.
        public static let timestampReplaced = "inference.errors.timestamp.replaced"
        /// The input's timestamp (milliseconds since the epoch, decimal) when it was replaced.
        public static let timestampOriginal = "inference.errors.timestamp.original"
    }

    /// The worker instance written as `inference.worker.id`.
    public var workerID: String

    /// Creates a builder for one worker instance.
    public init(workerID: String) {
        self.workerID = workerID
    }

    /// The dead letter's headers for a record read from `partition` at `offset`.
    ///
    /// - Parameters:
    ///   - original: the input record's headers, copied first and unchanged (including `traceparent`).
    ///   - reason: why the record is dead-lettered.
    ///   - message: the error's human-readable message.
    ///   - modelName, modelVersion: the model the record was meant for, when known.
    public func headers(
        original: [KafkaHeader],
        partition: KafkaTopicPartition,
        offset: KafkaOffset,
        reason: DeadLetterReason,
        message: String,
        modelName: String? = nil,
        modelVersion: String? = nil
    ) -> [KafkaHeader] {
        var result = original
        result.reserveCapacity(original.count + 11)
        result.append(KafkaHeader(key: ConnectKey.topic, string: partition.topic))
        result.append(KafkaHeader(key: ConnectKey.partition, string: String(partition.partition.rawValue)))
        result.append(KafkaHeader(key: ConnectKey.offset, string: String(offset.rawValue)))
        result.append(KafkaHeader(key: ConnectKey.stage, string: reason.stage))
        result.append(KafkaHeader(key: ConnectKey.className, string: reason.className))
        result.append(KafkaHeader(key: ConnectKey.exceptionClassName, string: reason.exceptionClassName))
        result.append(KafkaHeader(key: ConnectKey.exceptionMessage, string: message))
        result.append(KafkaHeader(key: InferenceKey.reason, string: reason.code))
        if let modelName { result.append(KafkaHeader(key: InferenceKey.modelName, string: modelName)) }
        if let modelVersion { result.append(KafkaHeader(key: InferenceKey.modelVersion, string: modelVersion)) }
        result.append(KafkaHeader(key: InferenceKey.workerID, string: workerID))
        return result
    }

    /// The headers for a request that failed to decode: reason and message come from the error.
    public func headers(original: [KafkaHeader], partition: KafkaTopicPartition, offset: KafkaOffset, decodingError: RequestDecodingError, modelName: String? = nil, modelVersion: String? = nil) -> [KafkaHeader] {
        headers(original: original, partition: partition, offset: offset, reason: decodingError.deadLetterReason ?? .malformedJSON, message: decodingError.description, modelName: modelName, modelVersion: modelVersion)
    }
}
