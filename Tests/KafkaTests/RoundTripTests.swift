import Kafka
import KafkaTestSupport
import Synchronization
import Testing

@Suite struct RoundTripTests {
    @Test func preservesKeyValueNullsHeadersPartitionAndTimestamp() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("round-trip")
        try broker.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer.test(broker)

        let sent: [KafkaProducerMessage] = [
            KafkaProducerMessage(
                topic: topic, partition: 2, key: [UInt8]("k1"), value: [UInt8]("v1"),
                headers: [KafkaHeader(key: "h1", string: "a"), KafkaHeader(key: "h-null", value: nil), KafkaHeader(key: "h1", string: "again")],
                timestampMilliseconds: 1_700_000_000_123
            ),
            // A tombstone with a key, and a record with neither key nor value.
            KafkaProducerMessage(topic: topic, partition: 0, key: [UInt8]("k2"), value: nil, timestampMilliseconds: 1_700_000_000_456),
            KafkaProducerMessage(topic: topic, partition: 1, key: nil, value: nil, timestampMilliseconds: 1_700_000_000_789),
            // Binary bytes, including NUL, and an empty (not null) value.
            KafkaProducerMessage(topic: topic, partition: 1, key: [0, 255, 0], value: [0, 1, 2, 0, 254], timestampMilliseconds: 1_700_000_001_000),
            KafkaProducerMessage(topic: topic, partition: 0, key: [], value: [], timestampMilliseconds: 1_700_000_002_000),
        ]
        var reports: [KafkaDeliveryReport] = []
        for message in sent { reports.append(try await producer.sendAndWait(message)) }
        #expect(reports.map(\.partition) == [2, 0, 1, 1, 0])
        #expect(reports.allSatisfy { $0.error == nil && $0.offset != nil && $0.topic == topic })

        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: uniqueName("g"), topics: [topic]))
        let snapshot = await probe.wait { $0.records.count >= sent.count }
        await consumer.close()
        await producer.close()
        let records = try #require(snapshot).records
        #expect(records.count == sent.count)

        for (message, report) in zip(sent, reports) {
            let record = try #require(records.first { $0.partition == report.partition && $0.offset == report.offset })
            #expect(record.topic == topic)
            #expect(record.partition == message.partition)
            #expect(record.key == message.key)
            #expect(record.value == message.value)
            #expect(record.headers == message.headers)
            #expect(record.timestamp == KafkaTimestamp(milliseconds: message.timestampMilliseconds!, kind: .createTime))
        }
    }

    @Test func keyedRecordsStayOnOnePartition() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("keyed")
        try broker.createTopic(topic, partitions: 4)
        let producer = try KafkaProducer.test(broker)
        var partitions: Set<KafkaPartition> = []
        for i in 0..<10 {
            let report = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, key: [UInt8]("customer-42"), value: [UInt8]("\(i)")))
            partitions.insert(report.partition)
        }
        await producer.close()
        #expect(partitions.count == 1)
    }

    @Test func deliveryReportsCarryTheCallersContext() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("context")
        try broker.createTopic(topic, partitions: 2)
        let probe = DeliveryProbe()
        let producer = try KafkaProducer.test(broker) { probe.record($0) }
        for context in UInt64(1)...20 {
            try producer.send(KafkaProducerMessage(topic: topic, partition: KafkaPartition(Int32(context % 2)), value: [UInt8]("\(context)")), context: context)
        }
        try producer.flush(timeout: .seconds(10))
        await producer.close()
        let reports = probe.reports
        #expect(Set(reports.map(\.context)) == Set(1...20))
        #expect(reports.allSatisfy { $0.error == nil && $0.partition.rawValue == Int32($0.context % 2) })
    }

    @Test func producingToAMissingPartitionFailsClearly() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("missing-partition")
        try broker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        // Make sure metadata is known, then ask for a partition that does not exist.
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [1]))
        await #expect(throws: KafkaError.self) {
            try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 7, value: [1]))
        }
        await producer.close()
    }
}

final class DeliveryProbe: Sendable {
    private let state = Mutex<[KafkaDeliveryReport]>([])
    func record(_ report: KafkaDeliveryReport) { state.withLock { $0.append(report) } }
    var reports: [KafkaDeliveryReport] { state.withLock { $0 } }
}
