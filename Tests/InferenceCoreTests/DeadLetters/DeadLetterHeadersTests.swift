import InferenceCore
import Testing

@Suite struct DeadLetterHeadersTests {
    func h(_ key: String, _ value: String) -> KafkaHeader { KafkaHeader(key: key, string: value) }

    @Test func originalHeadersFirstThenConnectContextThenOurs() {
        let original = [
            h("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            KafkaHeader(key: "binary", value: [0x00, 0xFF, 0x80]),
            KafkaHeader(key: "nullable", value: nil),
            h("traceparent", "duplicate keys are kept too"),
        ]
        let headers = DeadLetterHeaders(workerID: "worker-7").headers(
            original: original,
            partition: KafkaTopicPartition(topic: "requests", partition: 3),
            offset: KafkaOffset(1234567890123),
            reason: .unknownCategory,
            message: "feature \"country\": unknown category \"XX\"",
            modelName: "fraud",
            modelVersion: "2024-06-01"
        )
        #expect(headers == original + [
            h("__connect.errors.topic", "requests"),
            h("__connect.errors.partition", "3"),
            h("__connect.errors.offset", "1234567890123"),
            h("__connect.errors.stage", "TRANSFORMATION"),
            h("__connect.errors.class.name", "InferenceCore.InputSchema"),
            h("__connect.errors.exception.class.name", "InferenceCore.InputValidationError"),
            h("__connect.errors.exception.message", "feature \"country\": unknown category \"XX\""),
            h("inference.errors.reason", "unknown_category"),
            h("inference.model.name", "fraud"),
            h("inference.model.version", "2024-06-01"),
            h("inference.worker.id", "worker-7"),
        ])
    }

    @Test func decodingFailureBeforeAModelWasChosen() {
        let error = RequestDecodingError(code: .malformedJSON, byteOffset: 17, message: "unexpected end of payload")
        let headers = DeadLetterHeaders(workerID: "w").headers(
            original: [], partition: KafkaTopicPartition(topic: "in", partition: 0), offset: KafkaOffset(0), decodingError: error
        )
        #expect(headers == [
            h("__connect.errors.topic", "in"),
            h("__connect.errors.partition", "0"),
            h("__connect.errors.offset", "0"),
            h("__connect.errors.stage", "VALUE_CONVERTER"),
            h("__connect.errors.class.name", "InferenceCore.RequestDecoder"),
            h("__connect.errors.exception.class.name", "InferenceCore.RequestDecodingError"),
            h("__connect.errors.exception.message", "malformed_json at byte 17: unexpected end of payload"),
            h("inference.errors.reason", "malformed_json"),
            h("inference.worker.id", "w"),
        ])
    }

    @Test func valuesAreUTF8Bytes() {
        let headers = DeadLetterHeaders(workerID: "wörker").headers(
            original: [], partition: KafkaTopicPartition(topic: "t", partition: 0), offset: KafkaOffset(5),
            reason: .oversizedPayload, message: "größer"
        )
        #expect(headers.last?.value == Array("wörker".utf8))
        #expect(headers.first { $0.key == "__connect.errors.exception.message" }?.value == [0x67, 0x72, 0xC3, 0xB6, 0xC3, 0x9F, 0x65, 0x72])
    }
}
