import Foundation
import InferenceCore
@testable import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

/// Live quality wired into the pipeline, on the embedded broker: predictions, then labels for
/// them on a co-partitioned labels topic, make quality reports on the quality topic.
@Suite struct QualityWiringTests {
    static let labels = "labels"
    static let qualityTopic = "inference-quality"

    /// A harness with a labels topic of `labelPartitions` partitions and a quality topic.
    static func harness(labelPartitions: Int = 4) throws -> PipelineHarness {
        let harness = try PipelineHarness(partitions: 4)
        try harness.broker.createTopic(labels, partitions: labelPartitions)
        try harness.broker.createTopic(qualityTopic, partitions: 1)
        return harness
    }

    static func configuration(_ harness: PipelineHarness, windowRecords: Int) -> WorkerConfiguration {
        var configuration = harness.configuration(worker: "quality-worker")
        configuration.labelsTopic = labels
        configuration.qualityTopic = qualityTopic
        configuration.quality.windowRecordCount = windowRecords
        // Windows also close at multiples of the window duration since the epoch: a day keeps a
        // boundary out of this test's few seconds (see DriftPublishingTests).
        configuration.quality.windowDuration = .seconds(86_400)
        return configuration
    }

    /// The true class of request `i` (the test's own ground truth): "yes" for every third.
    static func truth(_ i: Int) -> String { i % 3 == 0 ? "yes" : "no" }

