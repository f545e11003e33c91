import Foundation
import InferenceCore
@testable import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

/// Two replicas: the range assignor gives each the same partition numbers of the request and
/// labels topics, and a partition that moves to the second replica takes its pending predictions
/// along (rebuilt from the output topic), so every label still joins.
@Suite struct QualityRebalanceTests {
    @Test func aPartitionMovedToASecondReplicaKeepsItsPendingPredictions() async throws {
        let harness = try QualityWiringTests.harness()
        var configuration = QualityWiringTests.configuration(harness, windowRecords: 1000)
        configuration.groupID = uniqueName("workers")
        let n = 40
        let first = harness.start(configuration)
        try await first.waitUntilAssigned()
        try await LabelStoreRebuildTests.sendRequests(harness, 0..<n)
        #expect(await harness.waitForOutcomes(n))

        var secondConfiguration = configuration
        secondConfiguration.workerID = "w2"
        let second = harness.start(secondConfiguration)
        func split() -> Bool {
            let a = first.pipeline.assignedPartitions, b = second.pipeline.assignedPartitions
            return a.count == 4 && b.count == 4
        }
        #expect(await LabelCommitTests.eventually(.seconds(60), split), "each replica owns half: \(first.pipeline.assignedPartitions) / \(second.pipeline.assignedPartitions)")
        for running in [first, second] {
            let assigned = running.pipeline.assignedPartitions
            let requests = Set(assigned.filter { $0.topic == harness.input }.map(\.partition))
            let labels = Set(assigned.filter { $0.topic == QualityWiringTests.labels }.map(\.partition))
            #expect(requests == labels, "co-partitioned assignment: \(assigned)")
        }
        #expect(await LabelCommitTests.eventually { (second.pipeline.quality?.snapshot.restoredPredictions ?? 0) > 0 }, "the moved partitions' predictions are restored")

        try await harness.sendLabels(LabelCommitTests.labelEvents(0..<n))
        func joined() -> Int { (first.pipeline.quality?.snapshot.store.joined ?? 0) + (second.pipeline.quality?.snapshot.store.joined ?? 0) }
        #expect(await LabelCommitTests.eventually { joined() == n }, "every label joined on one of the replicas: \(joined())")
        #expect((first.pipeline.quality?.snapshot.store.joined ?? 0) > 0 && (second.pipeline.quality?.snapshot.store.joined ?? 0) > 0)
        try await second.stop()
        try await first.stop()
        await harness.close()
    }
}
