import ArgumentParser
import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging

/// `inference-worker produce-demo`: synthetic requests for a model into a real cluster, at a fixed
/// rate, for the compose file and smoke tests. Features are drawn from the model's own training
/// baseline, a share is malformed on purpose (they become dead letters), and after `--shift-after`
/// seconds the first features shift (drift).
struct ProduceDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce-demo",
        abstract: "Produce synthetic requests for a model to a Kafka topic at a fixed rate."
    )

    @Option(help: "Bootstrap brokers, comma-separated host:port (env INFERENCE_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?
    @Option(help: "Topic to produce to.")
    var topic: String = "requests"
    @Option(help: "Requests per second.")
    var rate: Int = 100
    @Option(help: "Seconds to run; 0 runs until SIGTERM/SIGINT.")
    var duration: Double = 0
    @Option(help: "Share of malformed requests (0...1).")
    var malformedShare: Double = 0.02
    @Option(help: "Seconds after which the input distribution shifts; 0 never.")
    var shiftAfter: Double = 0
    @Option(help: "Directory holding model bundles (env INFERENCE_WORKER_MODEL_ROOT).")
    var modelRoot: String?
    @Option(help: "Model whose schema and baseline shape the requests (env INFERENCE_WORKER_MODEL_NAME).")
    var modelName: String?
    @Flag(help: "Validate the options, print them and exit without connecting (used by scripts/check-deploy.py).")
    var checkConfig = false

    func validate() throws {
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard duration >= 0, shiftAfter >= 0 else { throw ValidationError("--duration and --shift-after must not be negative") }
        guard (0...1).contains(malformedShare) else { throw ValidationError("--malformed-share must be within 0...1") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let servers = (bootstrapServers ?? environment["INFERENCE_WORKER_BOOTSTRAP_SERVERS"] ?? "").split(separator: ",").map(String.init)
        guard !servers.isEmpty else { throw ValidationError("--bootstrap-servers is required") }
        let root = modelRoot ?? environment["INFERENCE_WORKER_MODEL_ROOT"] ?? "models"
        let name = modelName ?? environment["INFERENCE_WORKER_MODEL_NAME"] ?? "fraud-mlp"
        if checkConfig {
            say("produce-demo configuration is valid: \(rate)/s to \(topic) on \(servers.joined(separator: ",")), model \(name) under \(root)")
            return
        }
        let logger = makeLogger(label: "produce-demo", level: "info")
        let registry = ModelRegistry(configuration: .init(root: URL(fileURLWithPath: root), modelName: name, policy: .latest, pollInterval: .seconds(3600)), logger: logger)
        registry.refresh()
        guard let model = registry.current else { throw ValidationError("no valid model '\(name)' under \(root): \(registry.unavailableReason)") }
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: servers)
        producerConfiguration.clientID = "produce-demo"
        producerConfiguration.linger = .milliseconds(5)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let generator = RequestGenerator(model: model)
        let stop = Interrupted()
        let signals = ShutdownSignals()
        let watcher = Task { _ = await signals.wait(); stop.set() }
        defer { watcher.cancel() }
        say("producing \(rate) requests/s of \(model.name)@\(model.version) to \(topic) on \(servers.joined(separator: ","))")
        var random = SystemRandomNumberGenerator()
        let start = ContinuousClock.now
        var produced = 0
        var lastReport = 0
        while !stop.isSet {
            let elapsed = start.duration(to: .now).doubleSeconds
            if duration > 0 && elapsed >= duration { break }
            let shifted = shiftAfter > 0 && elapsed >= shiftAfter
            let due = Int(elapsed * Double(rate)) + 1
            while produced < due && !stop.isSet {
                let malformed = Double.random(in: 0..<1, using: &random) < malformedShare
                let value = malformed ? generator.malformed(index: produced) : generator.request(id: produced, shifted: shifted, using: &random)
                try producer.send(KafkaProducerMessage(topic: topic, key: Array("customer-\(produced % 997)".utf8), value: value), blockIfQueueFull: true)
                produced += 1
            }
            if Int(elapsed) >= lastReport + 10 {
                lastReport = Int(elapsed)
                say("sent \(produced)\(shifted ? " (shifted input)" : "")")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let unacknowledged = await producer.close(flushTimeout: .seconds(10))
        say("sent \(produced); \(unacknowledged) not acknowledged")
    }
}
