import ArgumentParser
import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging

/// Options every broker-backed bench shares.
struct BenchBrokerOptions: ParsableArguments {
    @Option(help: "Bootstrap servers of the broker to measure against (scripts/bench.sh starts Tansu).")
    var bootstrapServers: String

    @Option(help: ArgumentHelp("Prefix of the topics (created beforehand by scripts/bench.sh).", discussion: """
        <prefix>-requests (the pre-filled input), <prefix>-passthrough, <prefix>-out-<model>, <prefix>-dlt, \
        <prefix>-drift, <prefix>-lat-1 ... <prefix>-lat-6 (latency inputs), <prefix>-lat-out, <prefix>-lat-pt-1 ... \
        <prefix>-lat-pt-6 (passthrough latency inputs), <prefix>-lat-pt-out.
        """))
    var topicPrefix: String

    @Option(help: "Partitions of the request topics.")
    var partitions: Int = 8

    @Option(help: "Directory holding model bundles.")
    var modelRoot: String = "models"

    @Option(help: "Most records per model call (the worker's --max-batch-size).")
    var maxBatchSize: Int = 64

    @Option(help: "Records in flight at most (the worker's --max-in-flight-records).")
    var maxInFlightRecords: Int = 20_000

    @Option(name: .customLong("consumer-property"), help: "Raw librdkafka consumer property KEY=VALUE for the workers under test (repeatable).")
    var consumerProperties: [String] = []

    @Option(name: .customLong("producer-property"), help: "Raw librdkafka producer property KEY=VALUE for the workers under test and the passthrough (repeatable).")
    var producerProperties: [String] = []

    @Option(help: "Log level of the workers under test.")
    var logLevel: String = "warning"

