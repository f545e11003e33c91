import Kafka
import KafkaTestSupport
import Synchronization
import Testing

@Suite struct FaultInjectionTests {
    @Test func retriableProduceErrorsAreRetriedAndEveryRecordIsDeliveredOnce() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("retry")
        try broker.createTopic(topic, partitions: 1)
        let deliveries = DeliveryProbe()
        let producer = try KafkaProducer.test(broker) { deliveries.record($0) }
        // Make sure the producer is connected and idempotent state initialised, then inject.
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("warm-up")))
        broker.injectRequestErrors([.notEnoughReplicas, .requestTimedOut, .notLeaderForPartition], api: .produce)

        for i in 0..<20 {
            try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("\(i)")), context: UInt64(i + 1))
        }
        try producer.flush(timeout: .seconds(30))
        await producer.close()
        let reports = deliveries.reports
        #expect(reports.count == 20)
        #expect(reports.allSatisfy { $0.error == nil }, "retriable errors are retried, not reported")

        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: uniqueName("g"), topics: [topic]))
        let snapshot = try #require(await probe.wait { $0.records.count >= 21 })
        await consumer.close()
        #expect(snapshot.records.compactMap(\.valueString) == ["warm-up"] + (0..<20).map { "\($0)" }, "no loss, no duplicate, in order")
    }

    @Test func aBrokerThatGoesDownAndComesBackLosesNoAcknowledgedRecord() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("down-up")
        try broker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        for i in 0..<10 { _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("acked-\(i)"))) }

        try broker.setBrokerDown(1)
        // Records sent while the broker is down wait in the producer and go out when it is back.
        let pending = (0..<10).map { i in
            Task { try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("later-\(i)"))) }
        }
        try await Task.sleep(for: .milliseconds(500)) // a real outage, not a blip: the point of the test
        try broker.setBrokerUp(1)
        for task in pending { _ = try await task.value }
        await producer.close()

        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: uniqueName("g"), topics: [topic]))
        let snapshot = try #require(await probe.wait { $0.records.count >= 20 })
        await consumer.close()
        let values = Set(snapshot.records.compactMap(\.valueString))
        #expect(values == Set((0..<10).map { "acked-\($0)" } + (0..<10).map { "later-\($0)" }))
        #expect(snapshot.records.count == 20)
    }

    @Test func aFullLocalQueueIsRetriableBackPressureNotLoss() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("queue-full")
        try broker.createTopic(topic, partitions: 1)
        var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
        configuration.maxQueuedMessages = 5
        let deliveries = DeliveryProbe()
        let producer = try KafkaProducer(configuration: configuration, logger: .quiet) { deliveries.record($0) }
        try broker.setBrokerDown(1) // nothing drains the queue
        var accepted = 0
        var refusal: KafkaError?
        for i in 0..<10 {
            do {
                try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("\(i)")), context: UInt64(i + 1))
                accepted += 1
            } catch {
                refusal = error
                break
            }
        }
        #expect(accepted == 5, "the queue holds maxQueuedMessages")
        #expect(refusal?.code == .queueFull)
        #expect(refusal?.isRetriable == true, "back-pressure: retry once delivery reports drain the queue")
        try broker.setBrokerUp(1)
        try producer.flush(timeout: .seconds(30))
        #expect(deliveries.reports.count == 5 && deliveries.reports.allSatisfy { $0.error == nil }, "what was accepted is delivered")
        await producer.close()
    }

    @Test func roundTripTimeIsInjected() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("rtt")
        try broker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [0]))
        try broker.setRoundTripTime(.milliseconds(300), broker: 1)
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [1]))
        #expect(clock.now - start >= .milliseconds(300), "a lower bound only: it cannot be faster than the injected delay")
        await producer.close()
    }

    @Test func nonRetriableTopicErrorsReachTheDeliveryReport() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("too-large")
        try broker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [0]))
        broker.injectRequestErrors(.messageTooLarge, count: 1, api: .produce)
        do {
            _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [1]))
            Issue.record("expected a delivery error")
        } catch let error as KafkaError {
            #expect(error.code == .messageTooLarge)
            #expect(!error.isRetriable)
            #expect(error.isAboutTheMessage, "the broker refused this record, not the topic")
        }
        await producer.close()
    }
}
