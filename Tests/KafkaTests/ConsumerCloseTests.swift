import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// Leaving the group on close waits for the group coordinator; a stopping worker must not wait for
/// one that does not answer (a broker outage during a rolling update held `run` for minutes).
@Suite struct ConsumerCloseTests {
    @Test func closeWithATimeoutReturnsWhileTheCoordinatorDoesNotAnswerAndTheCloseFinishesLater() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = try await broker.topicWithOneRecord("close")

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

/// librdkafka's destroy waits until every message of the client is destroyed: a consumer released
/// while a batch of its records is still held (a record in flight at shutdown, kept by an output
/// not yet acknowledged) must not block whoever releases it. (It did: a `make test` run hung in the
/// pipeline's stop once the pipeline let go of its consumer.)
@Suite struct ConsumerReleaseTests {
    /// A reference the test drops on a thread of its own.
    final class Held<Value: AnyObject>: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Value?
        init(_ value: Value? = nil) { self.value = value }
        var current: Value? { lock.withLock { value } }
        func set(_ newValue: Value?) { lock.withLock { value = newValue } }
        /// Whether this is the only strong reference to the value.
        var isUnique: Bool { lock.withLock { isKnownUniquelyReferenced(&value) } }
    }

    /// Runs `body` on a thread of its own and says whether it returned within `seconds`.
    private func returns(within seconds: Int, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Thread {
            body()
            done.signal()
        }.start()
        return done.wait(timeout: .now() + .seconds(seconds)) == .success
    }

    @Test func aConsumerReleasedWhileABatchIsHeldDoesNotBlockAndGoesWithTheBatch() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = try await broker.topicWithOneRecord("held")

        let batch = Held<KafkaMessageBatch>()
        let consumer = Held(try KafkaConsumer(configuration: .test(broker, group: uniqueName("g"), topics: [topic]), logger: .quiet) { event in
            if case .messages(let received) = event { batch.set(received) }
        })
        weak var released = consumer.current
        let deadline = ContinuousClock.now + .seconds(30)
        while batch.current == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(batch.current?.count == 1)
        #expect(await consumer.current?.close(timeout: .seconds(30)) == true)
        // The polling thread lets go just after the close: wait until this is the last reference, so
        // that the release below is the one that destroys the consumer.
        let uniqueDeadline = ContinuousClock.now + .seconds(10)
        while !consumer.isUnique && ContinuousClock.now < uniqueDeadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(consumer.isUnique, "the polling thread let go of the consumer after its close")

        #expect(returns(within: 10) { consumer.set(nil) }, "releasing the consumer while its batch is held does not block")
        #expect(released == nil, "nothing else held the consumer")
        // The batch kept the client: releasing it destroys the message first, then the client.
        #expect(returns(within: 10) { batch.set(nil) }, "releasing the last batch destroyed the client")
    }
}

extension EmbeddedKafkaBroker {
    /// A new one-partition topic holding one record ("x"); returns its name.
    fileprivate func topicWithOneRecord(_ prefix: String) async throws -> String {
        let topic = uniqueName(prefix)
        try createTopic(topic, partitions: 1)
        let producer = try KafkaProducer.test(self)
        try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: Array("x".utf8)))
        try producer.flush(timeout: .seconds(10))
        await producer.close()
        return topic
    }
}
