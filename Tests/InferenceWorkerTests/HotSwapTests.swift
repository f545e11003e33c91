import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Synchronization
import Testing

@Suite struct HotSwapTests {
    @Test func aNewVersionTakesOverBetweenBatchesAndEveryPredictionNamesTheVersionThatMadeIt() async throws {
        let harness = try PipelineHarness()
        let v1 = TestModels.scorer(version: "1")
        let v2 = TestModels.scorer(version: "2", kernel: try LogisticKernel(weights: [-0.05, 0.04, -0.03, -0.5, 0.5, 0], bias: -0.1))
        let source = SwitchableModelSource(v1)
        let pipeline = InferencePipeline(configuration: harness.configuration(), models: source, logger: .quiet)
        let task = Task { try await pipeline.run() }
        let running = RunningPipeline(pipeline: pipeline, task: task)
        try await running.waitUntilAssigned()

        let n = 600
        let requests = (0..<n).map { TestModels.request($0, id: "r\($0)") }
        try await harness.send(requests.prefix(300).map(\.json))
        #expect(await harness.waitForOutcomes(100))
        source.set(v2)
        try await harness.send(requests.suffix(300).map(\.json))
        #expect(await harness.waitForOutcomes(n))
        try await running.stop()

        let predictions = harness.predictions
        #expect(predictions.count == n)
        let expected = [
            "1": Dictionary(uniqueKeysWithValues: zip(requests.indices.map { "r\($0)" }, v1.predict(requests.map(\.raw)))),
            "2": Dictionary(uniqueKeysWithValues: zip(requests.indices.map { "r\($0)" }, v2.predict(requests.map(\.raw)))),
        ]
        for prediction in predictions {
            let engine = try #require(try expected[prediction.modelVersion]?[prediction.id]?.get(), "\(prediction.modelVersion) \(prediction.id)")
            #expect(Float(prediction.score) == engine.score, "scored by the version it names")
        }
        let versions = Dictionary(grouping: predictions, by: \.modelVersion).mapValues(\.count)
        #expect(versions["1", default: 0] >= 100 && versions["2", default: 0] >= 300, "\(versions)")
        // Once a record was scored by v2, no later record of the same partition was scored by v1.
        var switched: Set<Int32> = []
        for prediction in predictions.sorted(by: { ($0.sourcePartition, $0.sourceOffset) < ($1.sourcePartition, $1.sourceOffset) }) {
            if prediction.modelVersion == "2" { switched.insert(prediction.sourcePartition) }
            #expect(!(prediction.modelVersion == "1" && switched.contains(prediction.sourcePartition)), "no going back to the old version")
        }
        await harness.close()
    }
}

@Suite struct NoModelTests {
    @Test(.timeLimit(.minutes(1))) func withoutAServableModelRecordsWaitAndAShutdownStillCompletes() async throws {
        let harness = try PipelineHarness()
        let source = SwitchableModelSource(TestModels.scorer())
        let pipeline = InferencePipeline(configuration: harness.configuration(), models: source, logger: .quiet)
        let running = RunningPipeline(pipeline: pipeline, task: Task { try await pipeline.run() })
        try await running.waitUntilAssigned()
        source.set(nil) // every version failed to load, say
        try await harness.send((0..<50).map { TestModels.request($0, id: "r\($0)").json })
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while pipeline.inFlight.records < 50 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(pipeline.inFlight.records == 50, "the records wait for a model")
        #expect(pipeline.counters.snapshot.outcomes == 0, "nothing is dead-lettered for want of a model")
        try await running.stop() // must not hang
        #expect(pipeline.counters.snapshot.outcomes == 0)
        await harness.close()
    }
}
