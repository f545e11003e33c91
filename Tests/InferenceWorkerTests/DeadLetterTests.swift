import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

@Suite struct DeadLetterTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var value: [UInt8]?
        var reason: String
        var stage: String
        /// What Kafka Connect's class headers must name: the component, and the error type.
        var raisedBy: (component: String, error: String) {
            switch reason {
            case "output_validation_failure": ("InferenceCore.OutputSchema", "InferenceCore.OutputValidationError")
            case "malformed_json", "oversized_payload": ("InferenceCore.RequestDecoder", "InferenceCore.RequestDecodingError")
            default:
                stage == "VALUE_CONVERTER" || decoderCatches
                    ? ("InferenceCore.RequestDecoder", "InferenceCore.RequestDecodingError")
                    : ("InferenceCore.InputSchema", "InferenceCore.InputValidationError")
            }
        }
        var decoderCatches: Bool { ["wrong arity", "unknown feature"].contains(name) }
        var description: String { name }
    }

    static let maxPayload = 4096

    static let cases: [Case] = [
        Case(name: "malformed JSON", value: Array("{\"features\":[1,2".utf8), reason: "malformed_json", stage: "VALUE_CONVERTER"),
        Case(name: "not JSON", value: Array("hello".utf8), reason: "malformed_json", stage: "VALUE_CONVERTER"),
        Case(name: "tombstone", value: nil, reason: "malformed_json", stage: "VALUE_CONVERTER"),
        Case(name: "empty value", value: [], reason: "malformed_json", stage: "VALUE_CONVERTER"),
        Case(name: "wrong arity", value: Array("{\"features\":[1,2]}".utf8), reason: "schema_violation", stage: "VALUE_CONVERTER"),
        Case(name: "unknown feature", value: Array("{\"features\":{\"x0\":1,\"x9\":2}}".utf8), reason: "schema_violation", stage: "VALUE_CONVERTER"),
        Case(name: "missing feature", value: Array("{\"features\":{\"x0\":1,\"x1\":2,\"color\":\"red\"}}".utf8), reason: "schema_violation", stage: "TRANSFORMATION"),
        Case(name: "wrong type", value: Array("{\"features\":[\"a\",0,0,\"red\"]}".utf8), reason: "schema_violation", stage: "TRANSFORMATION"),
        Case(name: "out of range", value: Array("{\"features\":[1000,0,0,\"red\"]}".utf8), reason: "out_of_range_value", stage: "TRANSFORMATION"),
        Case(name: "unknown category", value: Array("{\"features\":[1,0,0,\"purple\"]}".utf8), reason: "unknown_category", stage: "TRANSFORMATION"),
        Case(name: "oversized", value: Array(("{\"features\":[1,0,0,\"red\"],\"pad\":\"" + String(repeating: "x", count: maxPayload) + "\"}").utf8), reason: "oversized_payload", stage: "VALUE_CONVERTER"),
        Case(name: "model output not finite", value: Array("{\"features\":[42,0,0,\"red\"]}".utf8), reason: "output_validation_failure", stage: "TASK_PUT"),
    ]

    @Test func everyReasonKeepsTheOriginalRecordAndAddsKafkaConnectHeaders() async throws {
        let harness = try PipelineHarness(partitions: 1)
        var configuration = harness.configuration(worker: "worker-7")
        configuration.maxPayloadBytes = Self.maxPayload
        let model = TestModels.scorer(kernel: PoisonKernel(inner: TestModels.scorer().kernel!, poison: 42))
        let running = harness.start(configuration, model: model)
        try await running.waitUntilAssigned()

        // Each bad record sits between two good ones: it must not hold them back or fail them.
        var values: [[UInt8]?] = []
        for (i, c) in Self.cases.enumerated() {
            values.append(TestModels.request(2 * i, id: "good-\(2 * i)").json)
            values.append(c.value)
        }
        values.append(TestModels.request(999, id: "good-last").json)
        let originalHeaders = [KafkaHeader(key: "traceparent", string: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), KafkaHeader(key: "h", value: nil)]
        let reports = try await harness.send(values, keys: values.indices.map { Array("key-\($0)".utf8) }, headers: originalHeaders, partition: 0)
        #expect(await harness.waitForOutcomes(values.count))
        try await running.stop()

        #expect(harness.predictions.count == Self.cases.count + 1, "every good record was predicted")
        let deadLetters = harness.deadLetterRecords
        #expect(deadLetters.count == Self.cases.count)
        for (i, c) in Self.cases.enumerated() {
            let index = 2 * i + 1
            let report = reports[index]
            let record = try #require(deadLetters.first { $0.headers.value("__connect.errors.offset") == "\(report.offset!.rawValue)" }, "\(c)")
            #expect(record.key == Array("key-\(index)".utf8), "\(c): original key")
            #expect(record.value == c.value, "\(c): original value, byte for byte")
            #expect(record.timestamp?.milliseconds == 1_700_000_000_000 + Int64(index), "\(c): original timestamp")
            #expect(Array(record.headers.prefix(2)) == originalHeaders, "\(c): original headers first, unchanged")
            let headers = record.headers
            #expect(headers.value("__connect.errors.topic") == harness.input)
            #expect(headers.value("__connect.errors.partition") == "0")
            #expect(headers.value("__connect.errors.stage") == c.stage, "\(c)")
            #expect(headers.value("__connect.errors.class.name") == c.raisedBy.component, "\(c)")
            #expect(headers.value("__connect.errors.exception.class.name") == c.raisedBy.error, "\(c)")
            #expect(headers.value("__connect.errors.exception.message")?.isEmpty == false)
            #expect(headers.value("inference.errors.reason") == c.reason, "\(c)")
            #expect(headers.value("inference.model.name") == "scorer")
            #expect(headers.value("inference.model.version") == "1")
            #expect(headers.value("inference.worker.id") == "worker-7")
        }
        await harness.close()
    }

    @Test func anUnwritableDeadLetterTopicHoldsItsPartitionBackInsteadOfDropping() async throws {
        // Two brokers: the dead-letter topic's leader is broker 2, whose produce requests fail.
        let broker = try EmbeddedKafkaBroker(brokerCount: 2, logger: .quiet)
        let harness = try PipelineHarness(broker: broker)
        try broker.setPartitionLeader(topic: harness.deadLetters, partition: 0, broker: 2)
        for p in 0..<harness.partitions {
            for topic in [harness.input, harness.output] { try broker.setPartitionLeader(topic: topic, partition: KafkaPartition(Int32(p)), broker: 1) }
        }
        var configuration = harness.configuration()
        configuration.consumerProperties["statistics.interval.ms"] = "100"
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        // Every produce to broker 2 fails (not retriable) for a while: the dead letter cannot be written.
        for _ in 0..<6 { try broker.injectBrokerRequestError(.librdkafka(29), api: .produce, broker: 2) }

        var values: [[UInt8]?] = (0..<10).map { TestModels.request($0, id: "r\($0)").json }
        values.insert(Array("broken".utf8), at: 3)
        let reports = try await harness.send(values, partition: 1)
        let badOffset = try #require(reports[3].offset).rawValue

        // The good records after it are still predicted...
        #expect(await harness.outcomes.wait(timeout: .seconds(30)) { $0.records.filter { $0.topic == harness.output }.count >= 10 } != nil)
        // ...but while the dead letter is unwritten, the partition is not committed past it.
        let partition = KafkaTopicPartition(topic: harness.input, partition: 1)
        let statistics = running.pipeline.latestStatistics?.partitions.first { $0.topicPartition == partition }
        #expect(running.pipeline.counters.snapshot.blocked > 0, "the refused dead letter was seen and retried")
        if harness.deadLetterRecords.isEmpty { // still refused: nothing may be committed past it
            #expect((statistics?.committedOffset?.rawValue ?? -1) <= badOffset, "committed \(String(describing: statistics?.committedOffset)) past the unwritten dead letter at \(badOffset)")
        }
        // Once the topic accepts it again, the dead letter is written and the partition moves on.
        #expect(await harness.waitForOutcomes(11, timeout: .seconds(60)))
        #expect(harness.deadLetterRecords.count == 1)
        try await running.stop()
        await harness.close()
    }
}
