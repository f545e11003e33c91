import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Logging
import Synchronization
import Testing

/// A roll-out source a test drives by hand: it sets the record the pipeline follows, and collects
/// the evidence the pipeline publishes (the test then decides with the real ``RolloutDecider``).
final class FakeRolloutSource: RolloutSource {
    private let state = Mutex<(record: RolloutRecord?, reports: [RolloutEvidence])>((nil, []))
    init(_ record: RolloutRecord?) { state.withLock { $0.record = record } }
    func set(_ record: RolloutRecord?) { state.withLock { $0.record = record } }
    func record(for model: String) -> RolloutRecord? { state.withLock { $0.record?.modelName == model ? $0.record : nil } }
    func publish(_ evidence: RolloutEvidence) { state.withLock { $0.reports.append(evidence) } }
    var reports: [RolloutEvidence] { state.withLock { $0.reports } }
}

/// Several versions of one model loaded at once (the registry plus its version loader, in memory).
final class VersionedModelSource: ModelSource {
    private let versions: [String: LoadedModel]
    private let currentVersion: String
    init(current: String, _ models: [LoadedModel]) {
        versions = Dictionary(uniqueKeysWithValues: models.map { ($0.version, $0) })
        currentVersion = current
    }
    var current: LoadedModel? { versions[currentVersion] }
    func model(version: String) -> LoadedModel? { versions[version] }
    func prepare() {}
    func watch() async throws {
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }
    var unavailableReason: String { "" }
}

/// The pipeline serving a roll-out on the embedded broker: canary rows served by the candidate,
/// shadow rows scored by it on the side, evidence handed to the decider, and the decision followed.
/// Every count is checked against the key router's decision for each key, computed in the test.
@Suite struct RolloutServingTests {
    static let v1 = TestModels.scorer(version: "1")
    /// Agrees with v1 on every row (same weights, another version).
    static let v2Agreeing = TestModels.scorer(version: "2")
    /// Disagrees with v1 on most labels (weights of the opposite sign).
    static let v2Disagreeing = TestModels.scorer(version: "2", kernel: try! LogisticKernel(weights: [-0.05, 0.04, -0.03, -0.5, 0.5, 0], bias: -0.1))
    /// Fails on every row (NaN output: an output validation failure).
    static let v2Failing = TestModels.scorer(version: "2", kernel: AlwaysNaNKernel(inner: TestModels.scorer().kernel!))

    /// A roll-out record with one-second windows, no grace, promotion after one good window; the
    /// thresholds a small test can keep (output PSI and latency off: too noisy on a few hundred rows).
    static func record(_ mode: RolloutMode) throws -> RolloutRecord {
        try RolloutRecord(
            modelName: "scorer", primaryVersion: "1", candidateVersion: "2", mode: mode,
            thresholds: RolloutThresholds(maxOutputPSI: nil, maxLatencyRatio: nil, minRecordsPerWindow: 1),
            policy: .init(promoteAfterWindows: 1, windowSeconds: 1, decisionGraceSeconds: 0), now: Date()
        )
    }

    static func keys(_ range: Range<Int>) -> [[UInt8]] { range.map { Array("user-\($0)".utf8) } }

    /// Decides every window the pipeline reported (the decider's job, done in the test so that the
    /// moment the decision takes effect is known): waits until the reports cover `candidateRows`.
    static func decide(_ record: RolloutRecord, reports source: FakeRolloutSource, candidateRows: Int) async throws -> RolloutRecord {
        let deadline = ContinuousClock.now + .seconds(30)
        while source.reports.reduce(0, { $0 + $1.candidate.records }) < candidateRows, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        var decider = RolloutDecider(record: record, deciderID: "test")
        for report in source.reports { decider.evidenceArrived(report) }
        var decided = record
        for action in decider.tick(now: Date().addingTimeInterval(5)) {
            if case .publish(let next, _) = action { decided = next }
        }
        return decided
    }

    struct Run {
        var harness: PipelineHarness
        var source: FakeRolloutSource
        var running: RunningPipeline
    }

