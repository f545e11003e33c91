import Foundation
import InferenceCore
@testable import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

/// The join store survives a restart: a newly assigned partition's store is rebuilt from the
/// output topic, minus the predictions whose labels were already committed.
@Suite struct LabelStoreRebuildTests {
    /// Requests `range` with ids `r-i`, keyed like ``PipelineHarness/send(_:keys:headers:partition:)``
    /// does, timestamped now (the rebuild finds its start in the output topic by record time, and a
    /// prediction keeps its request's timestamp).
    static func sendRequests(_ harness: PipelineHarness, _ range: Range<Int>) async throws {
        let sender = try KafkaProducer.test(harness.broker)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for i in range {
            try sender.send(KafkaProducerMessage(topic: harness.input, key: Array("key-\(i % 13)".utf8), value: TestModels.request(i, id: "r-\(i)").json,
                                                 timestampMilliseconds: now), blockIfQueueFull: true)
        }
        try sender.flush(timeout: .seconds(30))
        await sender.close()
    }

    @Test func aRestartRebuildsPendingPredictionsAndSkipsThoseAlreadyLabelled() async throws {
        let harness = try QualityWiringTests.harness()
        var configuration = QualityWiringTests.configuration(harness, windowRecords: 1000)
        configuration.groupID = uniqueName("workers")
        let n = 20
        let first = harness.start(configuration)
        try await first.waitUntilAssigned()
        try await Self.sendRequests(harness, 0..<n)
        #expect(await harness.waitForOutcomes(n))
        // Half the labels, counted and committed by the graceful stop.
        try await harness.sendLabels(LabelCommitTests.labelEvents(0..<(n / 2)))
        #expect(await LabelCommitTests.eventually { first.pipeline.quality?.snapshot.store.joined == n / 2 })
        try await first.stop()

        let second = harness.start(configuration)
        try await second.waitUntilAssigned()
        #expect(await LabelCommitTests.eventually { (second.pipeline.quality?.snapshot.rebuiltPartitions ?? 0) == 4 }, "every partition rebuilt")
        #expect(second.pipeline.quality?.snapshot.restoredPredictions == n / 2, "the unlabelled half is restored")
        #expect(second.pipeline.quality?.snapshot.rebuildFailures == 0)
        // Every label again: the second half joins the restored predictions; the first half, already
        // counted, does not join again.
        try await harness.sendLabels(LabelCommitTests.labelEvents(0..<n))
        #expect(await LabelCommitTests.eventually { second.pipeline.quality?.snapshot.labelsRead == n }, "only the new labels are read")
        let snapshot = try #require(second.pipeline.quality?.snapshot)
        #expect(snapshot.store.joined == n / 2, "\(snapshot.store)")
        try await second.stop()
        await harness.close()
    }
}
