import ArgumentParser
import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import CoreMetrics
import Logging

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
        let metrics = WorkerMetrics()
        MetricsSystem.bootstrap(metrics.factory) // once per process: library metrics land in the same registry
        if configuration.createTopics {
            try KafkaAdmin(bootstrapServers: configuration.bootstrapServers, additionalProperties: configuration.kafkaProperties, logger: logger)
                .ensureTopics(WorkerTopics.specifications(configuration))
        }
        let pipeline = InferencePipeline(configuration: configuration, models: WorkerTopics.registry(configuration, logger: logger), logger: logger,
                                         counters: PipelineCounters(metrics: metrics))
        let endpoint: OperationsHTTPServer.Running? = operations.metricsPort > 0
            ? try await OperationsEndpoints.start(host: operations.metricsHost, port: operations.metricsPort, pipeline: pipeline, metrics: metrics, logger: logger) : nil
        defer { endpoint?.shutdown() }
        let signals = ShutdownSignals()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pipeline.run() }
            group.addTask {
                let signal = await signals.wait()
                if Task.isCancelled { return } // the pipeline ended first (e.g. failed to start)
                logger.info("signal received: draining", metadata: ["signal": "\(signal)"])
                pipeline.requestShutdown()
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// What `run` and `demo` both derive from a configuration.
enum WorkerTopics {
    static func specifications(_ c: WorkerConfiguration) -> [KafkaTopicSpecification] {
        var names = c.inputTopics + [c.outputTopic, c.effectiveDeadLetterTopic]
        if let drift = c.driftTopic { names.append(drift) }
        return names.map { KafkaTopicSpecification(name: $0, partitions: $0 == c.effectiveDeadLetterTopic ? max(1, c.createTopicPartitions / 4) : c.createTopicPartitions) }
    }

    static func registry(_ c: WorkerConfiguration, logger: Logger) -> ModelRegistry {
        ModelRegistry(
            configuration: .init(
                root: URL(fileURLWithPath: c.modelRoot), modelName: c.modelName,
                policy: c.modelVersion.map { .pinned(ModelVersion($0)) } ?? .latest,
                pollInterval: c.modelPollInterval
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