    static func start(_ record: RolloutRecord, candidate: LoadedModel, group: String = uniqueName("workers")) async throws -> Run {
        let harness = try PipelineHarness()
        let source = FakeRolloutSource(record)
        let models = VersionedModelSource(current: "1", [v1, candidate])
        let logger = ProcessInfo.processInfo.environment["PIPELINE_TEST_LOG"] == nil ? Logger.quiet : Logger(label: "pipeline")
        let pipeline = InferencePipeline(configuration: harness.configuration(group: group), models: models, logger: logger, rollouts: source)
        let running = RunningPipeline(pipeline: pipeline, task: Task { try await pipeline.run() })
        try await running.waitUntilAssigned()
        return Run(harness: harness, source: source, running: running)
    }

    @Test func aCanaryThatAgreesIsPromotedAndEachKeyIsServedByTheVersionItsRouteNames() async throws {
        let record = try Self.record(.canary(fraction: 0.3))
        let run = try await Self.start(record, candidate: Self.v2Agreeing)
        let router = try #require(RolloutKeyRouter(record: record))
        let n = 400
        let requests = (0..<n).map { TestModels.request($0, id: "r\($0)") }
        let keys = Self.keys(0..<n)
        let canary = Set((0..<n).filter { router.route(key: keys[$0]) == .candidate }.map { "r\($0)" })
        #expect(canary.count > 60 && canary.count < 180, "about 30 % of the keys: \(canary.count)")

        try await run.harness.send(requests.map(\.json), keys: keys)
        #expect(await run.harness.waitForOutcomes(n))
        let first = run.harness.predictions
        #expect(first.count == n && run.harness.deadLetterRecords.isEmpty)
        let byVersion = Dictionary(grouping: first, by: \.modelVersion).mapValues(\.count)
        #expect(byVersion == ["1": n - canary.count, "2": canary.count], "\(byVersion)")
        for prediction in first {
            #expect(prediction.modelVersion == (canary.contains(prediction.id) ? "2" : "1"), "\(prediction.id) served by its route's version")
        }

        // The evidence covers exactly the rows each version served; the decider promotes on it.
        let promoted = try await Self.decide(record, reports: run.source, candidateRows: canary.count)
        let reports = run.source.reports
        #expect(reports.reduce(0) { $0 + $1.candidate.records } == canary.count)
        #expect(reports.reduce(0) { $0 + $1.primary.records } == n - canary.count)
        #expect(reports.reduce(0) { $0 + $1.candidate.errors + $1.candidate.deadLetters } == 0)
        #expect(promoted.state == .promoted, "\(promoted.decisions.map(\.reason))")
        #expect(promoted.primaryVersion == "2")

        // Once the replica follows the promotion, the promoted version serves every key.
        #expect(run.running.pipeline.servingModel?.version == "1")
        // No batch is open (every outcome is in): the next batch boundary reads the new record.
        run.source.set(promoted)
        #expect(run.running.pipeline.servingModel?.version == "2", "model_info and readiness follow the record")
        try await run.harness.send(requests.map(\.json), keys: keys)
        #expect(await run.harness.waitForOutcomes(2 * n))
        let firstOutputs = Set(first.map { "\($0.record.partition.rawValue)/\($0.record.offset.rawValue)" })
        let after = run.harness.predictions.filter { !firstOutputs.contains("\($0.record.partition.rawValue)/\($0.record.offset.rawValue)") }
        #expect(after.count == n)
        #expect(after.allSatisfy { $0.modelVersion == "2" }, "\(Dictionary(grouping: after, by: \.modelVersion).mapValues(\.count))")
        try await run.running.stop()
        await run.harness.close()
    }

    /// Producers that send no key still get a canary: each keyless record goes where its position
    /// (partition, offset) routes it.
    @Test func keylessRecordsAreServedByTheVersionTheirPositionRoutesThemTo() async throws {
        let record = try Self.record(.canary(fraction: 0.3))
        let run = try await Self.start(record, candidate: Self.v2Agreeing)
        let router = try #require(RolloutKeyRouter(record: record))
        let n = 300
        // Half to each of two partitions, explicitly (librdkafka's sticky partitioner may put a whole
        // keyless burst in one): the same offsets in two partitions are different records.
        let requests = (0..<n).map { TestModels.request($0, id: "r\($0)").json }
        let reports = try await run.harness.send(Array(requests[..<(n / 2)]), keyless: true, partition: 0)
            + run.harness.send(Array(requests[(n / 2)...]), keyless: true, partition: 1)
        let canary = Set(reports.indices.filter { i in
            router.route(partition: reports[i].partition.rawValue, offset: reports[i].offset?.rawValue ?? -1) == .candidate
        }.map { "r\($0)" })
        #expect(canary.count > 45 && canary.count < 135, "about 30 % of the records: \(canary.count)")
        #expect(await run.harness.waitForOutcomes(n))
        let predictions = run.harness.predictions
        #expect(predictions.count == n && run.harness.deadLetterRecords.isEmpty)
        for prediction in predictions {
            #expect(prediction.modelVersion == (canary.contains(prediction.id) ? "2" : "1"), "\(prediction.id) served by its position's version")
        }
        try await run.running.stop()
        await run.harness.close()
    }

