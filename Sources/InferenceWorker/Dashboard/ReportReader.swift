public import Kafka
public import Logging
import Synchronization

/// Reads the drift topic (and the quality topic) for `inference-worker report`, into a
/// ``ReportCollector``.
///
/// Kafka has no "end of topic" for a group consumer, so it reads from the earliest offset with a
/// throw-away group (committing nothing) and stops once no record arrived for `idle` after the
/// partitions were assigned, or after `maxWait`. It reads whole topics: drift and quality topics are
/// small (one record per version, window and replica), and their windows, not record timestamps,
/// decide what belongs to the period.
public enum ReportReader {
    /// Reads the topics and returns the reports of the period.
    ///
    /// - Parameters:
    ///   - bootstrapServers: the brokers.
    ///   - driftTopic: the drift report topic.
    ///   - qualityTopic: the quality report topic, if any.
    ///   - fromMs: start of the period, ms since the epoch.
    ///   - toMs: end of the period (exclusive).
    ///   - idle: stop once nothing arrived for this long after assignment; default 3 s.
    ///   - maxWait: stop after this long in any case; default 120 s.
    ///   - additionalProperties: librdkafka properties passed through (security settings).
    ///   - logger: where the consumer logs.
    /// - Returns: the collector, with the reports of the period and what was skipped.
    /// - Throws: `KafkaError` when the consumer cannot be created.
    public static func read(
        bootstrapServers: [String], driftTopic: String, qualityTopic: String?, fromMs: Int64, toMs: Int64,
        idle: Duration = .seconds(3), maxWait: Duration = .seconds(120), additionalProperties: [String: String] = [:], logger: Logger
    ) async throws -> ReportCollector {
        let topics = [driftTopic] + (qualityTopic.map { [$0] } ?? [])
        var configuration = KafkaConsumerConfiguration(
            bootstrapServers: bootstrapServers, groupID: "inference-report-\(UInt64.random(in: 0...UInt64.max))", topics: topics)
        configuration.clientID = "inference-report"
        configuration.autoOffsetReset = .earliest
        configuration.autoCommitInterval = nil
        configuration.additionalProperties = additionalProperties

        struct Progress {
            var collector: ReportCollector
            var assigned = false
            var lastRecord = ContinuousClock.now
        }
        let state = Mutex(Progress(collector: ReportCollector(fromMs: fromMs, toMs: toMs)))
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger) { event in
            switch event {
            case .assigned:
                state.withLock { $0.assigned = true; $0.lastRecord = .now }
            case .messages(let batch):
                state.withLock { progress in
                    for message in batch {
                        guard let value = message.value else { continue }
                        if message.topic == driftTopic {
                            progress.collector.addDriftRecord(value)
                        } else if message.topic == qualityTopic {
                            progress.collector.addQualityRecord(value)
                        }
                    }
                    progress.lastRecord = .now
                }
            default:
                break
            }
        }
        let deadline = ContinuousClock.now.advanced(by: maxWait)
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.assigned && ContinuousClock.now - $0.lastRecord >= idle }) { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        await consumer.close()
        return state.withLock { $0.collector }
    }
}
