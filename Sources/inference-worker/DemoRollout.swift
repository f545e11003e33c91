import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging

/// `demo --rollout`: a shadow roll-out promoted live on the embedded broker.
///
/// The served version is copied into a temporary model root twice, as itself (the primary) and as
/// the next version (the candidate: the same weights, so it agrees on every row); the registry is
/// pinned to the primary. A ``RolloutCoordinator`` runs next to the pipeline and a shadow record
/// (20 % of the keys, 3-second windows, promotion after three good windows, default thresholds)
/// is written before
/// traffic starts, so the progress line shows the holds and then the promotion, after which the
/// candidate serves every key.
final class DemoRollout: Sendable {
    let coordinator: RolloutCoordinator
    let record: RolloutRecord
    let root: URL
    private let topic: RolloutTopic
    private let logger: Logger

    /// Prepares the model root and the coordinator; points `configuration` at the temporary root.
    init(configuration: inout WorkerConfiguration, broker: EmbeddedKafkaBroker, logger: Logger) throws {
        let original = WorkerTopics.registry(configuration, logger: logger)
        original.refresh()
        guard let model = original.current else {
            throw DemoRolloutError("no valid model '\(configuration.modelName)' under \(configuration.modelRoot) to roll out")
        }
        let primary = model.version
        let candidate = Int(primary).map { String($0 + 1) } ?? "\(primary)-candidate"
        root = FileManager.default.temporaryDirectory.appendingPathComponent("inference-worker-demo-\(UUID().uuidString.prefix(8))")
        let source = original.configuration.modelDirectory.appendingPathComponent(primary, isDirectory: true)
        for version in [primary, candidate] {
            let directory = root.appendingPathComponent(configuration.modelName).appendingPathComponent(version)
            try FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source, to: directory)
            let manifestURL = directory.appendingPathComponent("manifest.json")
            guard var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any] else {
                throw DemoRolloutError("\(manifestURL.path) is not a JSON object")
            }
            manifest["version"] = version
            try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted]).write(to: manifestURL)
        }
        configuration.modelRoot = root.path
        configuration.modelVersion = primary
        try broker.ensureTopics(WorkerRollouts.specifications(configuration, logger: logger))
        var settings = RolloutCoordinator.Configuration(bootstrapServers: configuration.bootstrapServers, groupID: configuration.groupID, workerID: configuration.workerID)
        settings.sessionTimeout = .seconds(6)
        coordinator = try RolloutCoordinator(configuration: settings, logger: logger)
        record = try RolloutRecord(
            modelName: configuration.modelName, primaryVersion: primary, candidateVersion: candidate, mode: .shadow(fraction: 0.2),
            // No latency bound here: on a two-core machine shared with the demo's own producer and
            // broker, the sampled latency ratio of an identical copy was once 3.9 (docs/rollouts.md,
            // "Evidence"), and the demo is about promotion on agreement, not about timing.
            thresholds: RolloutThresholds(maxLatencyRatio: nil, minRecordsPerWindow: 50),
            policy: .init(promoteAfterWindows: 3, windowSeconds: 3, decisionGraceSeconds: 1), now: Date()
        )
        topic = RolloutTopic(bootstrapServers: configuration.bootstrapServers, logger: logger)
        self.logger = logger
    }

    /// The model source for the pipeline: the registry, plus the roll-out's named versions.
    func models(_ registry: ModelRegistry) -> any ModelSource {
        ModelRegistryService(registry: registry, logger: logger).pipelineSource
    }

    /// Writes the roll-out record (as `inference-worker rollout start` would) and follows it at once.
    func start() async throws {
        try await topic.write(record)
        coordinator.follow(record)
    }

    /// For the progress line.
    var status: String {
        guard let current = coordinator.record(for: record.modelName) else { return "rollout -" }
        let versions = "\(record.primaryVersion)->\(record.candidateVersion ?? "-")"
        switch current.state {
        case .running:
            var text = "rollout \(current.mode) \(versions): \(current.consecutiveGoodWindows)/\(current.policy.promoteAfterWindows) good windows"
            if let e = current.latestEvidenceDecision?.evidence {
                let disagreement = e.labelDisagreementRate.map { String(format: "%.1f %%", $0 * 100) } ?? "-"
                let difference = e.scoreDifference.map { String(format: "%.4f", $0) } ?? "-"
                let latency = e.latencyRatio.map { String(format: "x%.2f", $0) } ?? "-"
                text += " (last: \(e.candidateRecords) rows, disagree \(disagreement), p95 diff \(difference), latency \(latency))"
            }
            return text
        case .promoted:
            return "rollout PROMOTED: \(current.primaryVersion) serves every key (was \(current.previousPrimaryVersion ?? "-"))"
        case .rolledBack, .aborted:
            return "rollout \(current.state.rawValue.uppercased()): \(current.primaryVersion) serves (\(current.decisions.last?.reason ?? ""))"
        }
    }

    /// For the summary.
    var summaryLines: [String] {
        let decisions = coordinator.record(for: record.modelName)?.decisions ?? []
        return ["  roll-out decisions        \(decisions.count)"] + decisions.map { "    \($0.action.rawValue): \($0.reason)" }
    }

    func removeModelRoot() {
        try? FileManager.default.removeItem(at: root)
    }
}

struct DemoRolloutError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
