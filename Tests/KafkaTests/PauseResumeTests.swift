import Kafka
import KafkaTestSupport
import Testing

@Suite struct PauseResumeTests {
    @Test func pauseStopsAPartitionAndResumeRestartsItWithoutLossOrDuplication() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("pause")
        try broker.createTopic(topic, partitions: 2)
        let p0 = KafkaTopicPartition(topic: topic, partition: 0)
        let producer = try KafkaProducer.test(broker)
        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: uniqueName("g"), topics: [topic]))
        #expect(await probe.wait { $0.assignment.count == 2 } != nil)

        for i in 0..<5 { _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("a\(i)"))) }
        #expect(await probe.wait { $0.records.count == 5 } != nil)

        try consumer.pause([p0])
        for i in 0..<5 { _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("b\(i)"))) }
        // A sentinel on the other partition, produced after them: one broker serves both partitions
        // in the same fetches, so once the sentinel arrives, p0's records would have too.
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 1, value: [UInt8]("sentinel")))
        let paused = try #require(await probe.wait { $0.records.contains { $0.valueString == "sentinel" } })
        #expect(paused.records.filter { $0.partition == 0 }.count == 5, "nothing from the paused partition")

        try consumer.resume([p0])
        let resumed = try #require(await probe.wait { $0.records.filter { $0.partition == 0 }.count >= 10 })
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("c0")))
        let final = try #require(await probe.wait { $0.records.contains { $0.valueString == "c0" } })
        let p0Offsets = final.records.filter { $0.partition == 0 }.map(\.offset.rawValue)
        #expect(p0Offsets == Array(0...10), "every record once, in order")
        #expect(resumed.records.filter { $0.partition == 0 }.map(\.valueString) == (0..<5).map { "a\($0)" } + (0..<5).map { "b\($0)" })
        await consumer.close()
        await producer.close()
    }

    @Test func suspendedDeliveryHoldsAPartitionBackAndKeepsWhatWasPrefetched() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("suspend")
        try broker.createTopic(topic, partitions: 2)
        let p0 = KafkaTopicPartition(topic: topic, partition: 0)
        let producer = try KafkaProducer.test(broker)
        let probe = ConsumerProbe()
        var configuration = KafkaConsumerConfiguration.test(broker, group: uniqueName("g"), topics: [topic])
        configuration.statisticsInterval = .milliseconds(100)
        let consumer = try probe.makeConsumer(configuration)
        #expect(await probe.wait { $0.assignment.count == 2 } != nil)

        for i in 0..<5 { _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("a\(i)"))) }
        #expect(await probe.wait { $0.records.count == 5 } != nil)

        consumer.suspendDelivery(of: [p0])
        #expect(consumer.suspendedPartitions == [p0])
        for i in 0..<5 { _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("b\(i)"))) }
        // The sentinel, produced after them on the other partition of the same broker: once it
        // arrives, p0's records have been fetched too (the fetcher is not paused).
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 1, value: [UInt8]("sentinel")))
        let suspended = try #require(await probe.wait { $0.records.contains { $0.valueString == "sentinel" } })
        #expect(suspended.records.filter { $0.partition == 0 }.count == 5, "nothing from the suspended partition")

        // They wait in librdkafka's queue for p0, already fetched (a librdkafka pause would have
        // dropped them, to fetch them again after the resume).
        let queued = await probe.wait { snapshot in
            snapshot.statistics.last?.partitions.first { $0.topicPartition == p0 }?.fetchQueueCount == 5
        }
        #expect(queued != nil, "the suspended partition's records are prefetched and kept")

        consumer.resumeDelivery(of: [p0])
        let resumed = try #require(await probe.wait { $0.records.filter { $0.partition == 0 }.count >= 10 })
        #expect(resumed.records.filter { $0.partition == 0 }.map(\.valueString) == (0..<5).map { "a\($0)" } + (0..<5).map { "b\($0)" })
        #expect(consumer.suspendedPartitions.isEmpty)

        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("c0")))
        let final = try #require(await probe.wait { $0.records.contains { $0.valueString == "c0" } })
        #expect(final.records.filter { $0.partition == 0 }.map(\.offset.rawValue) == Array(0...10), "every record once, in order")
        await consumer.close()
        await producer.close()
    }
}
