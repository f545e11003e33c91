import ArgumentParser
import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import CoreMetrics
import Logging
import ServiceLifecycle

/// `inference-worker run`: the worker itself.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume requests, score them in micro-batches, publish predictions and dead letters.",
        discussion: """
            Every setting comes from a flag, an INFERENCE_WORKER_<NAME> environment variable (NAME is \
            the flag in upper snake case, e.g. INFERENCE_WORKER_BOOTSTRAP_SERVERS), or a `name = value` \
            line of the --config file; flags win over the environment, the environment over the file. \
            SIGTERM or SIGINT drains in-flight work (within --drain-timeout), commits, leaves the \
            group and exits 0; a second signal exits at once.
            """
    )

    @OptionGroup var options: WorkerOptions

    @Flag(help: "Validate the settings, print them with their sources (secrets redacted), and exit without connecting.")
    var checkConfig = false

    func run() async throws {
        var resolver = try WorkerSettingsResolver(options: options, environment: ProcessInfo.processInfo.environment)
        var configuration = try resolver.resolve()
        let operations = try resolver.resolveOperations()
        operations.apply(to: &configuration)
        if checkConfig {
            print(ConfigReport.render(configuration, sources: resolver.sources))
            print(ConfigReport.render(operations, sources: resolver.sources))
            let bundle = URL(fileURLWithPath: configuration.modelRoot).appendingPathComponent(configuration.modelName)
            if !FileManager.default.fileExists(atPath: bundle.path) {
                print("note: \(bundle.path) does not exist here (fine if it is mounted at run time)")
            }
            return
        }
        let logger = operations.bootstrapLogging(secretsFrom: configuration, label: "inference-worker")
        KafkaLibrary.logRuntimeVersion(to: logger)
        // Serving in a function of its own: the clients it created are released when it returns,
        // and the process exits only once librdkafka has destroyed them (see `KafkaClientsAtExit`).
        do {
            try await serve(configuration, operations: operations, logger: logger)
        } catch {
            KafkaClientsAtExit.awaitClosed(logger: logger, failing: error)
            throw error
        }
        KafkaClientsAtExit.awaitClosed(logger: logger)
    }

    private func serve(_ configuration: WorkerConfiguration, operations: OperationsSettings, logger: Logger) async throws {
        let metrics = WorkerMetrics()
        MetricsSystem.bootstrap(metrics.factory) // once per process: library metrics land in the same registry
        // Signals are handled from here on, also during the topic check below (which may wait for
        // an unreachable cluster): a first signal before the group runs stops the start-up.
        let shutdown = PendingShutdown()
        let signals = ShutdownSignals { signal in
            logger.info("signal received: draining", metadata: ["signal": "\(signal)"])
            shutdown.trigger()
        }
        let admin = KafkaAdmin(bootstrapServers: configuration.bootstrapServers, additionalProperties: configuration.kafkaProperties, logger: logger)
        if configuration.createTopics {
            // One CreateTopics call (one `topics ensured` line) for the worker's and the roll-outs' topics.
            try admin.ensureTopics(WorkerTopics.specifications(configuration) + WorkerRollouts.specifications(configuration, logger: logger))
        } else {
            try WorkerTopics.requireExisting(configuration, admin: admin, logger: logger)
        }
        // Each start-up step may wait seconds for an unreachable cluster: a signal that came during
        // one stops the start-up before the next.
        if shutdown.isTriggered {
            logger.info("stopped before starting")
            return
        }
        // Up to four services in one group: the endpoint (unless --metrics-port 0), the roll-out
        // coordinator (unless roll-outs are off for the run), the registry's watch and the pipeline. On
        // SIGTERM/SIGINT the group shuts them down in reverse order: the pipeline first (stop
        // consuming, drain within --drain-timeout, flush, commit, leave the group), then the
        // registry's watch, then the coordinator, then the endpoint, which keeps answering (not
        // ready) while the pipeline drains. Any of them ending, or failing, shuts the others down
        // gracefully.
        let models = ModelRegistryService(registry: WorkerTopics.registry(configuration, logger: logger), logger: logger)
        let rollouts = try await WorkerRollouts.coordinator(configuration, admin: admin, metrics: metrics, logger: logger,
                                                            isStopping: { shutdown.isTriggered })
        let pipeline = InferencePipeline(configuration: configuration, models: models.pipelineSource, logger: logger,
                                         counters: PipelineCounters(metrics: metrics), rollouts: rollouts)
        var services: [any Service] = []
        if operations.metricsPort > 0 {
            services.append(OperationsEndpoints.server(host: operations.metricsHost, port: operations.metricsPort,
                                                       pipeline: pipeline, metrics: metrics, dashboard: pipeline.recentReports, logger: logger))
        }
        // The roll-out coordinator before the pipeline: it keeps following records while the pipeline drains.
        if let rollouts { services.append(rollouts) }
        services += [models, pipeline.service]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        // The group handles the first signal; `signals` exits at the second, and forwards a first
        // signal that arrived before the group installed its own handlers (or before it existed).
        guard shutdown.attach(group) else {
            // The coordinator's producer is the only client started so far (the pipeline's start in the group).
            await rollouts?.close()
            logger.info("stopped before starting")
            return
        }
        try await group.run()
        withExtendedLifetime(signals) {}
    }
}