    @Test func aCanaryThatFailsIsDeadLetteredRowByRowAndRolledBack() async throws {
        let record = try Self.record(.canary(fraction: 0.3))
        let run = try await Self.start(record, candidate: Self.v2Failing)
        let router = try #require(RolloutKeyRouter(record: record))
        let n = 300
        let requests = (0..<n).map { TestModels.request($0, id: "r\($0)") }
        let keys = Self.keys(0..<n)
        let canaryKeys = Set((0..<n).filter { router.route(key: keys[$0]) == .candidate }.map { "user-\($0)" })

        try await run.harness.send(requests.map(\.json), keys: keys)
        #expect(await run.harness.waitForOutcomes(n))
        let predictions = run.harness.predictions
        let deadLetters = run.harness.deadLetterRecords
        #expect(predictions.count == n - canaryKeys.count)
        #expect(predictions.allSatisfy { $0.modelVersion == "1" })
        #expect(deadLetters.count == canaryKeys.count)
        #expect(Set(deadLetters.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }) == canaryKeys, "exactly the canary's keys")
        #expect(deadLetters.allSatisfy { $0.headers.value("inference.model.version") == "2" }, "the dead letters name the failing version")

        let decided = try await Self.decide(record, reports: run.source, candidateRows: canaryKeys.count)
        #expect(decided.state == .rolledBack, "\(decided.decisions.map(\.reason))")
        #expect(decided.primaryVersion == "1")

        run.source.set(decided)
        try await run.harness.send(requests.map(\.json), keys: keys)
        #expect(await run.harness.waitForOutcomes(2 * n))
        #expect(run.harness.predictions.count == 2 * n - canaryKeys.count, "after the roll-back the primary serves every key")
        #expect(run.harness.predictions.allSatisfy { $0.modelVersion == "1" })
        try await run.running.stop()
        await run.harness.close()
    }

