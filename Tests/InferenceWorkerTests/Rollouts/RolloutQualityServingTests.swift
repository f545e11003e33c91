import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Logging
import Testing

/// A canary judged on its accuracy against the labels topic, on the embedded broker: labels joined
/// with each version's predictions count in the evidence, and the decider promotes a candidate as
/// accurate as the primary and rolls back one that is not. The ground truth is the primary's own
/// label for each request (computed in the test), so the primary is always right.
@Suite struct RolloutQualityServingTests {
    /// Accuracy at least 0.9 and at most 0.05 below the primary's, judged on at least 20 labelled
    /// predictions of each version; output PSI and latency off (noisy on a few hundred rows). A
    /// day-long window: no boundary falls within the test, the stop hands over the open window.
    static func record() throws -> RolloutRecord {
        try RolloutRecord(
            modelName: "scorer", primaryVersion: "1", candidateVersion: "2", mode: .canary(fraction: 0.4),
            thresholds: RolloutThresholds(maxOutputPSI: nil, maxLatencyRatio: nil, minRecordsPerWindow: 1,
                                          quality: .init(minAccuracy: 0.9, maxAccuracyDrop: 0.05, minLabelledPerWindow: 20)),
            policy: .init(promoteAfterWindows: 1, windowSeconds: 86_400, decisionGraceSeconds: 10), now: Date()
        )
    }

    enum Candidate: String, CaseIterable, Sendable {
        case agreeing, disagreeing
        var model: LoadedModel { self == .agreeing ? RolloutServingTests.v2Agreeing : RolloutServingTests.v2Disagreeing }
    }

    /// `labelsFirst`: the labels are sent before their requests, so they wait in the store and
    /// join when the predictions are made (the early-label path), instead of the other way round.
    @Test(arguments: [(Candidate.agreeing, false), (.disagreeing, false), (.disagreeing, true)])
    func aCanaryIsJudgedOnItsAccuracyAgainstTheLabels(_ candidate: Candidate, labelsFirst: Bool) async throws {
        let record = try Self.record()
        let harness = try QualityWiringTests.harness()
        let source = FakeRolloutSource(record)
        let models = VersionedModelSource(current: "1", [RolloutServingTests.v1, candidate.model])
        let configuration = QualityWiringTests.configuration(harness, windowRecords: 100_000)
        let pipeline = InferencePipeline(configuration: configuration, models: models, logger: .quiet, rollouts: source)
        let running = RunningPipeline(pipeline: pipeline, task: Task { try await pipeline.run() })
        try await running.waitUntilAssigned()

        let n = 300
        let requests = (0..<n).map { TestModels.request($0, id: "r\($0)") }
        let keys = RolloutServingTests.keys(0..<n)
        let router = try #require(RolloutKeyRouter(record: record))
        let canary = Set((0..<n).filter { router.route(key: keys[$0]) == .candidate }.map { "r\($0)" })
        #expect(canary.count >= 60 && canary.count <= n - 60, "both versions serve enough keys: \(canary.count)")
        // The truth is the primary's label for every request.
        let truth = TestModels.scorer().predict(requests.map(\.raw)).map { try! $0.get().label! }
        func sendLabels() async throws {
            try await harness.sendLabels((0..<n).map { (key: "user-\($0)", value: #"{"id": "r\#($0)", "label": "\#(truth[$0])"}"#) })
            let deadline = ContinuousClock.now + .seconds(30)
            while (pipeline.quality?.snapshot.labelsRead ?? 0) < n, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(pipeline.quality?.snapshot.labelsRead == n)
        }
        if labelsFirst { try await sendLabels() }
        try await harness.send(requests.map(\.json), keys: keys)
        #expect(await harness.waitForOutcomes(n))
        let predictions = harness.predictions
        #expect(predictions.count == n && harness.deadLetterRecords.isEmpty)

        // What each version got right follows from the predictions read back.
        var expected: [String: (labelled: Int, correct: Int)] = ["1": (0, 0), "2": (0, 0)]
        for prediction in predictions {
            let i = try #require(Int(prediction.id.dropFirst()))
            #expect(prediction.modelVersion == (canary.contains(prediction.id) ? "2" : "1"))
            expected[prediction.modelVersion]!.labelled += 1
            if prediction.label == truth[i] { expected[prediction.modelVersion]!.correct += 1 }
        }
        #expect(expected["1"]!.correct == expected["1"]!.labelled, "the primary is the truth")

        if !labelsFirst { try await sendLabels() }
        try await running.stop()

        // Each version has quality reports of its own (the stop flushed the open windows), on its
        // own predictions and labels.
        let latest = try #require(pipeline.quality?.snapshot.latest)
        #expect(Set(latest.keys) == ["1", "2"])
        #expect(pipeline.quality?.snapshot.unmonitoredExamples == 0)
        for version in ["1", "2"] {
            let report = try #require(latest[version])
            #expect(report.counts.predictions == expected[version]!.labelled, "version \(version)")
            #expect(report.counts.labelled == expected[version]!.labelled, "version \(version)")
            #expect(report.metrics.accuracy == Double(expected[version]!.correct) / Double(expected[version]!.labelled), "version \(version)")
        }

        // The stop handed over the open window: every label counts, for the version it judges.
        let merged = try RolloutEvidence.merge(source.reports)
        #expect(merged.primary.labelled == expected["1"]!.labelled && merged.primary.correct == expected["1"]!.correct)
        #expect(merged.candidate.labelled == expected["2"]!.labelled && merged.candidate.correct == expected["2"]!.correct,
                "candidate \(merged.candidate.labelled)/\(merged.candidate.correct), expected \(expected["2"]!)")

        var decider = RolloutDecider(record: record, deciderID: "test")
        for report in source.reports { decider.evidenceArrived(report) }
        let after = Date(timeIntervalSince1970: Double(merged.window.endMs) / 1000 + 11)
        let decisions = decider.tick(now: after).compactMap { action -> RolloutDecision? in
            if case .publish(_, let decision) = action { return decision }
            return nil
        }
        let decision = try #require(decisions.last)
        let accuracy = Double(expected["2"]!.correct) / Double(expected["2"]!.labelled)
        #expect(decision.evidence?.candidateAccuracy == accuracy)
        #expect(decision.evidence?.primaryAccuracy == 1)
        switch candidate {
        case .agreeing:
            #expect(accuracy == 1)
            #expect(decision.action == .promote, "\(decision.reason)")
        case .disagreeing:
            #expect(accuracy < 0.9, "the disagreeing candidate is wrong on many labels: \(accuracy)")
            #expect(decision.action == .rollBack, "\(decision.reason)")
            #expect(decision.reason.contains("accuracy"), "\(decision.reason)")
        }
        await harness.close()
    }
}
