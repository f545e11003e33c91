import ArgumentParser
import Foundation
import Kafka
import Logging

/// `inference-worker embedded-broker`: a Kafka-protocol broker in this process, for demos and
/// for trying the worker and other clients without installing Kafka.
struct EmbeddedBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedded-broker",
        abstract: "Run librdkafka's in-process mock cluster and print its bootstrap address.",
        discussion: """
            Any Kafka client can connect to the printed address. Not for volume: each partition \
            keeps about 5 MiB and silently drops older records. Stops on SIGINT/SIGTERM or after --duration.
            """
    )

    @Option(help: "Number of brokers in the cluster.")
    var brokers: Int = 1

    @Option(name: .customLong("topic"), help: "A topic to create, as NAME or NAME:PARTITIONS (repeatable).")
    var topics: [String] = []

    @Option(help: "Stop after this many seconds (default: run until interrupted).")
    var duration: Double?

    func run() async throws {
        var logger = Logger(label: "inference-worker")
        logger.logLevel = .info
        KafkaLibrary.logRuntimeVersion(to: logger)
        let broker = try EmbeddedKafkaBroker(brokerCount: brokers, logger: logger)
        let specifications = try topics.map(Self.parseTopic)
        try broker.ensureTopics(specifications)
        // Unbuffered: scripts read the address from a pipe or a file while we keep running.
        FileHandle.standardOutput.write(Data("bootstrap.servers=\(broker.bootstrapServers)\n".utf8))
        for spec in specifications {
            FileHandle.standardOutput.write(Data("topic \(spec.name) partitions=\(spec.partitions)\n".utf8))
        }

        let signals = ShutdownSignals()
        if let duration {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = await signals.wait() }
                group.addTask { try await Task.sleep(for: .seconds(duration)) }
                try await group.next()
                group.cancelAll()
            }
        } else {
            _ = await signals.wait()
        }
        withExtendedLifetime(broker) {}
    }

    static func parseTopic(_ text: String) throws -> KafkaTopicSpecification {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty else {
            throw ValidationError("--topic takes NAME or NAME:PARTITIONS (got '\(text)')")
        }
        let partitions = parts.count == 2 ? Int(parts[1]) : 1
        guard let partitions, partitions > 0 else {
            throw ValidationError("--topic \(text): the partition count must be a positive number")
        }
        return KafkaTopicSpecification(name: String(parts[0]), partitions: partitions)
    }
}
