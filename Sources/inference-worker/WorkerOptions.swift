import ArgumentParser
import Foundation
import InferenceWorker
import Kafka

/// The `run` settings. Each can come from a flag, an `INFERENCE_WORKER_<NAME>` environment variable
/// (NAME is the flag in upper snake case), or a `name = value` line in the `--config` file; flags win
/// over the environment, the environment over the file, the file over the defaults.
///
/// Raw librdkafka properties: `--kafka KEY=VALUE` (consumer and producer), `--consumer-property`,
/// `--producer-property`; in the file `kafka.KEY = VALUE`, `consumer.KEY = VALUE`, `producer.KEY = VALUE`;
/// in the environment `INFERENCE_WORKER_KAFKA_SASL_PASSWORD=...` for `sasl.password` (`_` becomes `.`,
/// `__` becomes `_`, as in Confluent's images), likewise `INFERENCE_WORKER_CONSUMER_...` and `..._PRODUCER_...`.
struct WorkerOptions: ParsableArguments {
    @Option(help: "Config file of `name = value` lines (env INFERENCE_WORKER_CONFIG).")
    var config: String?

    @Option(help: "Bootstrap brokers, comma-separated host:port. Required.")
    var bootstrapServers: String?
    @Option(help: "Request topics, comma-separated. Required.")
    var inputTopics: String?
    @Option(help: "Prediction topic. Default: predictions.")
    var outputTopic: String?
    @Option(help: "Dead-letter topic. Default: <first input topic>.DLT.")
    var deadLetterTopic: String?
    @Option(help: "Drift report topic; 'none' disables drift reports. Default: inference-drift.")
    var driftTopic: String?
    @Option(help: "A drift window closes after this many rows (or at the time boundary, whichever first). Default: 500000 (a report every 5 s at 100k rows/s).")
    var driftWindowRecords: String?
    @Option(help: "A drift window also closes at every multiple of this duration (aligned across replicas), e.g. 60s. Default: 60s.")
    var driftWindow: String?
    @Option(help: "Ground-truth topic of {\"id\", \"label\"} events keyed like the requests: turns live quality on (docs/quality.md). It must have as many partitions as each request topic (the worker refuses to run otherwise) and makes the group use the range assignor. Default: none (quality off).")
    var labelsTopic: String?
    @Option(help: "Where a shadow candidate's predictions go during a roll-out (docs/rollouts.md). Default: <output-topic>.shadow.")
    var shadowTopic: String?
    @Option(help: "Quality report topic (used with --labels-topic). Default: inference-quality.")
    var qualityTopic: String?
    @Option(help: "Topic for labelled examples to retrain on (request as received, prediction, version, label, times), with --labels-topic. Default: none.")
    var trainingExamplesTopic: String?
    @Option(help: "A quality window closes after this many labelled examples. Default: 10000.")
    var qualityWindowRecords: String?
    @Option(help: "A quality window also closes at every multiple of this duration (aligned across replicas), e.g. 60s. Default: 60s.")
    var qualityWindow: String?
    @Option(help: "Consumer group shared by all replicas. Default: inference-worker.")
    var groupId: String?
    @Option(help: "Static group membership id (e.g. a StatefulSet pod name). Default: none.")
    var groupInstanceId: String?
    @Option(help: "This replica's id in headers, reports and logs. Default: the host name.")
    var workerId: String?
    @Option(help: "Create missing topics at start (true/false); existing ones are left as they are (a warning names any whose partition count differs). Default: false.")
    var createTopics: String?
    @Option(help: "Partitions of topics the worker creates. Default: 8.")
    var createTopicPartitions: String?

    @Option(help: "Directory holding <model-name>/<version>/ bundles. Required.")
    var modelRoot: String?
    @Option(help: "Model to serve (directory under the model root). Required.")
    var modelName: String?
    @Option(help: "Pin a model version; default: the latest valid one, hot-swapped when a newer appears.")
    var modelVersion: String?
    @Option(help: "How often to look for new model versions, e.g. 10s. Default: 10s.")
    var modelPollInterval: String?

    @Option(help: "ONNX Runtime library for onnx bundles (pip install onnxruntime: site-packages/onnxruntime/capi/libonnxruntime.so.1.<x>). Default: libonnxruntime.so.1 on the library search path.")
    var onnxruntimeLibrary: String?
    @Option(help: "ONNX Runtime threads inside one operator. Default: 1.")
    var onnxruntimeIntraOpThreads: String?
    @Option(help: "ONNX Runtime threads running independent operators in parallel. Default: 1.")
    var onnxruntimeInterOpThreads: String?

