import Foundation
import InferenceCore
@testable import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

/// The labels-topic commit rule on the embedded broker: a label's offset is committed only once
/// the quality report that counted it was published.
@Suite struct LabelCommitTests {
    /// Waits (polling, bounded) until `condition` holds.
    static func eventually(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Starts a worker, sends it `n` requests and a label for each, and waits until every label is
    /// joined (the window stays open unless the configuration closes it).
    static func startWithJoinedLabels(_ harness: PipelineHarness, _ configuration: WorkerConfiguration, n: Int) async throws -> RunningPipeline {
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        try await harness.send((0..<n).map { TestModels.request($0, id: "r-\($0)").json })
        #expect(await harness.waitForOutcomes(n))
        try await harness.sendLabels(labelEvents(0..<n))
        #expect(await eventually { running.pipeline.quality?.snapshot.store.joined == n }, "every label joined")
        return running
    }

    static func labelEvents(_ range: Range<Int>) -> [(key: String, value: String)] {
        range.map { (key: "key-\($0 % 13)", value: #"{"id": "r-\#($0)", "label": "\#(QualityWiringTests.truth($0))"}"#) }
    }

    static func committed(_ running: RunningPipeline, topic: String, partitions: Int) throws -> [Int64] {
        let consumer = try #require(running.pipeline.consumer.current)
        let offsets = try consumer.committedOffsets(for: (0..<partitions).map { KafkaTopicPartition(topic: topic, partition: KafkaPartition(Int32($0))) })
        return (0..<partitions).map { offsets[KafkaTopicPartition(topic: topic, partition: KafkaPartition(Int32($0)))]?.rawValue ?? -1 }
    }

    @Test func labelsInAnUnpublishedWindowAreNotCommittedAndAreReadAgainAfterACrash() async throws {
        let harness = try QualityWiringTests.harness()
        let group = uniqueName("workers")
        // A window that neither the count nor the clock closes during the test.
        var configuration = QualityWiringTests.configuration(harness, windowRecords: 1000)
        configuration.groupID = group
        let n = 20
        let first = try await Self.startWithJoinedLabels(harness, configuration, n: n)

        // One more request, sent after every label was handled: once its offset is committed, a
        // rule that committed labels like requests would have committed the labels too.
        try await harness.send([TestModels.request(n, id: "r-\(n)").json])
        #expect(await Self.eventually {
            ((try? Self.committed(first, topic: harness.input, partitions: 4)) ?? []).reduce(0) { $0 + max(0, $1) } == Int64(n + 1)
        }, "the requests are committed")
        let labelsCommitted = try Self.committed(first, topic: QualityWiringTests.labels, partitions: 4)
        #expect(labelsCommitted.allSatisfy { $0 < 0 }, "no label is committed while its window is unpublished: \(labelsCommitted)")
        #expect(first.pipeline.quality?.snapshot.reportsSent == 0)
        try await first.crash()

        // The next owner reads every label again.
        let second = harness.start(configuration)
        try await second.waitUntilAssigned()
        #expect(await Self.eventually { second.pipeline.quality?.snapshot.labelsRead == n }, "labels read again: \(second.pipeline.quality?.snapshot.labelsRead ?? -1)")
        try await second.stop()
        await harness.close()
    }

    @Test func aGracefulStopPublishesTheOpenWindowAndCommitsItsLabels() async throws {
        let harness = try QualityWiringTests.harness()
        let reports = ConsumerProbe()
        let reader = try reports.makeConsumer(.test(harness.broker, group: uniqueName("quality-reader"), topics: [QualityWiringTests.qualityTopic]))
        let group = uniqueName("workers")
        var configuration = QualityWiringTests.configuration(harness, windowRecords: 1000)
        configuration.groupID = group
        let n = 20
        let first = try await Self.startWithJoinedLabels(harness, configuration, n: n)
        try await first.stop()

        // The flush on the way out published the open window, with every label.
        #expect(await reports.wait { $0.records.count >= 1 } != nil)
        let report = try QualityReport.decode(Data(try #require(reports.snapshot.records.first?.value)))
        #expect(report.counts.labelled == n)
        #expect(first.pipeline.quality?.snapshot.reportsDelivered == 1)

        // The next owner starts after those labels: one new label per partition is all it reads.
        let second = harness.start(configuration)
        try await second.waitUntilAssigned()
        let sender = try KafkaProducer.test(harness.broker)
        for partition in 0..<4 {
            try sender.send(KafkaProducerMessage(topic: QualityWiringTests.labels, partition: KafkaPartition(Int32(partition)), key: Array("k".utf8),
                                                 value: Array(#"{"id": "new-\#(partition)", "label": "no"}"#.utf8)), blockIfQueueFull: true)
        }
        try sender.flush(timeout: .seconds(30))
        await sender.close()
        #expect(await Self.eventually { (second.pipeline.quality?.snapshot.labelsRead ?? 0) >= 4 })
        #expect(second.pipeline.quality?.snapshot.labelsRead == 4, "labels of the published window were read again")
        try await second.stop()
        await reader.close()
        await harness.close()
    }
}
