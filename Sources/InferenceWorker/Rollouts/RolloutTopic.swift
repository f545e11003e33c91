public import Foundation
public import InferenceCore
public import Kafka
public import Logging

/// Reads and writes roll-out records on the compacted roll-out topic (default `inference-rollouts`,
/// key: the model name, value: a ``RolloutRecord`` as JSON; docs/rollouts.md).
///
/// Used by the `rollout` commands, and meant for the worker's start-up read (a replica reads the
/// record before serving). Every write is a whole record; the topic's last record per key is the
/// roll-out's state.
public struct RolloutTopic: Sendable {
    /// The default topic name.
    public static let defaultName = "inference-rollouts"
    /// The default name of the evidence topic (one report per replica and window; docs/rollouts.md).
    public static let defaultEvidenceName = "inference-rollout-evidence"

    /// Brokers to reach.
    public var bootstrapServers: [String]
    /// The roll-out topic.
    public var name: String
    /// Raw librdkafka properties (security settings), for every client this makes.
    public var additionalProperties: [String: String]
    /// The most time one read or write may take; default 30 s.
    public var timeout: Duration
    /// Where the Kafka clients log.
    public var logger: Logger

    /// Creates a handle on the topic; nothing is connected until a call.
    public init(bootstrapServers: [String], name: String = RolloutTopic.defaultName, additionalProperties: [String: String] = [:],
                timeout: Duration = .seconds(30), logger: Logger) {
        self.bootstrapServers = bootstrapServers
        self.name = name
        self.additionalProperties = additionalProperties
        self.timeout = timeout
        self.logger = logger
    }

    /// The specification the topic is created with: one partition (so that its owner in the
    /// decider group is the one decider), compacted (the last record per model is the state).
    public func specification(replicationFactor: Int = 1) -> KafkaTopicSpecification {
        KafkaTopicSpecification(name: name, partitions: 1, replicationFactor: replicationFactor, config: ["cleanup.policy": "compact"])
    }

    /// The specification of the evidence topic `name`: reports are keyed by model, window and
    /// worker, so compaction keeps one per key, and deletion after a day bounds what a new decider
    /// re-reads.
    public static func evidenceSpecification(
        name: String = RolloutTopic.defaultEvidenceName, partitions: Int = 3, replicationFactor: Int = 1
    ) -> KafkaTopicSpecification {
        KafkaTopicSpecification(name: name, partitions: partitions, replicationFactor: replicationFactor,
                                config: ["cleanup.policy": "compact,delete", "retention.ms": "86400000"])
    }

    /// One model's entry of the topic: its record, or why it could not be read.
    public enum Entry: Sendable {
        /// A valid record, at `offset`.
        case record(RolloutRecord, offset: KafkaOffset)
        /// The latest value under the key is not a valid record (written by hand, or by a newer worker).
        case invalid(RolloutError, offset: KafkaOffset)
    }

    /// Every model's latest entry.
    ///
    /// - Throws: ``KafkaError`` when the topic does not exist or cannot be read in time.
    public func readAll() async throws(KafkaError) -> [String: Entry] {
        let snapshot = try await KafkaTopicSnapshot.read(
            topic: name, bootstrapServers: bootstrapServers, additionalProperties: additionalProperties, timeout: timeout, logger: logger
        )
        var entries: [String: Entry] = [:]
        for (key, record) in snapshot.latestByKey {
            let model = String(decoding: key, as: UTF8.self)
            do throws(RolloutError) {
                let decoded = try RolloutRecord.decode(Data(record.value ?? []))
                guard decoded.modelName == model else {
                    throw RolloutError(.invalidField, field: "model_name", "is \(decoded.modelName) but the record's key is \(model)")
                }
                entries[model] = .record(decoded, offset: record.offset)
            } catch {
                entries[model] = .invalid(error, offset: record.offset)
            }
        }
        return entries
    }

    /// The latest record of `model`; `nil` when the topic has none for it.
    ///
    /// - Throws: ``KafkaError`` when the topic cannot be read; ``RolloutError`` when the latest value
    ///   for the model is not a valid record.
    public func read(model: String) async throws -> RolloutRecord? {
        switch try await readAll()[model] {
        case nil: return nil
        case .record(let record, _): return record
        case .invalid(let error, let offset):
            throw RolloutError(error.code, field: error.field, "the record of \(model) at offset \(offset.rawValue) of \(name) is unreadable: \(error.message)")
        }
    }

    /// Writes `record` (key: its model name) and waits until the broker acknowledged it.
    ///
    /// - Throws: ``KafkaError`` when the record could not be written.
    public func write(_ record: RolloutRecord) async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        configuration.clientID = "inference-rollout"
        configuration.additionalProperties = additionalProperties
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        do {
            _ = try await producer.sendAndWait(KafkaProducerMessage(
                topic: name, key: Array(record.modelName.utf8), value: Array(try record.jsonData()),
                headers: [KafkaHeader(key: "content-type", value: Array("application/json".utf8))]
            ))
        } catch {
            _ = await producer.close(flushTimeout: .seconds(1))
            throw error
        }
        _ = await producer.close(flushTimeout: timeout)
    }
}
