import ArgumentParser
import Kafka

@main
struct InferenceWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference-worker",
        abstract: "A streaming inference worker: Kafka in, micro-batched model, predictions out.",
        subcommands: [
            RunCommand.self, DemoCommand.self, ModelCommand.self, BenchCommand.self, EmbeddedBrokerCommand.self,
            ProduceDemoCommand.self, TailCommand.self, ReportCommand.self, RolloutCommand.self,
        ]
    )
}