    func settings() throws -> BenchWorkerSettings {
        func parse(_ pairs: [String], option: String) throws -> [String: String] {
            var properties: [String: String] = [:]
            for pair in pairs {
                guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--\(option) wants KEY=VALUE, got \(pair)") }
                properties[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            return properties
        }
        return BenchWorkerSettings(
            bootstrap: bootstrapServers.split(separator: ",").map(String.init), modelRoot: modelRoot,
            deadLetterTopic: "\(topicPrefix)-dlt", maxBatchSize: maxBatchSize,
            consumerProperties: try parse(consumerProperties, option: "consumer-property"),
            producerProperties: try parse(producerProperties, option: "producer-property"), maxInFlightRecords: maxInFlightRecords,
            logger: makeLogger(label: "bench", level: logLevel)
        )
    }
}

extension BenchCommand {
    /// `bench drain`: throughput of the real pipeline on a pre-filled topic against the passthrough
    /// ceiling, CPU per event, then end-to-end latency at fixed fractions of the measured maximum.
    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain throughput (passthrough ceiling, each model), CPU per event, and latency at fixed offered rates.",
            discussion: "Run through scripts/bench.sh, which starts Tansu, sets up librdkafka >= 2.2, creates the topics and stops Tansu afterwards."
        )

        @OptionGroup var broker: BenchBrokerOptions

        @Option(help: "Requests pre-filled into <prefix>-requests and drained by each run.")
        var records: Int = 1_000_000

        @Option(help: "Models to drain with (comma-separated); the first one is used for the latency runs.")
        var models: String = "fraud-mlp,fraud-trees"

        @Option(help: ArgumentHelp("The C passthrough binary (../shared/bench/passthrough.c, built by scripts/bench.sh).",
                                   discussion: "When given it drains the same topic first, into <prefix>-c-passthrough, and every row is compared with it."))
        var cPassthrough: String?

        @Flag(help: "Skip the latency runs.")
        var skipLatency = false

        @Option(help: "Offered rate that the latency fractions refer to (default: the first model's measured drain rate).")
        var maxRate: Double?

        @Option(help: "Fractions of the maximum to offer in the latency runs.")
        var fractions: String = "0.25,0.5,0.75"

        @Option(help: "Seconds of load per latency run before measuring.")
        var latencyWarmup: Int = 2

        @Option(help: "Seconds measured per latency run.")
        var latencySeconds: Int = 10

        func validate() throws {
            guard records > 0 else { throw ValidationError("--records must be positive") }
        }

        func run() async throws {
            let settings = try broker.settings()
            let prefix = broker.topicPrefix
            let modelNames = models.split(separator: ",").map(String.init)
            let loaded = try modelNames.map { try settings.loadModel($0) }
            let pool = RequestPool(model: loaded[0])
            say(bench: "# bench drain: \(records) requests of ~\(Int(pool.meanBytes)) bytes (16 features, JSON) over \(broker.partitions) partitions")
            say(bench: "# librdkafka \(KafkaLibrary.versionString); \(ProcessInfo.processInfo.activeProcessorCount) cores; load \(loadAverage()); max batch \(broker.maxBatchSize); malloc counter \(MallocCount.isAvailable ? "on" : "off")")

            let fillTime = try await prefill(bootstrap: settings.bootstrap, topic: "\(prefix)-requests", partitions: broker.partitions,
                                             count: records, pool: pool, logger: settings.logger)
            say(bench: "prefill: \(records) records in \(fixed(fillTime.doubleSeconds, 2)) s (\(fixed(Double(records) / fillTime.doubleSeconds, 0)) records/s produced)")

            let timeout = Duration.seconds(max(120, records / 5_000))
            var results: [DrainResult] = []
            // The ceiling: librdkafka alone in C when its binary is given, else the Swift relay.
            var cCeiling: DrainResult?
            var ceilingName = "passthrough"
            if let cPassthrough {
                let c = try await CPassthrough.drain(binary: cPassthrough, bootstrap: settings.bootstrap, input: "\(prefix)-requests",
                                                     output: "\(prefix)-c-passthrough", group: "\(prefix)-g-c-passthrough",
                                                     expected: records, timeout: timeout)
                results.append(c)
                cCeiling = c
                ceilingName = "C passthrough"
                say(bench: Self.row(c, ceiling: c, ceilingName: ceilingName))
            }
            let passthrough = try await drainWithPassthrough(settings: settings, input: "\(prefix)-requests", output: "\(prefix)-passthrough",
                                                             group: "\(prefix)-g-passthrough", expected: records, timeout: timeout)
            results.append(passthrough)
            let ceiling = cCeiling ?? passthrough
            say(bench: Self.row(passthrough, ceiling: ceiling, ceilingName: ceilingName))
            var pipelines: [DrainResult] = []  // one per model, in --models order
            for model in loaded {
                let configuration = try settings.configuration(model: model.name, input: "\(prefix)-requests", output: "\(prefix)-out-\(model.name)",
                                                               group: "\(prefix)-g-\(model.name)", adaptive: true)
                let (result, _) = try await drainWithPipeline(label: "pipeline \(model.name)", settings: settings, configuration: configuration,
                                                             models: FixedModelSource(model), expected: records, timeout: timeout)
                pipelines.append(result)
                say(bench: Self.row(result, ceiling: ceiling, ceilingName: ceilingName))
            }
            // The first model again with drift statistics on (the worker's default): their cost.
            let driftConfiguration = try settings.configuration(
                model: loaded[0].name, input: "\(prefix)-requests", output: "\(prefix)-out-\(loaded[0].name)",
                group: "\(prefix)-g-\(loaded[0].name)-drift", adaptive: true, driftTopic: "\(prefix)-drift"
            )
            let (withDrift, _) = try await drainWithPipeline(label: "pipeline \(loaded[0].name), drift statistics on", settings: settings,
                                                            configuration: driftConfiguration, models: FixedModelSource(loaded[0]),
                                                            expected: records, timeout: timeout)
            say(bench: Self.row(withDrift, ceiling: ceiling, ceilingName: ceilingName))
            results += pipelines + [withDrift]

            say(bench: "")
            say(bench: "| run | events | seconds | events/s | % of \(ceilingName) | CPU s per 1M events | broker CPU s per 1M | machine busy / stolen % | mean batch | peak RSS so far (MiB) | load (1/5/15 min) |")
            say(bench: "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
            for r in results { say(bench: Self.tableRow(r, ceiling: ceiling)) }
            // Drift's own cost: CPU per event with it minus without, on the same model.
            let without = pipelines[0]
            say(bench: "drift statistics cost \(fixed(withDrift.cpuSecondsPerMillion - without.cpuSecondsPerMillion, 2)) µs of CPU per event (\(fixed(withDrift.cpuSecondsPerMillion, 2)) with, \(fixed(without.cpuSecondsPerMillion, 2)) without)")

            guard !skipLatency else { return }
            let maximum = maxRate ?? pipelines[0].eventsPerSecond
            let fractionValues = fractions.split(separator: ",").compactMap { Double($0) }
            var latencies: [LatencyResult] = []
            var runIndex = 0
            // The floor first: the passthrough at the same offered rates (topics lat-pt-1...).
            for (i, fraction) in fractionValues.enumerated() {
                let result = try await measurePassthroughLatency(
                    settings: settings, input: "\(prefix)-lat-pt-\(i + 1)", output: "\(prefix)-lat-pt-out", group: "\(prefix)-g-lat-pt-\(i + 1)",
                    pool: pool, partitions: broker.partitions, rate: maximum * fraction, fraction: fraction,
                    warmup: .seconds(latencyWarmup), duration: .seconds(latencySeconds)
                )
                latencies.append(result)
                say(bench: Self.latencyLine(result, model: "passthrough"))
            }
            for adaptive in [true, false] {
                for fraction in fractionValues {
                    runIndex += 1
                    let configuration = try settings.configuration(model: loaded[0].name, input: "\(prefix)-lat-\(runIndex)", output: "\(prefix)-lat-out",
                                                                   group: "\(prefix)-g-lat-\(runIndex)", adaptive: adaptive)
                    let result = try await measureLatency(
                        settings: settings, configuration: configuration, models: FixedModelSource(loaded[0]), pool: pool,
                        partitions: broker.partitions, rate: maximum * fraction, fraction: fraction,
                        warmup: .seconds(latencyWarmup), duration: .seconds(latencySeconds)
                    )
                    latencies.append(result)
                    say(bench: Self.latencyLine(result, model: loaded[0].name))
                }
            }
            say(bench: "")
            say(bench: "| run | offered (% of \(fixed(maximum, 0))/s) | achieved/s | samples | p50 ms | p99 ms | p99.9 ms | worker p50 / p99 ms | mean batch | load (1/5/15 min) |")
            say(bench: "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
            for r in latencies {
                let batch = r.meanBatchSize.isNaN ? "-" : fixed(r.meanBatchSize, 1)
                say(bench: "| \(r.kind) | \(fixed(r.offeredRate, 0)) (\(Int(r.fraction * 100))%) | \(fixed(r.achievedRate, 0)) | \(r.samples) | \(fixed(r.p50, 2)) | \(fixed(r.p99, 2)) | \(fixed(r.p999, 2)) | \(Self.worker(r)) | \(batch) | \(r.load) |")
            }
        }

        static func latencyLine(_ r: LatencyResult, model: String) -> String {
            "latency \(model) \(r.kind) \(Int(r.fraction * 100))% offered \(fixed(r.offeredRate, 0))/s: achieved \(fixed(r.achievedRate, 0))/s p50 \(fixed(r.p50, 2)) ms p99 \(fixed(r.p99, 2)) ms p99.9 \(fixed(r.p999, 2)) ms, worker p50 / p99 \(worker(r)) ms (load \(r.load))"
        }

        /// The worker's own part of the latency (consumed -> handed to the producer), "-" for the passthrough.
        static func worker(_ r: LatencyResult) -> String {
            guard let p50 = r.workerP50, let p99 = r.workerP99 else { return "-" }
            return "\(fixed(p50, 2)) / \(fixed(p99, 2))"
        }

        static func row(_ r: DrainResult, ceiling: DrainResult, ceilingName: String) -> String {
            "\(r.label): \(r.records) events in \(fixed(r.elapsed.doubleSeconds, 2)) s = \(fixed(r.eventsPerSecond, 0)) events/s (\(fixed(100 * r.eventsPerSecond / ceiling.eventsPerSecond, 1))% of \(ceilingName)), \(fixed(r.cpuSecondsPerMillion, 2)) CPU s per 1M events (broker \(r.brokerCPUSecondsPerMillion.map { fixed($0, 2) } ?? "?")), machine \(fixed(r.machineBusyPercent, 0))% busy \(fixed(r.stealPercent, 0))% stolen, load \(r.load)"
        }

        static func tableRow(_ r: DrainResult, ceiling: DrainResult) -> String {
            "| \(r.label) | \(r.records) | \(fixed(r.elapsed.doubleSeconds, 2)) | \(fixed(r.eventsPerSecond, 0)) | \(fixed(100 * r.eventsPerSecond / ceiling.eventsPerSecond, 1)) | \(fixed(r.cpuSecondsPerMillion, 2)) | \(r.brokerCPUSecondsPerMillion.map { fixed($0, 2) } ?? "-") | \(fixed(r.machineBusyPercent, 0)) / \(fixed(r.stealPercent, 0)) | \(r.meanBatchSize.map { fixed($0, 1) } ?? "-") | \(r.peakResidentMiB.isNaN ? "-" : fixed(r.peakResidentMiB, 0)) | \(r.load) |"
        }
    }

    /// `bench memory`: peak resident memory of the worker while its input arrives far faster than it
    /// is scored (a pre-filled topic drained by a throttled model), in a process of its own.
    struct Memory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Peak resident memory while the input arrives ten times faster than it is scored.",
            discussion: "Reads <prefix>-requests (pre-filled by `bench drain`) with a fresh group and a throttled model."
        )

        @OptionGroup var broker: BenchBrokerOptions

        @Option(help: "Model to serve (throttled).")
        var model: String = "fraud-mlp"

        @Option(help: "Rows per second the throttled model scores.")
        var scoringRate: Double = 20_000

        @Option(help: "Records to score before stopping.")
        var records: Int = 200_000

        @Option(help: "Name of this run: group and output topic suffix (a fresh group reads the topic from the start).")
        var label: String = "mem"

        func run() async throws {
            let settings = try broker.settings()
            let prefix = broker.topicPrefix
            let loaded = try settings.loadModel(model)
            let configuration = try settings.configuration(model: model, input: "\(prefix)-requests", output: "\(prefix)-out-\(label)",
                                                           group: "\(prefix)-g-\(label)", adaptive: true)
            let baseline = ProcessUsage.residentMiB ?? 0
            say(bench: "# bench memory (\(label)): \(model) throttled to \(Int(scoringRate)) rows/s on a pre-filled topic; consumer properties \(settings.consumerProperties); librdkafka \(KafkaLibrary.versionString); load \(loadAverage()); RSS before start \(fixed(baseline, 1)) MiB")
            let started = ContinuousClock.now
            let (result, peak) = try await drainWithPipeline(
                label: "memory \(label)", settings: settings, configuration: configuration,
                models: FixedModelSource(loaded.throttled(rowsPerSecond: scoringRate)), expected: records,
                timeout: .seconds(Int64(Double(records) / scoringRate * 3) + 60), sampleResident: true
            )
            let wall = started.duration(to: .now)
            say(bench: "memory \(label): scored \(result.records) at \(fixed(result.eventsPerSecond, 0))/s in \(fixed(wall.doubleSeconds, 1)) s; peak RSS (ru_maxrss) \(fixed(result.peakResidentMiB, 1)) MiB; sampled VmRSS peak \(fixed(peak ?? .nan, 1)) MiB; load \(result.load)")
        }
    }
}
