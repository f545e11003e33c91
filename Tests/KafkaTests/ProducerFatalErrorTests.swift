@_spi(Testing) import Kafka
import KafkaTestSupport
import Synchronization
import Testing

/// What a producer owner needs to survive a producer that turns unusable (issue 19): the fatal
/// condition is surfaced (``KafkaProducer/fatalError`` and the error handler), failed records say
/// whether they may have been written, and a new instance on the same cluster works.
@Suite struct ProducerFatalErrorTests {
    /// Errors passed to a producer's error handler.
    final class ErrorProbe: Sendable {
        private let state = Mutex<[KafkaError]>([])
        func record(_ error: KafkaError) { state.withLock { $0.append(error) } }
        var errors: [KafkaError] { state.withLock { $0 } }
        var fatal: [KafkaError] { errors.filter(\.isFatal) }
    }

    private static func producer(_ broker: EmbeddedKafkaBroker, deliveries: DeliveryProbe, errors: ErrorProbe,
                                 messageTimeout: Duration = .seconds(30)) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
        configuration.linger = .milliseconds(1)
        configuration.messageTimeout = messageTimeout
        return try KafkaProducer(configuration: configuration, logger: .quiet, deliveryHandler: { deliveries.record($0) }, errorHandler: { errors.record($0) })
    }

    /// Waits (bounded) until `condition` holds; the bound only keeps a failing test from hanging.
    private static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<300 where !condition() { try await Task.sleep(for: .milliseconds(20)) }
    }

    private static func values(_ broker: EmbeddedKafkaBroker, topic: String, count: Int) async throws -> [String] {
        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(.test(broker, group: uniqueName("g"), topics: [topic]))
        let snapshot = try #require(await probe.wait { $0.records.count >= count })
        try await Task.sleep(for: .milliseconds(300)) // anything beyond `count` would show up now
        let records = probe.snapshot.records
        await consumer.close()
        _ = snapshot
        return records.compactMap(\.valueString)
    }

    @Test func anOutOfOrderSequenceOnTheFirstRequestInFlightMakesTheProducerFatalAndANewInstanceDelivers() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("fatal-seq")
        try broker.createTopic(topic, partitions: 1)
        let deliveries = DeliveryProbe()
        let errors = ErrorProbe()
        let producer = try Self.producer(broker, deliveries: deliveries, errors: errors)
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("warm-up")))
        #expect(producer.fatalError == nil)

        // librdkafka cannot reason about a sequence gap on its head-of-line request: fatal.
        broker.injectRequestErrors([.outOfOrderSequenceNumber], api: .produce)
        for i in 1...5 {
            try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("lost-\(i)")), context: UInt64(i))
        }
        try await Self.eventually { deliveries.reports.count == 5 && !errors.fatal.isEmpty }

        let fatal = try #require(producer.fatalError)
        #expect(fatal.isFatal)
        #expect(fatal.code == .outOfOrderSequenceNumber, "the original code, not _FATAL")
        #expect(producer.isFatal)
        #expect(errors.fatal.count == 1, "the handler hears of it once")
        #expect(errors.fatal.first?.code == .outOfOrderSequenceNumber)
        let reports = deliveries.reports
        #expect(reports.count == 5)
        #expect(reports.allSatisfy { $0.error != nil && $0.persistence != .persisted }, "\(reports.map { ($0.error?.code, $0.persistence) })")
        #expect(!reports.contains { $0.error?.isAboutTheMessage == true }, "nothing is wrong with the records")

        // Sending on the fatal instance fails at once, saying why.
        do {
            try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("refused")), context: 99)
            Issue.record("a fatal producer accepted a record")
        } catch {
            #expect(error.code == .fatal && error.isFatal)
            #expect((error.underlying as? KafkaError)?.code == .outOfOrderSequenceNumber)
        }
        await producer.close(flushTimeout: .zero)

        // A new instance (a new producer id) delivers, in order; nothing of the failed batch was written.
        let replacement = try KafkaProducer.test(broker)
        for i in 1...5 { _ = try await replacement.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("again-\(i)"))) }
        #expect(replacement.fatalError == nil)
        await replacement.close()
        let values = try await Self.values(broker, topic: topic, count: 6)
        #expect(values == ["warm-up"] + (1...5).map { "again-\($0)" })
    }

    @Test func aFencedProducerIsReportedFatalAlthoughLibrdkafkaKeepsItRunning() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("fenced")
        try broker.createTopic(topic, partitions: 1)
        let deliveries = DeliveryProbe()
        let errors = ErrorProbe()
        let producer = try Self.producer(broker, deliveries: deliveries, errors: errors)
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("warm-up")))

        broker.injectRequestErrors([.producerFenced], api: .produce)
        try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("fenced")), context: 1)
        try await Self.eventually { !deliveries.reports.isEmpty }

        let report = try #require(deliveries.reports.first)
        #expect(report.error?.code == .producerFenced)
        #expect(report.error?.isFatal == true)
        #expect(report.error?.isAboutTheMessage == false)
        #expect(producer.fatalError?.code == .producerFenced, "latched from the delivery report")
        #expect(errors.fatal.map(\.code) == [.producerFenced])
        await producer.close(flushTimeout: .seconds(1))

        let replacement = try KafkaProducer.test(broker)
        _ = try await replacement.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("again")))
        await replacement.close()
        #expect(try await Self.values(broker, topic: topic, count: 2) == ["warm-up", "again"])
    }

    @Test func anInvalidProducerEpochFailsTheRecordNotTheProducer() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("epoch")
        try broker.createTopic(topic, partitions: 1)
        let deliveries = DeliveryProbe()
        let errors = ErrorProbe()
        let producer = try Self.producer(broker, deliveries: deliveries, errors: errors)
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("warm-up")))

        broker.injectRequestErrors([.invalidProducerEpoch], api: .produce)
        try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("bumped")), context: 1)
        try await Self.eventually { !deliveries.reports.isEmpty }
        let report = try #require(deliveries.reports.first)
        #expect(report.error?.code == .invalidProducerEpoch)
        #expect(report.error?.isRetriable == true, "librdkafka bumps the epoch: the record can be sent again")
        #expect(report.persistence == .notPersisted)
        #expect(producer.fatalError == nil && errors.fatal.isEmpty)
        // The same instance goes on (with a bumped epoch).
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("resent")))
        await producer.close()
        #expect(try await Self.values(broker, topic: topic, count: 2) == ["warm-up", "resent"])
    }

    @Test func recordsQueuedWhenTheProducerTurnsFatalArePurgedUnwritten() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("purged")
        try broker.createTopic(topic, partitions: 1)
        let deliveries = DeliveryProbe()
        let errors = ErrorProbe()
        let producer = try Self.producer(broker, deliveries: deliveries, errors: errors)
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("warm-up")))
        try broker.setBrokerDown(1) // nothing leaves the local queue
        for i in 1...3 { try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("queued-\(i)")), context: UInt64(i)) }

        try producer.raiseFatalErrorForTesting(.producerFenced, reason: "test")
        try await Self.eventually { deliveries.reports.count == 3 }
        #expect(producer.fatalError?.code == .producerFenced)
        #expect(errors.fatal.count == 1)
        let reports = deliveries.reports
        #expect(reports.map(\.error?.code) == Array(repeating: .purgedFromQueue, count: 3))
        #expect(reports.allSatisfy { $0.persistence == .notPersisted })
        try broker.setBrokerUp(1)
        await producer.close(flushTimeout: .zero)
    }

    @Test func aTimedOutRecordIsPossiblyPersistedOnlyIfItWasSent() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("timeout")
        try broker.createTopic(topic, partitions: 1)
        let deliveries = DeliveryProbe()
        let errors = ErrorProbe()
        let producer = try Self.producer(broker, deliveries: deliveries, errors: errors, messageTimeout: .milliseconds(1500))
        // Connected, with a producer id (on a loaded machine the first attempt can itself time out).
        var connected = false
        for _ in 0..<5 where !connected {
            connected = (try? await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("warm-up")))) != nil
        }
        try #require(connected)

        // Sent, and the answer is slower than message.timeout.ms: it may have been written.
        try broker.setRoundTripTime(.seconds(4), broker: 1)
        try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("slow")), context: 1)
        try await Self.eventually { deliveries.reports.count == 1 }
        let slow = try #require(deliveries.reports.first)
        #expect(slow.error?.code == .messageTimedOut)
        #expect(slow.persistence == .possiblyPersisted)
        #expect(slow.error?.isAboutTheMessage == false)
        await producer.close(flushTimeout: .zero)

        // Never sent (the broker refuses connections): certainly not written.
        try broker.setRoundTripTime(.zero, broker: 1)
        let unsent = DeliveryProbe()
        let other = try Self.producer(broker, deliveries: unsent, errors: ErrorProbe(), messageTimeout: .milliseconds(1500))
        try broker.setBrokerDown(1)
        try other.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8]("unsent")), context: 1)
        try await Self.eventually { unsent.reports.count == 1 }
        #expect(unsent.reports.first?.error?.code == .messageTimedOut)
        #expect(unsent.reports.first?.persistence == .notPersisted)
        try broker.setBrokerUp(1)
        await other.close(flushTimeout: .zero)
    }

    @Test func errorsAboutTheRecordAreToldApartFromErrorsAboutTheTopic() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} }
        let topic = uniqueName("blame")
        try broker.createTopic(topic, partitions: 1)
        var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
        configuration.additionalProperties = ["message.max.bytes": "2000"]
        let deliveries = DeliveryProbe()
        let producer = try KafkaProducer(configuration: configuration, logger: .quiet) { deliveries.record($0) }
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [0]))

        // Too large for the client: refused at once, about the record.
        do {
            try producer.send(KafkaProducerMessage(topic: topic, partition: 0, value: [UInt8](repeating: 1, count: 5000)), context: 1)
            Issue.record("a record over message.max.bytes was accepted")
        } catch {
            #expect(error.code == .messageTooLarge && error.isAboutTheMessage && !error.isFatal)
        }
        // Not allowed on the topic: about the topic, the record is fine.
        broker.injectRequestErrors(.topicAuthorizationFailed, count: 1, api: .produce)
        do {
            _ = try await producer.sendAndWait(KafkaProducerMessage(topic: topic, partition: 0, value: [2]))
            Issue.record("expected a delivery error")
        } catch let error as KafkaError {
            #expect(error.code == .topicAuthorizationFailed)
            #expect(!error.isAboutTheMessage && !error.isFatal)
        }
        #expect(producer.fatalError == nil)
        await producer.close(flushTimeout: .zero)
    }
}