    @Test func aShadowGoesToTheShadowTopicOnlyCommitsAreUnaffectedAndDisagreementRollsItBack() async throws {
        let record = try Self.record(.shadow(fraction: 0.5))
        let group = uniqueName("workers")
        let run = try await Self.start(record, candidate: Self.v2Disagreeing, group: group)
        let shadowTopic = "predictions.shadow"
        try run.harness.broker.createTopic(shadowTopic, partitions: 2)
        let shadows = ConsumerProbe()
        let shadowReader = try shadows.makeConsumer(.test(run.harness.broker, group: uniqueName("shadow-reader"), topics: [shadowTopic]))
        let router = try #require(RolloutKeyRouter(record: record))
        let n = 400
        let requests = (0..<n).map { TestModels.request($0, id: "r\($0)") }
        let keys = Self.keys(0..<n)
        let sampled = Set((0..<n).filter { router.route(key: keys[$0]) == .primaryWithShadow }.map { "r\($0)" })
        #expect(sampled.count > 120 && sampled.count < 280, "about half the keys: \(sampled.count)")

        try await run.harness.send(requests.map(\.json), keys: keys)
        #expect(await run.harness.waitForOutcomes(n))
        let predictions = run.harness.predictions
        #expect(predictions.count == n)
        #expect(predictions.allSatisfy { $0.modelVersion == "1" }, "only the primary's predictions reach the output topic")
        #expect(await shadows.wait(timeout: .seconds(30)) { $0.records.count >= sampled.count } != nil)
        try await Task.sleep(for: .milliseconds(300)) // nothing more may come
        let shadowPredictions = shadows.snapshot.records.compactMap(ReadPrediction.init)
        #expect(shadowPredictions.count == sampled.count)
        #expect(Set(shadowPredictions.map(\.id)) == sampled, "exactly the sampled keys")
        #expect(shadowPredictions.allSatisfy { $0.modelVersion == "2" })
        let expected = Dictionary(uniqueKeysWithValues: zip(requests.indices.map { "r\($0)" }, Self.v2Disagreeing.predict(requests.map(\.raw))))
        for shadow in shadowPredictions {
            #expect(Float(shadow.score) == (try expected[shadow.id]?.get().score), "scored by the candidate")
        }

        let decided = try await Self.decide(record, reports: run.source, candidateRows: sampled.count)
        let reports = run.source.reports
        #expect(reports.reduce(0) { $0 + $1.labelComparisons } == sampled.count)
        #expect(reports.reduce(0) { $0 + $1.primary.records } == sampled.count, "shadow evidence covers the sampled rows only")
        // Latency: one batch in eight timed on both versions, on the same rows.
        #expect(reports.reduce(0) { $0 + $1.candidate.batches } > 0)
        #expect(reports.reduce(0) { $0 + $1.candidate.batches } == reports.reduce(0) { $0 + $1.primary.batches })
        #expect(decided.state == .rolledBack, "\(decided.decisions.map(\.reason))")
        #expect(decided.decisions.last?.reason.contains("label disagreement") == true)

        // Commits: everything consumed was committed, shadow or not (read by a member of the same
        // group subscribed to another topic, after the pipeline left).
        try await run.running.stop()
        try run.harness.broker.createTopic("commit-probe", partitions: 1)
        let probe = ConsumerProbe()
        let reader = try probe.makeConsumer(.test(run.harness.broker, group: group, topics: ["commit-probe"]))
        #expect(await probe.wait { !$0.assignment.isEmpty } != nil)
        let requestPartitions = (0..<run.harness.partitions).map { KafkaTopicPartition(topic: run.harness.input, partition: KafkaPartition(Int32($0))) }
        let committed = try reader.committedOffsets(for: requestPartitions).values.reduce(0) { $0 + max(0, Int($1.rawValue)) }
        #expect(committed == n)
        await reader.close()
        await shadowReader.close()
        await run.harness.close()
    }

    @Test func aCanaryRowTheCandidatesSchemaRefusesIsDeadLetteredAndCountedAgainstIt() async throws {
        // The candidate accepts x0 in -50...50 only (the primary -100...100).
        let narrow = InputSchema(features: [
            .numeric("x0", minimum: -50, maximum: 50),
            .numeric("x1", minimum: -100, maximum: 100),
            .numeric("x2", minimum: -100, maximum: 100),
            .categorical("color", vocabulary: ["red", "green", "blue"]),
        ])
        let v2 = LoadedModel(
            name: "scorer", version: "2", kind: .logistic, schema: narrow, kernel: Self.v1.kernel!,
            output: OutputSchema(task: .binary, labels: ["no", "yes"]))
        // Long windows: nothing closes during the test; the open window is handed over at the stop.
        let record = try RolloutRecord(
            modelName: "scorer", primaryVersion: "1", candidateVersion: "2", mode: .canary(fraction: 0.5),
            policy: .init(promoteAfterWindows: 1, windowSeconds: 3600, decisionGraceSeconds: 10), now: Date())
        let run = try await Self.start(record, candidate: v2)
        let router = try #require(RolloutKeyRouter(record: record))
        let n = 200
        let requests = (0..<n).map { TestModels.request($0, id: "r\($0)") }
        let keys = Self.keys(0..<n)
        let canary = (0..<n).filter { router.route(key: keys[$0]) == .candidate }
        let refused = Set(canary.filter { i in abs(Double(i % 200) - 100) > 50 }.map { "user-\($0)" })
        #expect(!refused.isEmpty && refused.count < canary.count)

        try await run.harness.send(requests.map(\.json), keys: keys)
        #expect(await run.harness.waitForOutcomes(n))
        let deadLetters = run.harness.deadLetterRecords
        #expect(Set(deadLetters.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }) == refused)
        #expect(deadLetters.count == refused.count)
        #expect(deadLetters.allSatisfy { $0.headers.value("inference.model.version") == "2" && $0.headers.value("inference.errors.reason") == "out_of_range_value" })
        let byVersion = Dictionary(grouping: run.harness.predictions, by: \.modelVersion).mapValues(\.count)
        #expect(byVersion == ["1": n - canary.count, "2": canary.count - refused.count], "\(byVersion)")

        try await run.running.stop()
        // The stop handed over the open window: the evidence covers every row.
        let reports = run.source.reports
        #expect(reports.reduce(0) { $0 + $1.candidate.records } == canary.count)
        #expect(reports.reduce(0) { $0 + $1.candidate.deadLetters } == refused.count)
        #expect(reports.reduce(0) { $0 + $1.primary.records } == n - canary.count)
        let summary = RolloutEvidenceSummary(evidence: try RolloutEvidence.merge(reports.filter { $0.candidate.records > 0 }), scoreDifferenceQuantile: 0.95)
        #expect(summary.candidateFailureRate == Double(refused.count) / Double(canary.count))
        await run.harness.close()
    }

