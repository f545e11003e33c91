import ArgumentParser
import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging

/// `inference-worker rollout start|status|promote|rollback|abort`: writes and reads the roll-out
/// records on the compacted roll-out topic (docs/rollouts.md). Works against any broker the worker
/// reaches; the running workers follow the record.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Start, inspect and end safe roll-outs of a model version (shadow or canary).",
        subcommands: [Start.self, Status.self, Promote.self, Rollback.self, Abort.self]
    )

    /// Where the roll-out topic is, and which model.
    struct Connection: ParsableArguments {
        @Option(help: "Bootstrap brokers, comma-separated host:port (env INFERENCE_WORKER_BOOTSTRAP_SERVERS).")
        var bootstrapServers: String?
        @Option(help: "The compacted roll-out topic.")
        var topic: String = RolloutTopic.defaultName
        @Option(help: "The model (the directory name under the model root, and the record's key).")
        var model: String
        @Option(name: .customLong("kafka"), help: "A raw librdkafka property KEY=VALUE (security settings); repeatable.")
        var kafkaProperties: [String] = []

        func validate() throws {
            guard !model.isEmpty else { throw ValidationError("--model must name a model") }
            for property in kafkaProperties where !property.contains("=") {
                throw ValidationError("--kafka takes KEY=VALUE, got '\(property)'")
            }
        }

        func rolloutTopic() throws -> RolloutTopic {
            let servers = (bootstrapServers ?? ProcessInfo.processInfo.environment["INFERENCE_WORKER_BOOTSTRAP_SERVERS"] ?? "")
                .split(separator: ",").map(String.init)
            guard !servers.isEmpty else { throw ValidationError("--bootstrap-servers is required") }
            var properties: [String: String] = [:]
            for property in kafkaProperties {
                let parts = property.split(separator: "=", maxSplits: 1).map(String.init)
                properties[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return RolloutTopic(bootstrapServers: servers, name: topic, additionalProperties: properties,
                                logger: makeLogger(label: "rollout", level: "warning"))
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start trying a candidate version (refused while another roll-out of the model runs).")

        @OptionGroup var connection: Connection
        @Option(help: "The version to try.")
        var candidate: String
        @Option(help: "The version serving now. Default: the primary of the model's last roll-out record.")
        var primary: String?
        @Option(help: "shadow (the candidate scores a sample too; only the primary's predictions are output) or canary (the candidate serves a share of the keys).")
        var mode: String = "shadow"
        @Option(help: "Share of keys in the roll-out, 0...1 (0.1 = 10 %).")
        var fraction: Double = 0.1
        @Option(help: "Promote after this many good windows in a row.")
        var promoteAfter: Int = 3
        @Option(help: "Evidence window in seconds (aligned to multiples since the epoch).")
        var window: Int = 300
        @Option(help: "Seconds after a window's end to wait for replicas that have not reported.")
        var grace: Int = 30
        @Option(help: "Most label disagreement with the primary (shadow), 0...1; 'off' to skip.")
        var maxLabelDisagreement: String = "0.05"
        @Option(help: "Quantile of |candidate - primary| score compared with --max-score-difference.")
        var scoreDifferenceQuantile: Double = 0.95
        @Option(help: "Largest score difference at that quantile (shadow); 'off' to skip.")
        var maxScoreDifference: String = "0.1"
        @Option(help: "Most (errors + dead letters) / records of the candidate, 0...1; 'off' to skip.")
        var maxFailureRate: String = "0.01"
        @Option(help: "Largest PSI of the candidate's outputs against the primary's; 'off' to skip.")
        var maxOutputPsi: String = "0.2"
        @Option(help: "Largest candidate / primary mean batch latency; 'off' to skip.")
        var maxLatencyRatio: String = "2"
        @Option(help: "Fewest candidate records for a window to be judged.")
        var minRecords: Int = 100
        @Option(help: "Lowest accuracy of the candidate against the labels topic, 0...1 (canary, classification); 'off' to skip.")
        var minAccuracy: String = "off"
        @Option(help: "Largest drop of the candidate's accuracy below the primary's, 0...1 (canary, classification); 'off' to skip.")
        var maxAccuracyDrop: String = "off"
        @Option(help: "Fewest labelled predictions of each version for a window's accuracy to be judged (with an accuracy limit).")
        var minLabelled: Int = RolloutThresholds.Quality.defaultMinLabelledPerWindow
        @Flag(help: "Create the roll-out topic (1 partition, compacted) and the evidence topic if they do not exist.")
        var createTopic = false
        @Option(help: "The evidence topic created with --create-topic.")
        var evidenceTopic: String = RolloutTopic.defaultEvidenceName

        /// A limit given as a number or 'off' (nil).
        func limit(_ text: String, _ name: String) throws -> Double? {
            if text == "off" { return nil }
            guard let value = Double(text) else { throw ValidationError("--\(name) takes a number or 'off', got '\(text)'") }
            return value
        }

        func thresholds() throws -> RolloutThresholds {
            return RolloutThresholds(
                maxLabelDisagreementRate: try limit(maxLabelDisagreement, "max-label-disagreement"),
                scoreDifferenceQuantile: scoreDifferenceQuantile,
                maxScoreDifference: try limit(maxScoreDifference, "max-score-difference"),
                maxFailureRate: try limit(maxFailureRate, "max-failure-rate"),
                maxOutputPSI: try limit(maxOutputPsi, "max-output-psi"),
                maxLatencyRatio: try limit(maxLatencyRatio, "max-latency-ratio"),
                minRecordsPerWindow: minRecords,
                quality: try quality()
            )
        }

        /// The accuracy limits, or nil when both are off.
        func quality() throws -> RolloutThresholds.Quality? {
            let quality = RolloutThresholds.Quality(
                minAccuracy: try limit(minAccuracy, "min-accuracy"), maxAccuracyDrop: try limit(maxAccuracyDrop, "max-accuracy-drop"),
                minLabelledPerWindow: minLabelled
            )
            return quality.isSet ? quality : nil
        }

        /// `--mode` as a kind.
        func modeKind() throws -> RolloutMode.Kind {
            guard let kind = RolloutMode.Kind(rawValue: mode) else {
                throw ValidationError("--mode is shadow or canary, got '\(mode)'")
            }
            return kind
        }

        func validate() throws {
            do {
                try RolloutMode(kind: try modeKind(), fraction: fraction).validate()
                try thresholds().validate(for: try modeKind())
                try RolloutRecord.Policy(promoteAfterWindows: promoteAfter, windowSeconds: window, decisionGraceSeconds: grace).validate()
            } catch let error as RolloutError {
                throw ValidationError(error.description)
            }
        }

        func run() async throws {
            let topic = try connection.rolloutTopic()
            let runner = RolloutCommandRunner(topic: topic)
            if createTopic {
                let admin = KafkaAdmin(bootstrapServers: topic.bootstrapServers, additionalProperties: topic.additionalProperties, logger: topic.logger)
                say(try runner.createTopics(admin, evidenceTopic: evidenceTopic))
            }
            say(try await runner.start(
                model: connection.model, primary: primary, candidate: candidate, mode: RolloutMode(kind: try modeKind(), fraction: fraction),
                thresholds: try thresholds(), policy: .init(promoteAfterWindows: promoteAfter, windowSeconds: window, decisionGraceSeconds: grace)
            ))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a model's roll-out state, latest evidence and decisions.")

        @OptionGroup var connection: Connection
        @Flag(help: "Print the record as JSON instead of the table.")
        var json = false

        func run() async throws {
            say(try await RolloutCommandRunner(topic: try connection.rolloutTopic()).status(model: connection.model, json: json))
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the candidate the primary now (reason: manual).")
        @OptionGroup var connection: Connection
        @Option(help: "A note recorded with the decision.")
        var note: String?

        func run() async throws {
            say(try await RolloutCommandRunner(topic: try connection.rolloutTopic()).decide(model: connection.model, .promote, note: note))
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop the candidate now and keep the primary (reason: manual).")
        @OptionGroup var connection: Connection
        @Option(help: "A note recorded with the decision.")
        var note: String?

        func run() async throws {
            say(try await RolloutCommandRunner(topic: try connection.rolloutTopic()).decide(model: connection.model, .rollBack, note: note))
        }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the roll-out without a verdict; the primary stays (reason: manual).")
        @OptionGroup var connection: Connection
        @Option(help: "A note recorded with the decision.")
        var note: String?

        func run() async throws {
            say(try await RolloutCommandRunner(topic: try connection.rolloutTopic()).decide(model: connection.model, .abort, note: note))
        }
    }
}

/// What the `rollout` subcommands do, apart from parsing and printing: each returns the text to print.
struct RolloutCommandRunner {
    var topic: RolloutTopic
    /// The clock (tests pass a fixed one).
    var now: @Sendable () -> Date = { Date() }
    /// Who is deciding, recorded as `cli:<user>`.
    var user: String = ProcessInfo.processInfo.environment["USER"] ?? "unknown"

    /// Creates the roll-out and evidence topics where missing; says which were created.
    func createTopics(_ administrator: any KafkaTopicAdministrator, evidenceTopic: String) throws -> String {
        let created = try administrator.ensureTopics([topic.specification(), RolloutTopic.evidenceSpecification(name: evidenceTopic)])
        return created.isEmpty ? "topics \(topic.name) and \(evidenceTopic) exist" : "created \(created.joined(separator: ", "))"
    }

    func start(
        model: String, primary: String?, candidate: String, mode: RolloutMode, thresholds: RolloutThresholds, policy: RolloutRecord.Policy
    ) async throws -> String {
        let existing = try await topic.read(model: model)
        if let existing, existing.state == .running {
            throw RolloutError(.conflict, "a roll-out of \(model) is already running (candidate \(existing.candidateVersion ?? "?"), \(existing.mode), started \(RolloutStatusText.time(existing.startedAtMs))): promote, roll back or abort it first (inference-worker rollout status --model \(model))")
        }
        guard let primaryVersion = primary ?? existing?.primaryVersion else {
            throw ValidationError("--primary is required: \(topic.name) has no earlier roll-out of \(model) to take the serving version from")
        }
        let record = try RolloutRecord(
            modelName: model, primaryVersion: primaryVersion, candidateVersion: candidate, mode: mode, thresholds: thresholds,
            policy: policy, now: now()
        )
        try await topic.write(record)
        return "started roll-out \(record.rolloutID): \(model) \(candidate) against \(primaryVersion), \(mode)\n" + RolloutStatusText.render(record)
    }

    func status(model: String, json: Bool) async throws -> String {
        guard let record = try await topic.read(model: model) else {
            return "no roll-out of \(model) in \(topic.name): the workers serve the latest (or pinned) version"
        }
        return json ? String(decoding: try record.jsonData(prettyPrinted: true), as: UTF8.self) : RolloutStatusText.render(record)
    }

    func decide(model: String, _ action: RolloutDecision.Action, note: String?) async throws -> String {
        guard let record = try await topic.read(model: model) else {
            throw RolloutError(.conflict, "no roll-out of \(model) in \(topic.name): start one with inference-worker rollout start --model \(model)")
        }
        var policy = RolloutPolicy(record: record, deciderID: "cli:\(user)")
        let outcome: RolloutPolicy.Action
        switch action {
        case .promote: outcome = try policy.promoteManually(note: note, by: "cli:\(user)", now: now())
        case .rollBack: outcome = try policy.rollBackManually(note: note, by: "cli:\(user)", now: now())
        case .abort: outcome = try policy.abort(note: note, by: "cli:\(user)", now: now())
        case .hold: throw ValidationError("hold is not a manual decision")
        }
        guard case .publish(let updated, let decision) = outcome else { return "nothing changed" }
        try await topic.write(updated)
        return "\(decision.action.rawValue) recorded (\(decision.reason)): \(model) now serves \(updated.servingVersions.joined(separator: " and "))"
    }
}
