import Kafka
import KafkaTestSupport
import Testing

@Suite struct StatisticsTests {
    @Test func parsesPerPartitionLagAndSkipsTheInternalPartition() throws {
        let json = """
        {"name":"rdkafka#consumer-1","type":"consumer","ts":123456789,
         "topics":{"requests":{"topic":"requests","partitions":{
            "0":{"partition":0,"hi_offset":100,"committed_offset":40,"stored_offset":60,"consumer_lag":60,"consumer_lag_stored":40,"fetchq_cnt":7},
            "1":{"partition":1,"hi_offset":-1,"committed_offset":-1001,"stored_offset":-1001,"consumer_lag":-1,"consumer_lag_stored":-1,"fetchq_cnt":0},
            "-1":{"partition":-1,"hi_offset":-1,"consumer_lag":-1}}}}}
        """
        let statistics = try KafkaStatistics(json: json)
        #expect(statistics.clientName == "rdkafka#consumer-1")
        #expect(statistics.timestampMicroseconds == 123456789)
        #expect(statistics.partitions.map(\.topicPartition.partition) == [0, 1])
        let p0 = statistics.partitions[0]
        #expect(p0.consumerLag == 60)
        #expect(p0.consumerLagStored == 40)
        #expect(p0.committedOffset == 40)
        #expect(p0.storedOffset == 60)
        #expect(p0.highWatermark == 100)
        #expect(p0.fetchQueueCount == 7)
        let p1 = statistics.partitions[1]
        #expect(p1.consumerLag == nil && p1.committedOffset == nil && p1.highWatermark == nil)
    }

    @Test func rejectsGarbage() {
        #expect(throws: (any Error).self) { try KafkaStatistics(json: "not json") }
        #expect(throws: (any Error).self) { try KafkaStatistics(json: "[1,2]") }
    }

    @Test func aLiveConsumerReportsStoredLag() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("stats")
        try broker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        for i in 0..<5 { try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("\(i)"))) }
        try producer.flush(timeout: .seconds(10))
        await producer.close()

        var configuration = KafkaConsumerConfiguration.test(broker, group: uniqueName("g"), topics: [topic])
        configuration.statisticsInterval = .milliseconds(100)
        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(configuration)
        #expect(await probe.wait { $0.records.count == 5 } != nil)
        try consumer.storeOffsets([KafkaTopicPartition(topic: topic, partition: 0): 2])
        let snapshot = await probe.wait { snapshot in
            snapshot.statistics.contains { $0.partitions.contains { $0.topicPartition.topic == topic && $0.consumerLagStored == 3 } }
        }
        #expect(snapshot != nil, "high watermark 5 minus stored offset 2")
        await consumer.close()
    }
}