    @Test func labelsJoinTheirPredictionsAndTheReportCountsThem() async throws {
        let harness = try Self.harness()
        let reports = ConsumerProbe()
        let reader = try reports.makeConsumer(.test(harness.broker, group: uniqueName("quality-reader"), topics: [Self.qualityTopic]))
        let n = 60
        let running = harness.start(Self.configuration(harness, windowRecords: n))
        try await running.waitUntilAssigned()

        try await harness.send((0..<n).map { TestModels.request($0, id: "r-\($0)").json })
        #expect(await harness.waitForOutcomes(n))
        let predictions = harness.predictions
        #expect(predictions.count == n)
        #expect(harness.deadLetterRecords.isEmpty)

        // Labels keyed like their requests (harness.send keys request i with key-(i % 13)), so
        // each lands in its request's partition number; sent in reverse order.
        try await harness.sendLabels((0..<n).reversed().map { (key: "key-\($0 % 13)", value: #"{"id": "r-\#($0)", "label": "\#(Self.truth($0))"}"#) })
        let published = await reports.wait { $0.records.count >= 1 }
        #expect(published != nil, "a quality report is published once \(n) labels joined")

        // Expected from the test's own data: the served class of each prediction vs its truth.
        var confusion = [[0, 0], [0, 0]]
        for prediction in predictions {
            let i = try #require(Int(prediction.id.dropFirst(2)))
            let served = prediction.label == "yes" ? 1 : 0
            confusion[Self.truth(i) == "yes" ? 1 : 0][served] += 1
        }
        let correct = confusion[0][0] + confusion[1][1]
        let record = try #require(reports.snapshot.records.first)
        #expect(record.key == Array("scorer".utf8), "keyed by model name")
        let report = try QualityReport.decode(Data(try #require(record.value)))
        #expect(report.modelName == "scorer")
        #expect(report.modelVersion == "1")
        #expect(report.workerIDs == ["quality-worker"])
        #expect(report.counts.labelled == n)
        #expect(report.counts.predictions == n)
        #expect(report.classification?.confusion == confusion)
        let accuracy = try #require(report.metrics.accuracy)
        #expect(abs(accuracy - Double(correct) / Double(n)) < 1e-9)
        // Both classes occur in the truth, so the AUC is defined.
        #expect(report.metrics.rocAUC != nil)

        // The counts reach /metrics.
        let metrics = WorkerMetrics()
        metrics.collect(from: running.pipeline)
        let text = metrics.render()
        #expect(text.contains(#"inference_worker_quality_join_total{outcome="joined"} \#(n)"#), "\(text)")
        #expect(text.contains("inference_worker_quality_labels_total \(n)"), "\(text)")
        #expect(text.contains(#"inference_worker_quality{version="1",metric="accuracy"}"#) || text.contains(#"inference_worker_quality{metric="accuracy",version="1"}"#), "\(text)")
        // And the dashboard's store.
        #expect(running.pipeline.recentReports.dashboardSnapshot(nowMs: 0).qualityReports.count == 1)

        try await running.stop()
        await reader.close()
        await harness.close()
    }

    @Test func labelledExamplesAreWrittenForRetraining() async throws {
        let harness = try Self.harness()
        try harness.broker.createTopic("training", partitions: 2)
        let examples = ConsumerProbe()
        let reader = try examples.makeConsumer(.test(harness.broker, group: uniqueName("training-reader"), topics: ["training"]))
        var configuration = Self.configuration(harness, windowRecords: 1000)
        configuration.trainingExamplesTopic = "training"
        let n = 12
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        try await harness.send((0..<n).map { TestModels.request($0, id: "r-\($0)").json })
        #expect(await harness.waitForOutcomes(n))
        let served = Dictionary(uniqueKeysWithValues: harness.predictions.map { ($0.id, $0) })
        // Labels for all but the last two: only labelled examples are written.
        try await harness.sendLabels((0..<(n - 2)).map { (key: "key-\($0 % 13)", value: #"{"id": "r-\#($0)", "label": "\#(Self.truth($0))"}"#) })
        #expect(await examples.wait { $0.records.count >= n - 2 } != nil)
        let records = examples.snapshot.records
        #expect(records.count == n - 2)
        var seen: Set<String> = []
        for record in records {
            let value = try #require(record.value)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any])
            let id = try #require(json["id"] as? String)
            let i = try #require(Int(id.dropFirst(2)))
            seen.insert(id)
            #expect(json["label"] as? String == Self.truth(i))
            #expect((json["model"] as? [String: Any])?["version"] as? String == "1")
            #expect(record.key == Array("key-\(i % 13)".utf8), "keyed like the label (and the request)")
            // The request as received, byte for byte in meaning.
            let request = try #require(json["request"] as? [String: Any])
            let sent = try #require(try JSONSerialization.jsonObject(with: Data(TestModels.request(i, id: id).json)) as? [String: Any])
            #expect(NSDictionary(dictionary: request).isEqual(to: sent))
            let prediction = try #require(json["prediction"] as? [String: Any])
            let score = try #require((prediction["score"] as? NSNumber)?.doubleValue)
            let servedPrediction = try #require(served[id])
            #expect(abs(score - servedPrediction.score) < 1e-6)
            #expect((prediction["predicted_positive"] as? Bool) == (servedPrediction.label == "yes"))
        }
        #expect(seen == Set((0..<(n - 2)).map { "r-\($0)" }))
        #expect(running.pipeline.quality?.snapshot.trainingExamplesSent == n - 2)
        try await running.stop()
        await reader.close()
        await harness.close()
    }

    @Test func badLabelEventsAreCountedNotDeadLetteredAndDoNotStopAnything() async throws {
        let harness = try Self.harness()
        let reports = ConsumerProbe()
        let reader = try reports.makeConsumer(.test(harness.broker, group: uniqueName("quality-reader"), topics: [Self.qualityTopic]))
        let n = 20
        let running = harness.start(Self.configuration(harness, windowRecords: n))
        try await running.waitUntilAssigned()
        try await harness.send((0..<n).map { TestModels.request($0, id: "r-\($0)").json })
        #expect(await harness.waitForOutcomes(n))

        // Bad events first, on the same partitions as good ones, then every good label.
        let bad: [(key: String, value: String)] = [
            ("key-0", #"{"id": "r-0", "label": "#),      // malformed_json
            ("key-1", #"{"label": "yes"}"#),            // missing_id
            ("key-2", #"[1, 2]"#),                      // not_an_object
            ("key-3", #"{"id": "r-3", "label": null}"#), // missing_label
        ]
        try await harness.sendLabels(bad + (0..<n).map { (key: "key-\($0 % 13)", value: #"{"id": "r-\#($0)", "label": "\#(Self.truth($0))"}"#) })
        #expect(await reports.wait { $0.records.count >= 1 } != nil, "the good labels still make a report")
        let snapshot = try #require(running.pipeline.quality?.snapshot)
        #expect(snapshot.labelDecodingErrors == ["malformed_json": 1, "missing_id": 1, "not_an_object": 1, "missing_label": 1])
        #expect(snapshot.labelsRead == n + bad.count)
        #expect(snapshot.store.joined == n)
        let report = try QualityReport.decode(Data(try #require(reports.snapshot.records.first?.value)))
        #expect(report.counts.labelled == n)
        // Label records are neither scored nor dead-lettered.
        #expect(harness.predictions.count == n)
        #expect(harness.deadLetterRecords.isEmpty)
        #expect(running.pipeline.counters.snapshot.consumed == n)
        // Still serving: one more request gets its prediction.
        try await harness.send([TestModels.request(999, id: "after").json])
        #expect(await harness.waitForOutcomes(n + 1))

        try await running.stop()
        await reader.close()
        await harness.close()
    }

    @Test func aLabelsTopicWithAnotherPartitionCountIsRefused() async throws {
        let harness = try Self.harness(labelPartitions: 3)
        let running = harness.start(Self.configuration(harness, windowRecords: 10))
        let outcome = await running.outcome(within: .seconds(60))
        let result = try #require(outcome, "the pipeline stops by itself")
        guard case .failure(let error) = result else {
            Issue.record("the pipeline ran with a labels topic of 3 partitions for a request topic of 4")
            return
        }
        let message = "\(error)"
        #expect(error is ConfigurationValidationError)
        #expect(message.contains("labels topic labels has 3 partitions"), "\(message)")
        #expect(message.contains("repartition labels to 4 partitions"), "\(message)")
        await harness.close()
    }

    @Test func withoutALabelsTopicNothingChanges() async throws {
        let harness = try PipelineHarness(partitions: 2)
        let configuration = harness.configuration()
        #expect(configuration.labelsTopic == nil)
        #expect(configuration.effectiveQualityTopic == nil)
        #expect(configuration.consumerConfiguration.topics == [harness.input])
        #expect(configuration.consumerConfiguration.assignmentStrategy == .cooperativeSticky)
        let running = harness.start(configuration)
        #expect(running.pipeline.quality == nil)
        try await running.waitUntilAssigned()
        try await harness.send((0..<10).map { TestModels.request($0).json })
        #expect(await harness.waitForOutcomes(10))
        #expect(harness.predictions.count == 10)
        let metrics = WorkerMetrics()
        metrics.collect(from: running.pipeline)
        #expect(!metrics.render().contains("inference_worker_quality"))
        try await running.stop()
        await harness.close()
    }

    @Test func labelsTopicSettingsAreValidated() throws {
        var c = WorkerConfiguration(bootstrapServers: ["localhost:9092"], inputTopics: ["requests"], modelRoot: "/m", modelName: "m", workerID: "w")
        c.labelsTopic = "labels"
        try c.validate()
        #expect(c.consumerConfiguration.topics == ["requests", "labels"])
        #expect(c.consumerConfiguration.assignmentStrategy == .range)
        #expect(c.effectiveQualityTopic == "inference-quality")
        var same = c
        same.labelsTopic = "requests"
        #expect(throws: WorkerConfigurationError.self) { try same.validate() }
        var clash = c
        clash.qualityTopic = "predictions"
        #expect(throws: WorkerConfigurationError.self) { try clash.validate() }
        var cooperative = c
        cooperative.consumerProperties["partition.assignment.strategy"] = "cooperative-sticky"
        #expect(throws: WorkerConfigurationError.self) { try cooperative.validate() }
        var training = c
        training.trainingExamplesTopic = "training"
        try training.validate()
        training.labelsTopic = nil
        #expect(throws: WorkerConfigurationError.self) { try training.validate() }
        training.labelsTopic = "labels"
        training.trainingExamplesTopic = "inference-quality"
        #expect(throws: WorkerConfigurationError.self) { try training.validate() }
    }
}

extension PipelineHarness {
    /// Sends label events to the labels topic, keyed like requests, and waits for their acknowledgement.
    func sendLabels(_ events: [(key: String, value: String)], topic: String = QualityWiringTests.labels) async throws {
        let sender = try KafkaProducer.test(broker)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (i, event) in events.enumerated() {
            try sender.send(KafkaProducerMessage(topic: topic, key: Array(event.key.utf8), value: Array(event.value.utf8), timestampMilliseconds: now + Int64(i)),
                            context: UInt64(i + 1), blockIfQueueFull: true)
        }
        try sender.flush(timeout: .seconds(30))
        await sender.close()
    }
}
