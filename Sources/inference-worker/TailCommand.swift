import ArgumentParser
import Foundation
import Kafka
import Logging

/// `inference-worker tail`: prints records of one or more topics, one line each, as a downstream
/// reader would see them (predictions as JSON; dead letters with their error headers).
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the records of Kafka topics (predictions, dead letters, drift reports)."
    )

    @Option(help: "Bootstrap brokers, comma-separated host:port (env INFERENCE_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?
    @Option(help: "Topics to read, comma-separated.")
    var topics: String = "predictions"
    @Option(help: "Consumer group of this reader.")
    var group: String = "inference-tail"
    @Option(help: "Stop after this many records; 0 never.")
    var maxRecords: Int = 0
    @Flag(help: "Print every header, not only the dead-letter context.")
    var allHeaders = false
    @Flag(help: "Validate the options, print them and exit without connecting (used by scripts/check-deploy.py).")
    var checkConfig = false

    func validate() throws {
        guard maxRecords >= 0 else { throw ValidationError("--max-records must not be negative") }
        guard !topics.split(separator: ",").isEmpty else { throw ValidationError("--topics must name at least one topic") }
    }

    func run() async throws {
        let servers = (bootstrapServers ?? ProcessInfo.processInfo.environment["INFERENCE_WORKER_BOOTSTRAP_SERVERS"] ?? "").split(separator: ",").map(String.init)
        guard !servers.isEmpty else { throw ValidationError("--bootstrap-servers is required") }
        if checkConfig {
            say("tail configuration is valid: \(topics) on \(servers.joined(separator: ",")) as group \(group)")
            return
        }
        let logger = makeLogger(label: "tail", level: "warning")
        var configuration = KafkaConsumerConfiguration(bootstrapServers: servers, groupID: group, topics: topics.split(separator: ",").map(String.init))
        configuration.clientID = "inference-tail"
        configuration.autoOffsetReset = .earliest
        let done = Interrupted()
        let seen = Latest<Int>()
        let limit = maxRecords
        let everyHeader = allHeaders
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger) { event in
            guard case .messages(let batch) = event else { return }
            var count = seen.value ?? 0
            for message in batch where limit == 0 || count < limit {
                let headers = message.headers
                    .filter { everyHeader || $0.key.hasPrefix("__connect.errors.") && !$0.key.hasSuffix("stacktrace") }
                    .map { "\($0.key)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "null")" }
                let value = message.value.map { String(decoding: $0, as: UTF8.self) } ?? "null"
                say("\(message.topic)/\(message.partition.rawValue)@\(message.offset.rawValue) \(value)\(headers.isEmpty ? "" : "  [" + headers.joined(separator: " ") + "]")")
                count += 1
                if limit > 0 && count >= limit { done.set() }
            }
            seen.set(count)
        }
        let signals = ShutdownSignals()
        let watcher = Task { _ = await signals.wait(); done.set() }
        while !done.isSet { try await Task.sleep(for: .milliseconds(100)) }
        watcher.cancel()
        await consumer.close()
    }
}
