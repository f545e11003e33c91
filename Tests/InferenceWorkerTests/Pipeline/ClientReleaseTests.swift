import Foundation
import InferenceCore
import Kafka
import KafkaTestSupport
import Testing

@testable import InferenceWorker

/// A stopped pipeline and a closed roll-out coordinator let go of their librdkafka clients, so that
/// the worker process can wait for librdkafka to destroy them before it exits (`exit` running under
/// a client's threads can crash: a TLS producer left open ended a stopped worker with SIGSEGV).
@Suite struct ClientReleaseTests {
    /// Waits until every weak reference `alive` reads is nil (polling threads release their client
    /// just after the close they serve has returned), at most 10 s.
    private func released(_ alive: () -> [AnyObject?]) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while alive().contains(where: { $0 != nil }) {
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    @Test func aStoppedPipelineReleasesItselfItsConsumerAndItsPublisher() async throws {
        let harness = try PipelineHarness()
        weak var pipeline: InferencePipeline?
        weak var consumer: KafkaConsumer?
        weak var publisher: OutputPublisher?
        do {
            let running = harness.start(harness.configuration())
            try await running.waitUntilAssigned()
            try await harness.send([TestModels.request(1, id: "r1").json])
            #expect(await harness.waitForOutcomes(1))
            pipeline = running.pipeline
            consumer = running.pipeline.consumer.current
            publisher = running.pipeline.publisher
            #expect(consumer != nil)
            try await running.stop()
        }
        // Without letting go of them at the stop, the consumer's event handler and the producer's
        // delivery handler keep the pipeline and the publisher (and so both clients) for ever.
        #expect(try await released { [pipeline, consumer, publisher] }, "pipeline \(pipeline == nil ? "released" : "kept"), consumer \(consumer == nil ? "released" : "kept"), publisher \(publisher == nil ? "released" : "kept")")
        await harness.close()
    }

    @Test func aCoordinatorClosedWithoutRunningReleasesItsProducer() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        weak var producer: KafkaProducer?
        do {
            let configuration = RolloutCoordinator.Configuration(bootstrapServers: [broker.bootstrapServers], groupID: "g-\(UUID().uuidString.prefix(8))", workerID: "w1")
            let coordinator = try RolloutCoordinator(configuration: configuration, logger: .quiet)
            producer = coordinator.producer
            #expect(!coordinator.isClosed)
            // What `run` does when a signal stops the worker before its service group starts.
            await coordinator.close()
            #expect(coordinator.isClosed)
            await coordinator.close() // idempotent
        }
        // Not closed, its polling thread would keep the producer (and its connections) until exit.
        #expect(try await released { [producer] })
    }
}
