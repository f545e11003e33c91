import Kafka
import KafkaTestSupport
import Testing

/// Leaving the group on close waits for the group coordinator; a stopping worker must not wait for
/// one that does not answer (a broker outage during a rolling update held `run` for minutes).
@Suite struct ConsumerCloseTests {
    @Test func closeWithATimeoutReturnsWhileTheCoordinatorDoesNotAnswerAndTheCloseFinishesLater() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("close")
        try broker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: Array("x".utf8)))
        try producer.flush(timeout: .seconds(10))
        await producer.close()

        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: uniqueName("g"), topics: [topic]))
        #expect(await probe.wait { $0.records.count == 1 } != nil)
        // An offset to commit on close: the final commit is one of the requests close waits for.
        try consumer.storeOffsets([KafkaTopicPartition(topic: topic, partition: 0): 1])
        try broker.setRoundTripTime(.seconds(30), broker: 1)

        let start = ContinuousClock.now
        let closed = await consumer.close(timeout: .seconds(1))
        let waited = start.duration(to: .now)
        #expect(!closed, "the coordinator answers in 30 s: the close is not done after 1 s")
        #expect(waited < .seconds(15), "returned at its timeout, not with the close: \(waited)")
        #expect(!consumer.isClosed)
        // What the worker checks before it exits: this client (at least) is still open.
        #expect(KafkaLibrary.openClients >= 1)
        #expect(!KafkaLibrary.waitForClientsToClose(timeout: .milliseconds(100)))

        try broker.setRoundTripTime(.zero, broker: 1)
        #expect(await consumer.close(timeout: .seconds(90)), "the close went on in the background and finishes")
        #expect(consumer.isClosed)
    }
}