    @Option(help: "Most records per model call. Default: 64.")
    var maxBatchSize: String?
    @Option(help: "Longest the oldest record waits for its batch to fill, e.g. 5ms. Default: 5ms.")
    var maxBatchDelay: String?
    @Option(help: "Adapt the batch size to the latency objective (true/false). Default: true.")
    var adaptiveBatching: String?
    @Option(help: "Per-batch latency that adaptive batching keeps, e.g. 10ms. Default: 10ms.")
    var latencyObjective: String?

    @Option(help: "Records in flight (consumed, not yet acknowledged) before partitions are held back. Default: 20000.")
    var maxInFlightRecords: String?
    @Option(help: "Bytes in flight before partitions pause. Default: 33554432 (32 MiB).")
    var maxInFlightBytes: String?
    @Option(help: "Paused partitions resume below this fraction of the in-flight limits. Default: 0.5.")
    var resumeFraction: String?
    @Option(help: "Larger request values are dead-lettered (oversized_payload). Default: 1048576.")
    var maxPayloadBytes: String?
    @Option(help: "How often stored offsets are committed, e.g. 1s. Default: 1s.")
    var commitInterval: String?
    @Option(help: "On SIGTERM, how long in-flight work may take to finish, e.g. 20s; leaving the group may take 5 s more. Default: 20s.")
    var drainTimeout: String?
    @Option(help: "On partition revocation, how long their in-flight work may take. Default: 10s.")
    var revokeTimeout: String?
    @Option(help: "After a fatal producer error, the worker recreates its producer and resends; if a recreated producer fails fatally again this long after the first such error with no output delivered since, it exits non-zero without committing, e.g. 300s (a producer that is usable but cannot reach the broker retries for as long as that lasts). Default: 300s.")
    var producerRecoveryTimeout: String?

    @Option(help: "Address the HTTP endpoint for /metrics and /health/* listens on, e.g. 127.0.0.1 for this host only. Default: 0.0.0.0 (every IPv4 interface).")
    var metricsHost: String?
    @Option(help: "Port of the HTTP endpoint for /metrics, /health/live and /health/ready; 0 disables it. Default: 9090.")
    var metricsPort: String?
    @Option(help: "Log format: text (human) or json (one object per line, for log collectors). Default: text.")
    var logFormat: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Default: info.")
    var logLevel: String?

    @Option(name: .customLong("kafka"), help: "Raw librdkafka property KEY=VALUE for consumer and producer (repeatable).")
    var kafkaProperties: [String] = []
    @Option(name: .customLong("consumer-property"), help: "Raw librdkafka property KEY=VALUE for the consumer only (repeatable).")
    var consumerProperties: [String] = []
    @Option(name: .customLong("producer-property"), help: "Raw librdkafka property KEY=VALUE for the producer only (repeatable).")
    var producerProperties: [String] = []

    /// Flag values by setting name.
    var flagValues: [String: String] {
        var values: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("bootstrap-servers", bootstrapServers), ("input-topics", inputTopics), ("output-topic", outputTopic),
            ("dead-letter-topic", deadLetterTopic), ("drift-topic", driftTopic), ("drift-window-records", driftWindowRecords),
            ("drift-window", driftWindow), ("labels-topic", labelsTopic), ("quality-topic", qualityTopic),
            ("training-examples-topic", trainingExamplesTopic), ("shadow-topic", shadowTopic),
            ("quality-window-records", qualityWindowRecords), ("quality-window", qualityWindow), ("group-id", groupId),
            ("group-instance-id", groupInstanceId), ("worker-id", workerId), ("create-topics", createTopics),
            ("create-topic-partitions", createTopicPartitions), ("model-root", modelRoot), ("model-name", modelName),
            ("model-version", modelVersion), ("model-poll-interval", modelPollInterval), ("max-batch-size", maxBatchSize),
            ("onnxruntime-library", onnxruntimeLibrary), ("onnxruntime-intra-op-threads", onnxruntimeIntraOpThreads),
            ("onnxruntime-inter-op-threads", onnxruntimeInterOpThreads),
            ("max-batch-delay", maxBatchDelay), ("adaptive-batching", adaptiveBatching), ("latency-objective", latencyObjective),
            ("max-in-flight-records", maxInFlightRecords), ("max-in-flight-bytes", maxInFlightBytes),
            ("resume-fraction", resumeFraction), ("max-payload-bytes", maxPayloadBytes), ("commit-interval", commitInterval),
            ("drain-timeout", drainTimeout), ("revoke-timeout", revokeTimeout), ("producer-recovery-timeout", producerRecoveryTimeout),
            ("metrics-host", metricsHost), ("metrics-port", metricsPort), ("log-format", logFormat), ("log-level", logLevel),
        ]
        for (name, value) in pairs { if let value { values[name] = value } }
        return values
    }
}

/// Where a setting's value came from, for `--check-config`.
enum SettingSource: String {
    case flag, environment, file, `default`
}

