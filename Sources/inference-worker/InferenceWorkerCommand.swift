import ArgumentParser
import Kafka

@main
struct InferenceWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference-worker",
        abstract: "A streaming inference worker: Kafka in, micro-batched model, predictions out.",
        subcommands: [ModelCommand.self]
    )

    func run() async throws {
        print("librdkafka \(KafkaLibrary.versionString)")
    }
}