    @Test func aCandidateThatCannotLoadLeavesEveryKeyToThePrimary() async throws {
        // The source has no version 3: the candidate never loads.
        let record = try RolloutRecord(
            modelName: "scorer", primaryVersion: "1", candidateVersion: "3", mode: .canary(fraction: 1),
            policy: .init(promoteAfterWindows: 1, windowSeconds: 1, decisionGraceSeconds: 0), now: Date())
        let run = try await Self.start(record, candidate: Self.v2Agreeing)
        let n = 100
        try await run.harness.send((0..<n).map { TestModels.request($0, id: "r\($0)").json }, keys: Self.keys(0..<n))
        #expect(await run.harness.waitForOutcomes(n))
        #expect(run.harness.predictions.count == n && run.harness.deadLetterRecords.isEmpty)
        #expect(run.harness.predictions.allSatisfy { $0.modelVersion == "1" }, "a canary of every key, but no candidate to serve it")
        try await run.running.stop()
        #expect(run.source.reports.allSatisfy { $0.candidate.records == 0 })
        await run.harness.close()
    }

    @Test func withoutARecordTheCurrentVersionServesEverythingAndNoEvidenceIsPublished() async throws {
        let run = try await Self.start(try Self.record(.canary(fraction: 1)), candidate: Self.v2Agreeing)
        run.source.set(nil) // before any record arrives: the pipeline never saw the canary
        let n = 100
        try await run.harness.send((0..<n).map { TestModels.request($0, id: "r\($0)").json }, keys: Self.keys(0..<n))
        #expect(await run.harness.waitForOutcomes(n))
        #expect(run.harness.predictions.count == n)
        #expect(run.harness.predictions.allSatisfy { $0.modelVersion == "1" }, "a canary of every key would have served them all with 2")
        #expect(run.source.reports.isEmpty)
        try await run.running.stop()
        await run.harness.close()
    }
}

/// A kernel whose every output is NaN.
struct AlwaysNaNKernel: ModelKernel {
    let inner: any ModelKernel
    var inputWidth: Int { inner.inputWidth }
    var outputWidth: Int { inner.outputWidth }
    func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<(rowCount * outputWidth) { output[i] = .nan }
    }
}

