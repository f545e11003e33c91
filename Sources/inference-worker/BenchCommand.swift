import ArgumentParser
import InferenceCore

/// `inference-worker bench`: micro-benchmarks of the hot path's pieces. Run on a release build
/// (`swift build -c release`); the figures go in docs, never in timed tests.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (run a release build: swift build -c release).",
        subcommands: [Codec.self, Drift.self, Drain.self, Memory.self]
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

    struct Drift: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The drift monitor's cost per row (16 numeric features and a binary prediction), window closes included.",
            discussion: "Called across the module boundary, as the pipeline calls it. Best of --repeats runs, in thread CPU time."
        )

        @Option(help: "Rows per run.")
        var rows: Int = 1_000_000

        @Option(help: "Window sizes to measure (comma-separated rows).")
        var windows: String = "500000,10000"

        @Option(help: "Runs per configuration; the best is printed.")
        var repeats: Int = 5

        func validate() throws {
            guard rows > 0, repeats > 0 else { throw ValidationError("--rows and --repeats must be positive") }
        }

        func run() throws {
            for window in windows.split(separator: ",").compactMap({ Int($0) }) {
                for signed in [true, false] {
                    let runs = (0..<repeats).map { _ in DriftBenchmark.run(featureCount: 16, rows: rows, windowRecordCount: window, signed: signed) }
                    let best = runs.min { $0.cpuNanosecondsPerRow < $1.cpuNanosecondsPerRow }!
                    print("windows of \(window) rows, \(signed ? "mixed-sign" : "non-negative") values: \(best)")
                }
            }
        }
    }
}
