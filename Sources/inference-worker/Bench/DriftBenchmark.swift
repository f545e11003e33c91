import Foundation
// scripts/drift-bench.sh compiles this file into one module with InferenceCore's sources (to measure
// with whole-module optimisation, as shipped code inlines its own calls), where there is no module
// InferenceCore to import.
#if canImport(InferenceCore)
import InferenceCore
#endif

/// Cost of drift monitoring on the hot path, measured in process (for a CLI `bench` command and for
/// checking the per-row budget: ~0.3 µs per row for 16 numeric features keeps monitoring under 5% of a
/// worker doing 100k rows/s).
enum DriftBenchmark {
    /// What was measured.
    struct Result: Sendable, CustomStringConvertible {
        /// Rows observed in the timed part.
        var rows: Int
        /// Mean cost of `observe(row:)` + `observe(output:)` + `takeReportIfDue(now:)` per row, in nanoseconds
        /// (window closes included).
        var nanosecondsPerRow: Double
        /// The same in CPU time of the measuring thread (steadier on a shared machine).
        var cpuNanosecondsPerRow: Double
        /// Windows closed (reports built and encoded as JSON) during the timed part.
        var windowsClosed: Int
        /// Bytes of JSON those reports took.
        var reportBytes = 0

        var description: String {
            String(format: "drift monitor: %.1f ns/row wall, %.1f ns/row thread CPU, over %d rows, %d windows closed (%d bytes of reports)",
                   nanosecondsPerRow, cpuNanosecondsPerRow, rows, windowsClosed, reportBytes)
        }
    }

    /// Observes `rows` synthetic rows of `featureCount` numeric features (30-bin baselines, values drawn
    /// uniformly over and a little beyond them, 1% missing) plus a binary prediction each, calling
    /// `takeReportIfDue` once per `batchSize` rows as the pipeline does once per loop iteration.
    ///
    /// - Parameter signed: values of both signs at random (the worst case for the sketch, whose sign
    ///   test then mispredicts half the time); `false`: non-negative values, like most real features.
    static func run(featureCount: Int = 16, rows: Int = 2_000_000, batchSize: Int = 256,
                           windowRecordCount: Int = 100_000, signed: Bool = true) -> Result {
        precondition(featureCount > 0 && rows > 0 && batchSize > 0)
        var features: [FeatureSpec] = []
        var baselines: [String: DistributionBaseline] = [:]
        for f in 0..<featureCount {
            let name = "f\(f)"
            features.append(.numeric(name, missing: .allowed, default: 0))
            let scale = Double(f + 1)
            // No public memberwise init (baselines are read from a bundle's baseline.json): start empty.
            var base = try! JSONDecoder().decode(DistributionBaseline.self, from: Data("{}".utf8))
            base.binEdges = (0...30).map { Double(signed ? $0 - 15 : $0) * scale / 5 }
            base.proportions = [Double](repeating: 1.0 / 30, count: 30)
            base.mean = signed ? 0 : 3 * scale
            base.std = scale * 1.7
            base.missingRate = 0
            baselines[name] = base
        }
        let schema = InputSchema(features: features)
        let output = OutputSchema(task: .binary)
        // A pool of distinct rows so that branch prediction cannot memorise one row.
        var generator = BenchRandom(seed: 42)
        let pool: [[RawFeatureValue]] = (0..<4096).map { _ in
            (0..<featureCount).map { f in
                if generator.nextDouble() < 0.01 { return .null }
                let u = signed ? generator.nextDouble() * 2 - 1 : generator.nextDouble()
                return .number(u * (signed ? 3.5 : 7) * Double(f + 1))
            }
        }
        let predictions: [PredictionOutput] = (0..<4096).map { _ in
            let p = Float(generator.nextDouble())
            return .binary(score: p, label: p >= 0.5 ? "1" : "0", isPositive: p >= 0.5)
        }
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var monitor = DriftMonitor(
            modelName: "bench", modelVersion: "1", schema: schema, output: output, baseline: ModelBaseline(features: baselines),
            configuration: DriftConfiguration(windowRecordCount: windowRecordCount, windowDuration: .seconds(3600)),
            workerID: "bench", now: start
        )
        // Warm-up: one window, so sketch stores have grown to their working range.
        for i in 0..<windowRecordCount { monitor.observe(row: pool[i & 4095]); monitor.observe(output: predictions[i & 4095]) }
        _ = monitor.flush(now: start)

        var closed = 0
        var bytes = 0
        let clock = ContinuousClock()
        let began = clock.now
        let cpuBegan = threadCPUSeconds()
        var i = 0
        while i < rows {
            let end = Swift.min(rows, i + batchSize)
            while i < end {
                monitor.observe(row: pool[i & 4095])
                monitor.observe(output: predictions[i & 4095])
                i += 1
            }
            // A closed window's report is encoded as the pipeline publishes it.
            if let report = monitor.takeReportIfDue(now: start) {
                bytes &+= (try? report.jsonData().count) ?? 0
                closed += 1
            }
        }
        let elapsed = began.duration(to: clock.now)
        let cpu = threadCPUSeconds() - cpuBegan
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Result(rows: rows, nanosecondsPerRow: seconds * 1e9 / Double(rows),
                      cpuNanosecondsPerRow: cpu * 1e9 / Double(rows), windowsClosed: closed, reportBytes: bytes)
    }

    /// CPU time of the calling thread: unlike wall time, not inflated when other processes share the cores.
    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }
}

/// SplitMix64, seeded: the same synthetic rows on every run, so figures compare across runs. (The
/// tests' generator, `DriftRandom` in InferenceCoreTesting, is the same algorithm; the benchmark keeps
/// its own copy so that the executable does not link a testing module.)
private struct BenchRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