/// Resolves ``WorkerOptions`` against the environment and the config file into a ``WorkerConfiguration``.
struct WorkerSettingsResolver {
    static let settingNames = [
        "bootstrap-servers", "input-topics", "output-topic", "dead-letter-topic", "drift-topic", "drift-window-records",
        "drift-window", "labels-topic", "quality-topic", "training-examples-topic", "shadow-topic", "quality-window-records", "quality-window", "group-id",
        "group-instance-id", "worker-id", "create-topics", "create-topic-partitions", "model-root", "model-name",
        "model-version", "model-poll-interval", "onnxruntime-library", "onnxruntime-intra-op-threads", "onnxruntime-inter-op-threads",
        "max-batch-size", "max-batch-delay", "adaptive-batching",
        "latency-objective", "max-in-flight-records", "max-in-flight-bytes", "resume-fraction", "max-payload-bytes",
        "commit-interval", "drain-timeout", "revoke-timeout", "producer-recovery-timeout",
        "metrics-host", "metrics-port", "log-format", "log-level",
    ]

    let options: WorkerOptions
    let environment: [String: String]
    private(set) var sources: [String: SettingSource] = [:]
    private var file: [String: String] = [:]
    private var fileRaw: (kafka: [String: String], consumer: [String: String], producer: [String: String]) = ([:], [:], [:])

    init(options: WorkerOptions, environment: [String: String]) throws {
        self.options = options
        self.environment = environment
        if let path = options.config ?? environment["INFERENCE_WORKER_CONFIG"] {
            try loadFile(path)
        }
    }

