import CKafkaShim

/// The records one poll returned, still in librdkafka's memory (no copy).
///
/// The batch owns its `rd_kafka_message_t`s and destroys them when the last reference goes, so a
/// caller that keeps a record's bytes for later (to dead-letter it, say) keeps the batch alive.
/// Messages are read-only after the poll and `rd_kafka_message_destroy` is thread-safe, which is
/// why the batch may cross threads (`@unchecked Sendable`).
///
/// The batch also keeps the client it came from: `rd_kafka_destroy` waits until every message of
/// the client has been destroyed, so a client released while a batch is still held (a record in
/// flight at shutdown) would block its releaser for ever.
public final class KafkaMessageBatch: @unchecked Sendable, RandomAccessCollection {
    let messages: UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>>
    /// Topic names by topic handle, resolved once per batch (a batch usually holds one topic).
    private let topics: [(handle: OpaquePointer, name: String)]
    private let client: RDKafkaClient

    /// Takes ownership of `messages` (an allocated buffer of message pointers) polled from `client`.
    init(taking messages: UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>>, from client: RDKafkaClient) {
        self.messages = messages
        self.client = client
        var topics: [(handle: OpaquePointer, name: String)] = []
        for message in messages {
            let rkt = message.pointee.rkt!
            if !topics.contains(where: { $0.handle == rkt }) {
                topics.append((rkt, String(cString: rd_kafka_topic_name(rkt))))
            }
        }
        self.topics = topics
    }

    deinit {
        for message in messages { rd_kafka_message_destroy(message) }
        messages.deallocate()
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { messages.count }

    public subscript(position: Int) -> KafkaConsumerMessage {
        let message = messages[position]
        let rkt = message.pointee.rkt!
        let topic = topics.first { $0.handle == rkt }!.name
        return KafkaConsumerMessage(batch: self, message: message, topic: topic)
    }
}

/// A record as consumed. Its key and value are views into the owning ``KafkaMessageBatch``,
/// which the message keeps alive.
/// `@unchecked Sendable`: the pointer is into the batch, which is itself safe to share (see there).
public struct KafkaConsumerMessage: @unchecked Sendable {
    let batch: KafkaMessageBatch
    let message: UnsafeMutablePointer<rd_kafka_message_t>

    /// The topic the record was read from.
    public let topic: String

    init(batch: KafkaMessageBatch, message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        self.batch = batch
        self.message = message
        self.topic = topic
    }

    public var partition: KafkaPartition { KafkaPartition(message.pointee.partition) }
    public var offset: KafkaOffset { KafkaOffset(message.pointee.offset) }
    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    /// The record's timestamp, if it has one.
    public var timestamp: KafkaTimestamp? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ms = rd_kafka_message_timestamp(message, &type)
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: return KafkaTimestamp(milliseconds: ms, kind: .createTime)
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: return KafkaTimestamp(milliseconds: ms, kind: .logAppendTime)
        default: return nil
        }
    }

    /// Size of the value in bytes (0 for a null value).
    public var valueLength: Int { message.pointee.payload == nil ? 0 : message.pointee.len }

    /// Calls `body` with the key's bytes, or nil for a null key. The buffer is valid only inside `body`.
    public func withKey<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try withExtendedLifetime(batch) {
            guard let key = message.pointee.key else { return try body(nil) }
            return try body(UnsafeRawBufferPointer(start: key, count: message.pointee.key_len))
        }
    }

    /// Calls `body` with the value's bytes, or nil for a null value (a tombstone).
    public func withValue<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try withExtendedLifetime(batch) {
            guard let payload = message.pointee.payload else { return try body(nil) }
            return try body(UnsafeRawBufferPointer(start: payload, count: message.pointee.len))
        }
    }

    /// The key, copied; nil for a null key.
    public var key: [UInt8]? { withKey { $0.map { Array($0) } } }
    /// The value, copied; nil for a null value (a tombstone).
    public var value: [UInt8]? { withValue { $0.map { Array($0) } } }

    /// The record's headers, in order, copied.
    public var headers: [KafkaHeader] {
        withExtendedLifetime(batch) {
            var hdrs: OpaquePointer?
            guard rd_kafka_message_headers(message, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return [] }
            var result: [KafkaHeader] = []
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                result.append(KafkaHeader(key: String(cString: name!), value: bytes))
                index += 1
            }
            return result
        }
    }
}
