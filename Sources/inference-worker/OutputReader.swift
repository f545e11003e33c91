import Foundation
import InferenceWorker
import Kafka
import Logging
import Synchronization

/// Reads the demo's output and dead-letter topics back, as a downstream team would, counting
/// records and keeping one sample of each.
final class OutputReader: Sendable {
    struct Counts: Sendable {
        var predictions = 0
        var deadLetters = 0
        var samplePrediction: String?
        var sampleDeadLetter: String?
        var driftReports = 0
        var lastDriftVerdict: String?
    }

    private final class State: Sendable {
        let counts = Mutex(Counts())
    }

    private let consumer: KafkaConsumer
    private let state = State()

    /// - Parameter onPrediction: called with each prediction record's key and value (on the consumer's thread).
    init(broker: EmbeddedKafkaBroker, configuration: WorkerConfiguration, logger: Logger,
         onPrediction: (@Sendable ([UInt8]?, [UInt8]) -> Void)? = nil) throws {
        let output = configuration.outputTopic
        let deadLetters = configuration.effectiveDeadLetterTopic
        let drift = configuration.driftTopic
        var c = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: "demo-reader", topics: [output, deadLetters] + (drift.map { [$0] } ?? []))
        c.clientID = "demo-reader"
        let state = self.state
        consumer = try KafkaConsumer(configuration: c, logger: logger) { event in
            guard case .messages(let batch) = event else { return }
            if let onPrediction {
                for message in batch where message.topic == output {
                    if let value = message.value { onPrediction(message.key, value) }
                }
            }
            state.counts.withLock { counts in
                for message in batch {
                    if message.topic == output {
                        counts.predictions += 1
                        if counts.samplePrediction == nil { counts.samplePrediction = message.value.map { String(decoding: $0, as: UTF8.self) } }
                    } else if message.topic == drift {
                        counts.driftReports += 1
                        if let value = message.value,
                           let json = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                           let dataset = json["dataset"] as? [String: Any] {
                            let drifted = (dataset["drifted_features"] as? [String]) ?? []
                            counts.lastDriftVerdict = "\(dataset["level"] ?? "?") (drifted: \(drifted.isEmpty ? "none" : drifted.joined(separator: ", ")))"
                        }
                    } else {
                        counts.deadLetters += 1
                        if counts.sampleDeadLetter == nil {
                            counts.sampleDeadLetter = message.headers.filter { $0.key.hasPrefix("__connect") || $0.key.hasPrefix("inference") }
                                .map { "\($0.key)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "null")" }.joined(separator: " ")
                        }
                    }
                }
            }
        }
    }

    var counts: Counts { state.counts.withLock { $0 } }

    func stop() async {
        // Give the reader a moment to catch up with the last acknowledged outputs.
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        var previous = -1
        while ContinuousClock.now < deadline {
            let seen = counts.predictions + counts.deadLetters
            if seen == previous { break }
            previous = seen
            try? await Task.sleep(for: .milliseconds(300))
        }
        await consumer.close()
    }
}