/// The whole loop with the real ``RolloutCoordinator`` on the embedded broker, as `run` wires it:
/// the record on the roll-out topic, the pipeline's evidence on the evidence topic, the decision
/// written back by the decider and followed by the pipeline.
@Suite struct RolloutCoordinatorServingTests {
    @Test(.timeLimit(.minutes(2))) func aCanaryIsPromotedByTheCoordinatorAndThenServesEveryKey() async throws {
        let harness = try PipelineHarness()
        let suffix = UUID().uuidString.prefix(8)
        let rolloutTopic = "rollouts-\(suffix)", evidenceTopic = "evidence-\(suffix)"
        try harness.broker.createTopic(rolloutTopic, partitions: 1)
        try harness.broker.createTopic(evidenceTopic, partitions: 2)
        let topic = RolloutTopic(bootstrapServers: [harness.broker.bootstrapServers], name: rolloutTopic, logger: .quiet)
        let record = try RolloutRecord(
            modelName: "scorer", primaryVersion: "1", candidateVersion: "2", mode: .canary(fraction: 0.3),
            thresholds: RolloutThresholds(maxOutputPSI: nil, maxLatencyRatio: nil, minRecordsPerWindow: 5),
            policy: .init(promoteAfterWindows: 2, windowSeconds: 1, decisionGraceSeconds: 0), now: Date()
        )
        try await topic.write(record)

        let configuration = harness.configuration()
        var coordinatorConfiguration = RolloutCoordinator.Configuration(
            bootstrapServers: [harness.broker.bootstrapServers], groupID: configuration.groupID, workerID: configuration.workerID)
        coordinatorConfiguration.rolloutTopic = rolloutTopic
        coordinatorConfiguration.evidenceTopic = evidenceTopic
        coordinatorConfiguration.tickInterval = .milliseconds(50)
        coordinatorConfiguration.sessionTimeout = .seconds(6)
        let coordinator = try RolloutCoordinator(configuration: coordinatorConfiguration, logger: .quiet)
        let coordinatorTask = Task { try await coordinator.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while (coordinator.record(for: "scorer") == nil || !coordinator.isDecider) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(coordinator.record(for: "scorer") == record)

        let models = VersionedModelSource(current: "1", [RolloutServingTests.v1, RolloutServingTests.v2Agreeing])
        let pipeline = InferencePipeline(configuration: configuration, models: models, logger: .quiet, rollouts: coordinator)
        let running = RunningPipeline(pipeline: pipeline, task: Task { try await pipeline.run() })
        try await running.waitUntilAssigned()

        let router = try #require(RolloutKeyRouter(record: record))
        var sent = 0
        var next = 0
        // Traffic until the decider promotes (two good windows of at least five canary rows).
        while try await topic.read(model: "scorer")?.state != .promoted, ContinuousClock.now < deadline + .seconds(30) {
            try await harness.send((next..<(next + 40)).map { TestModels.request($0, id: "r\($0)").json }, keys: RolloutServingTests.keys(next..<(next + 40)))
            next += 40
            sent += 40
            try await Task.sleep(for: .milliseconds(200))
        }
        let promoted = try #require(try await topic.read(model: "scorer"))
        #expect(promoted.state == .promoted)
        // Holds (a first window may have too few canary rows to count), then the promotion on the
        // second good window in a row.
        #expect(promoted.decisions.last?.action == .promote, "\(promoted.decisions.map(\.reason))")
        #expect(promoted.decisions.dropLast().allSatisfy { $0.action == .hold })
        #expect(promoted.decisions.filter { ($0.evidence?.candidateRecords ?? 0) >= 5 }.count >= 2)
        #expect(promoted.decisions.last?.decidedBy == configuration.workerID)
        #expect(await harness.waitForOutcomes(sent))
        // Followed by the pipeline: from now on the promoted version serves every key.
        while coordinator.record(for: "scorer")?.state != .promoted { try await Task.sleep(for: .milliseconds(20)) }
        let before = harness.predictions.count
        try await harness.send((next..<(next + 200)).map { TestModels.request($0, id: "r\($0)").json }, keys: RolloutServingTests.keys(next..<(next + 200)))
        let lastIDs = Set((next..<(next + 200)).map { "r\($0)" })
        sent += 200
        #expect(await harness.waitForOutcomes(sent))
        try await running.stop()
        coordinatorTask.cancel()
        try await coordinatorTask.value

        let predictions = harness.predictions
        #expect(predictions.count == sent && harness.deadLetterRecords.isEmpty, "every request has exactly one prediction")
        #expect(Set(predictions.map(\.id)).count == sent)
        #expect(predictions.filter { lastIDs.contains($0.id) }.allSatisfy { $0.modelVersion == "2" }, "after the promotion")
        #expect(before == sent - 200)
        // A canary key is never served by the primary: before the promotion the candidate serves
        // it, after it the promoted candidate.
        for prediction in predictions {
            let key = prediction.record.key ?? []
            if router.route(key: key) == .candidate { #expect(prediction.modelVersion == "2", "\(prediction.id)") }
        }
        #expect(predictions.contains { $0.modelVersion == "1" }, "the primary served the other keys before the promotion")
        await harness.close()
    }
}
