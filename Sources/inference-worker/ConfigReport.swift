import InferenceWorker
import Kafka

/// The resolved configuration as `--check-config` prints it: every setting, its value, and where
/// the value came from. Values of secret-looking keys are redacted.
enum ConfigReport {
    static func isSecret(_ key: String) -> Bool { SecretRedaction.isSecret(key) }

    static func redacted(_ key: String, _ value: String) -> String { SecretRedaction.redacted(key, value) }

    static func render(_ c: WorkerConfiguration, sources: [String: SettingSource]) -> String {
        func ms(_ d: Duration) -> String {
            let (s, a) = d.components
            let total = Double(s) + Double(a) / 1e18
            return total >= 1 ? "\(total)s" : "\(total * 1000)ms"
        }
        let rows: [(String, String)] = [
            ("bootstrap-servers", c.bootstrapServers.joined(separator: ",")),
            ("input-topics", c.inputTopics.joined(separator: ",")),
            ("output-topic", c.outputTopic),
            ("dead-letter-topic", c.effectiveDeadLetterTopic),
            ("drift-topic", c.driftTopic ?? "none"),
            ("drift-window-records", "\(c.driftWindowRecords)"),
            ("drift-window", ms(c.driftWindow)),
            ("labels-topic", c.labelsTopic ?? "none (live quality off)"),
            ("quality-topic", c.effectiveQualityTopic ?? "none"),
            ("training-examples-topic", c.trainingExamplesTopic ?? "none"),
            ("shadow-topic", c.effectiveShadowTopic),
            ("quality-window-records", "\(c.quality.windowRecordCount)"),
            ("quality-window", ms(c.quality.windowDuration)),
            ("group-id", c.groupID),
            ("group-instance-id", c.groupInstanceID ?? "(dynamic membership)"),
            ("worker-id", c.workerID),
            ("create-topics", "\(c.createTopics)"),
            ("create-topic-partitions", "\(c.createTopicPartitions)"),
            ("model-root", c.modelRoot),
            ("model-name", c.modelName),
            ("model-version", c.modelVersion ?? "latest"),
            ("model-poll-interval", ms(c.modelPollInterval)),
            ("max-batch-size", "\(c.maxBatchSize)"),
            ("max-batch-delay", ms(c.maxBatchDelay)),
            ("adaptive-batching", "\(c.adaptiveBatching)"),
            ("latency-objective", ms(c.latencyObjective)),
            ("max-in-flight-records", "\(c.maxInFlightRecords)"),
            ("max-in-flight-bytes", "\(c.maxInFlightBytes)"),
            ("resume-fraction", "\(c.resumeFraction)"),
            ("max-payload-bytes", "\(c.maxPayloadBytes)"),
            ("commit-interval", ms(c.commitInterval)),
            ("drain-timeout", ms(c.drainTimeout)),
            ("revoke-timeout", ms(c.revokeTimeout)),
            ("producer-recovery-timeout", ms(c.producerRecoveryTimeout)),
        ]
        var lines = ["configuration is valid (librdkafka \(KafkaLibrary.versionString) at run time)"]
        for (name, value) in rows {
            lines.append("  \(name) = \(value)  [\(sources[name]?.rawValue ?? "default")]")
        }
        for (scope, properties) in [("kafka", c.kafkaProperties), ("consumer", c.consumerProperties), ("producer", c.producerProperties)] {
            for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(scope).\(key) = \(redacted(key, value))")
            }
        }
        return lines.joined(separator: "\n")
    }
}
