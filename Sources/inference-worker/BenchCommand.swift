import ArgumentParser
import InferenceCore

/// `inference-worker bench`: micro-benchmarks of the hot path's pieces. Run on a release build
/// (`swift build -c release`); the figures go in docs, never in timed tests.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (run a release build: swift build -c release).",
        subcommands: [Codec.self, Drain.self, Memory.self]
    )

    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Request decoding and prediction encoding, 16-float requests: records/s and ns/record."
        )

        @Option(help: "Records per measurement.")
        var records: Int = 1_000_000

        func validate() throws {
            guard records > 0 else { throw ValidationError("--records must be positive") }
        }

        func run() throws {
            for measurement in try CodecBenchmark.run(records: records) { print(measurement) }
        }
    }
}
