import ArgumentParser
import InferenceWorker
import Logging

/// The operational settings of `run` (not the pipeline's): the metrics/health host and port, log format
/// and level. Resolved like every other setting: flag > INFERENCE_WORKER_* env > config file.
struct OperationsSettings {
    enum LogFormat: String, CaseIterable {
        case text, json
    }

    /// Address the operations endpoint listens on. Default 0.0.0.0 (every IPv4 interface).
    var metricsHost = "0.0.0.0"
    /// Port of the operations endpoint; 0 disables it. Default 9090.
    var metricsPort = 9090
    /// Default text.
    var logFormat = LogFormat.text
    /// Default info.
    var logLevel = Logger.Level.info

    /// Per-partition lag comes from librdkafka's statistics, off by default: with the endpoint on,
    /// the consumer emits them every 5 s unless `statistics.interval.ms` is set explicitly.
    func apply(to configuration: inout WorkerConfiguration) {
        let key = "statistics.interval.ms"
        guard metricsPort > 0, configuration.kafkaProperties[key] == nil, configuration.consumerProperties[key] == nil else { return }
        configuration.consumerProperties[key] = "5000"
    }

    /// Bootstraps swift-log (once per process) with the chosen handler and level, after
    /// registering the configuration's secret values for scrubbing; returns the worker's logger.
    func bootstrapLogging(secretsFrom configuration: WorkerConfiguration, label: String) -> Logger {
        SecretRedaction.register(secretsIn: configuration.kafkaProperties)
        SecretRedaction.register(secretsIn: configuration.consumerProperties)
        SecretRedaction.register(secretsIn: configuration.producerProperties)
        let format = logFormat
        let level = logLevel
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                var handler = JSONLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            case .text:
                var handler = TextLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

extension WorkerSettingsResolver {
    mutating func resolveOperations() throws -> OperationsSettings {
        var o = OperationsSettings()
        if let v = value("metrics-host") {
            let host = v.trimmingCharacters(in: .whitespaces)
            guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else {
                throw ValidationError("metrics-host: '\(v)' is not an address or host name to listen on (e.g. 127.0.0.1, 0.0.0.0, ::)")
            }
            o.metricsHost = host
        }
        if let v = value("metrics-port") {
            let port = try Parse.int(v, "metrics-port")
            guard (0...65_535).contains(port) else { throw ValidationError("metrics-port: must be 0...65535 (0 disables the endpoint), got \(port)") }
            o.metricsPort = port
        }
        if let v = value("log-format") {
            guard let format = OperationsSettings.LogFormat(rawValue: v.lowercased()) else {
                throw ValidationError("log-format: '\(v)' is not text or json")
            }
            o.logFormat = format
        }
        if let v = value("log-level") {
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw ValidationError("log-level: '\(v)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            o.logLevel = level
        }
        return o
    }
}

extension ConfigReport {
    /// The operational settings, in the same `name = value  [source]` form.
    static func render(_ o: OperationsSettings, sources: [String: SettingSource]) -> String {
        [("metrics-host", o.metricsHost), ("metrics-port", o.metricsPort == 0 ? "0 (endpoint disabled)" : "\(o.metricsPort)"), ("log-format", o.logFormat.rawValue), ("log-level", o.logLevel.rawValue)]
            .map { "  \($0.0) = \($0.1)  [\(sources[$0.0]?.rawValue ?? "default")]" }
            .joined(separator: "\n")
    }
}