    static func environmentName(_ setting: String) -> String {
        "INFERENCE_WORKER_" + setting.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    private mutating func loadFile(_ path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read config file \(path)")
        }
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ValidationError("\(path):\(number + 1): expected `name = value`, got '\(line)'")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            for (prefix, keyPath) in [("kafka.", \Self.fileRaw.kafka), ("consumer.", \Self.fileRaw.consumer), ("producer.", \Self.fileRaw.producer)] where key.hasPrefix(prefix) {
                self[keyPath: keyPath][String(key.dropFirst(prefix.count))] = value
            }
            if key.hasPrefix("kafka.") || key.hasPrefix("consumer.") || key.hasPrefix("producer.") { continue }
            guard Self.settingNames.contains(key) else {
                throw ValidationError("\(path):\(number + 1): unknown setting '\(key)' (see `inference-worker run --help`)")
            }
            file[key] = value
        }
    }

    /// The value of a setting, and records where it came from.
    mutating func value(_ name: String) -> String? {
        if let v = options.flagValues[name] { sources[name] = .flag; return v }
        if let v = environment[Self.environmentName(name)] { sources[name] = .environment; return v }
        if let v = file[name] { sources[name] = .file; return v }
        sources[name] = .default
        return nil
    }

    /// Raw librdkafka properties for one scope (`KAFKA`, `CONSUMER`, `PRODUCER`), merged file < env < flags.
    func rawProperties(scope: String, flags: [String]) throws -> [String: String] {
        var result = scope == "KAFKA" ? fileRaw.kafka : (scope == "CONSUMER" ? fileRaw.consumer : fileRaw.producer)
        let prefix = "INFERENCE_WORKER_\(scope)_"
        for (name, value) in environment where name.hasPrefix(prefix) {
            let key = String(name.dropFirst(prefix.count)).lowercased()
                .replacingOccurrences(of: "__", with: "\u{0}").replacingOccurrences(of: "_", with: ".")
                .replacingOccurrences(of: "\u{0}", with: "_")
            result[key] = value
        }
        for pair in flags {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                // The text is not echoed: a value passed without its key may be a secret.
                throw ValidationError("librdkafka properties are KEY=VALUE; one --kafka/--consumer-property/--producer-property value has no KEY= part (not shown: it may be a secret)")
            }
            result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return result
    }

    mutating func resolve() throws -> WorkerConfiguration {
        func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let workerID = value("worker-id") ?? ProcessInfo.processInfo.hostName
        var c = WorkerConfiguration(
            bootstrapServers: list(value("bootstrap-servers")),
            inputTopics: list(value("input-topics")),
            modelRoot: value("model-root") ?? "",
            modelName: value("model-name") ?? "",
            workerID: workerID
        )
        if let v = value("output-topic") { c.outputTopic = v }
        if let v = value("dead-letter-topic") { c.deadLetterTopic = v }
        if let v = value("drift-topic") { c.driftTopic = v.lowercased() == "none" ? nil : v }
        if let v = value("drift-window-records") { c.driftWindowRecords = try Parse.int(v, "drift-window-records") }
        if let v = value("drift-window") { c.driftWindow = try Parse.duration(v, "drift-window") }
        if let v = value("labels-topic") { c.labelsTopic = v }
        if let v = value("quality-topic") { c.qualityTopic = v }
        if let v = value("training-examples-topic") { c.trainingExamplesTopic = v }
        if let v = value("shadow-topic") { c.shadowTopic = v }
        if let v = value("quality-window-records") { c.quality.windowRecordCount = try Parse.int(v, "quality-window-records") }
        if let v = value("quality-window") { c.quality.windowDuration = try Parse.duration(v, "quality-window") }
        if let v = value("group-id") { c.groupID = v }
        if let v = value("group-instance-id") { c.groupInstanceID = v }
        if let v = value("create-topics") { c.createTopics = try Parse.bool(v, "create-topics") }
        if let v = value("create-topic-partitions") { c.createTopicPartitions = try Parse.int(v, "create-topic-partitions") }
        if let v = value("model-version") { c.modelVersion = v }
        if let v = value("model-poll-interval") { c.modelPollInterval = try Parse.duration(v, "model-poll-interval") }
        if let v = value("onnxruntime-library") { c.onnxRuntime.libraryPath = v }
        if let v = value("onnxruntime-intra-op-threads") { c.onnxRuntime.intraOpThreads = try Parse.int(v, "onnxruntime-intra-op-threads") }
        if let v = value("onnxruntime-inter-op-threads") { c.onnxRuntime.interOpThreads = try Parse.int(v, "onnxruntime-inter-op-threads") }
        if let v = value("max-batch-size") { c.maxBatchSize = try Parse.int(v, "max-batch-size") }
        if let v = value("max-batch-delay") { c.maxBatchDelay = try Parse.duration(v, "max-batch-delay") }
        if let v = value("adaptive-batching") { c.adaptiveBatching = try Parse.bool(v, "adaptive-batching") }
        if let v = value("latency-objective") { c.latencyObjective = try Parse.duration(v, "latency-objective") }
        if let v = value("max-in-flight-records") { c.maxInFlightRecords = try Parse.int(v, "max-in-flight-records") }
        if let v = value("max-in-flight-bytes") { c.maxInFlightBytes = try Parse.int(v, "max-in-flight-bytes") }
        if let v = value("resume-fraction") { c.resumeFraction = try Parse.double(v, "resume-fraction") }
        if let v = value("max-payload-bytes") { c.maxPayloadBytes = try Parse.int(v, "max-payload-bytes") }
        if let v = value("commit-interval") { c.commitInterval = try Parse.duration(v, "commit-interval") }
        if let v = value("drain-timeout") { c.drainTimeout = try Parse.duration(v, "drain-timeout") }
        if let v = value("revoke-timeout") { c.revokeTimeout = try Parse.duration(v, "revoke-timeout") }
        if let v = value("producer-recovery-timeout") { c.producerRecoveryTimeout = try Parse.duration(v, "producer-recovery-timeout") }
        c.kafkaProperties = try rawProperties(scope: "KAFKA", flags: options.kafkaProperties)
        c.consumerProperties = try rawProperties(scope: "CONSUMER", flags: options.consumerProperties)
        c.producerProperties = try rawProperties(scope: "PRODUCER", flags: options.producerProperties)
        if c.bootstrapServers.isEmpty { throw ValidationError("bootstrap-servers is required (flag --bootstrap-servers or env INFERENCE_WORKER_BOOTSTRAP_SERVERS)") }
        if c.inputTopics.isEmpty { throw ValidationError("input-topics is required (flag --input-topics or env INFERENCE_WORKER_INPUT_TOPICS)") }
        if c.modelRoot.isEmpty { throw ValidationError("model-root is required (flag --model-root or env INFERENCE_WORKER_MODEL_ROOT)") }
        if c.modelName.isEmpty { throw ValidationError("model-name is required (flag --model-name or env INFERENCE_WORKER_MODEL_NAME)") }
        do {
            try c.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return c
    }
}

/// Parsers for setting values, with messages naming the setting.
enum Parse {
    static func int(_ text: String, _ name: String) throws -> Int {
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else { throw ValidationError("\(name): '\(text)' is not a whole number") }
        return value
    }

    static func double(_ text: String, _ name: String) throws -> Double {
        guard let value = Double(text), value.isFinite else { throw ValidationError("\(name): '\(text)' is not a number") }
        return value
    }

    static func bool(_ text: String, _ name: String) throws -> Bool {
        switch text.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw ValidationError("\(name): '\(text)' is not true or false")
        }
    }

    /// `250us`, `5ms`, `1.5s`, `2m`, `1h`. A bare number is refused: units avoid ms/s mix-ups.
    static func duration(_ text: String, _ name: String) throws -> Duration {
        let units: [(String, Double)] = [("us", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)), number.isFinite, number >= 0 {
                return .nanoseconds(Int64((number * scale * 1e9).rounded()))
            }
        }
        throw ValidationError("\(name): '\(text)' is not a duration; write it with a unit, e.g. 5ms, 1.5s, 2m")
    }
}