/// What `run` and `demo` both derive from a configuration.
enum WorkerTopics {
    static func specifications(_ c: WorkerConfiguration) -> [KafkaTopicSpecification] {
        var names = c.inputTopics + [c.outputTopic, c.effectiveDeadLetterTopic]
        if let drift = c.driftTopic { names.append(drift) }
        if let labels = c.labelsTopic, let quality = c.effectiveQualityTopic { names += [labels, quality] + (c.trainingExamplesTopic.map { [$0] } ?? []) }
        return names.map { KafkaTopicSpecification(name: $0, partitions: $0 == c.effectiveDeadLetterTopic ? max(1, c.createTopicPartitions / 4) : c.createTopicPartitions) }
    }

    /// Fails with a message naming the missing topics and the fix, unless every topic the worker
    /// reads or writes exists: a missing dead-letter topic would otherwise hold partitions back at
    /// the first bad record, a missing output topic at the first prediction. A cluster that does
    /// not answer is not a reason to stop (the worker keeps retrying it, as it would later): that
    /// is logged and the check skipped.
    static func requireExisting(_ c: WorkerConfiguration, admin: KafkaAdmin, logger: Logger) throws {
        var admin = admin
        admin.timeout = .seconds(10)
        let missing: [String]
        do {
            missing = try admin.missingTopics(specifications(c).map(\.name))
        } catch {
            logger.warning("could not check that the topics exist; starting anyway", metadata: ["error": "\(error)"])
            return
        }
        guard missing.isEmpty else {
            throw ValidationError(
                "missing topics: \(missing.joined(separator: ", ")). Create them (see docs/operations.md for partition counts) "
                    + "or run with --create-topics true to let the worker create them."
            )
        }
    }

    static func registry(_ c: WorkerConfiguration, logger: Logger) -> ModelRegistry {
        ModelRegistry(
            configuration: .init(
                root: URL(fileURLWithPath: c.modelRoot), modelName: c.modelName,
                policy: c.modelVersion.map { .pinned(ModelVersion($0)) } ?? .latest,
                pollInterval: c.modelPollInterval, onnxRuntime: c.onnxRuntime
            ),
            logger: logger
        )
    }
}

func makeLogger(label: String, level: String?) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = level.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
    return logger
}

/// A first signal that may arrive before the `ServiceGroup` exists (during the start-up checks) or
/// before it installed its own handlers: remembered, and forwarded to the group once attached.
/// `@unchecked Sendable`: guarded by `lock`.
final class PendingShutdown: @unchecked Sendable {
    private let lock = NSLock()
    private var triggered = false
    private var group: ServiceGroup?

    /// A signal arrived.
    func trigger() {
        lock.lock()
        triggered = true
        let group = self.group
        lock.unlock()
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    /// Whether a signal arrived.
    var isTriggered: Bool {
        lock.lock()
        defer { lock.unlock() }
        return triggered
    }

    /// Attaches the group; false when a signal came before it existed (do not start it then).
    func attach(_ group: ServiceGroup) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if triggered { return false }
        self.group = group
        return true
    }
}
