/// Everything written into one prediction message, apart from the model outputs.
public struct PredictionContext: Sendable, Hashable {
    /// The request's id; `nil` derives `<topic>-<partition>-<offset>`.
    public var requestID: String?
    /// Where the request was read.
    public var source: KafkaTopicPartition
    /// The request's offset.
    public var offset: KafkaOffset
    /// The request record's Kafka timestamp, milliseconds since the Unix epoch; `nil` writes `null`.
    public var eventTimeMilliseconds: Int64?
    /// When the prediction was made, milliseconds since the Unix epoch.
    public var processingTimeMilliseconds: Int64

    /// Creates a context.
    public init(requestID: String?, source: KafkaTopicPartition, offset: KafkaOffset, eventTimeMilliseconds: Int64?, processingTimeMilliseconds: Int64) {
        self.requestID = requestID
        self.source = source
        self.offset = offset
        self.eventTimeMilliseconds = eventTimeMilliseconds
        self.processingTimeMilliseconds = processingTimeMilliseconds
    }
}
