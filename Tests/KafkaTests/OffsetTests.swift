import Kafka
import KafkaTestSupport
import Testing

@Suite struct OffsetTests {
    /// Produces `count` records with values "0", "1", ... to partition 0 of a new topic.
    private func topicWithRecords(_ broker: EmbeddedKafkaBroker, count: Int) async throws -> String {
        let topic = uniqueName("offsets")
        try broker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        for i in 0..<count {
            try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("\(i)")))
        }
        try producer.flush(timeout: .seconds(10))
        await producer.close()
        return topic
    }

    @Test func storedOffsetsCommittedInTheRevokeHookSurviveARestartAndTheRestIsRedelivered() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = try await topicWithRecords(broker, count: 10)
        let group = uniqueName("g")
        let partition = KafkaTopicPartition(topic: topic, partition: 0)

        // First run: read everything, but finish only records 0...5, then leave the group.
        let first = ConsumerProbe(onRevoking: { consumer, _ in try? consumer.commitStored() })
        let c1 = try first.makeConsumer(.test(broker, group: group, topics: [topic]))
        #expect(await first.wait { $0.records.count == 10 } != nil)
        try c1.storeOffsets([partition: 6])
        await c1.close()

        // Second run: starts at 6; 6...9 (read before but never stored) are delivered again.
        let second = ConsumerProbe()
        let c2 = try second.makeConsumer(.test(broker, group: group, topics: [topic]))
        #expect(try c2.committedOffsets(for: [partition])[partition] == 6)
        let snapshot = try #require(await second.wait { $0.records.count >= 4 })
        #expect(snapshot.records.map(\.offset) == [6, 7, 8, 9])
        #expect(snapshot.records.map(\.valueString) == ["6", "7", "8", "9"])
        await c2.close()
    }

    @Test func commitStoredCommitsOnlyWhatWasStored() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = try await topicWithRecords(broker, count: 5)
        let group = uniqueName("g")
        let partition = KafkaTopicPartition(topic: topic, partition: 0)

        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: group, topics: [topic]))
        #expect(await probe.wait { $0.records.count == 5 } != nil)
        try consumer.commitStored() // nothing stored yet: not an error, nothing committed
        #expect(try consumer.committedOffsets(for: [partition])[partition] == .invalid)
        try consumer.storeOffsets([partition: 3])
        try consumer.commitStored()
        #expect(try consumer.committedOffsets(for: [partition])[partition] == 3)
        await consumer.close()
    }

    @Test func storingForAPartitionNotOwnedFails() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = try await topicWithRecords(broker, count: 1)
        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: uniqueName("g"), topics: [topic]))
        #expect(await probe.wait { $0.records.count == 1 } != nil)
        #expect(throws: KafkaError.self) {
            try consumer.storeOffsets([KafkaTopicPartition(topic: "not-mine", partition: 0): 1])
        }
        await consumer.close()
    }
}
