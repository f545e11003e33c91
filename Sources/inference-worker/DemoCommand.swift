import ArgumentParser
import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging
import Synchronization

/// `inference-worker demo`: the whole job on the embedded broker, with nothing to set up.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the worker end to end on the embedded broker with a synthetic event producer.",
        discussion: """
            Starts the embedded broker, a producer of synthetic requests drawn from the model's own \
            training baseline (with a share of malformed events, and a distribution shift of four \
            features half-way through), and the worker. Prints a progress line every second and a \
            summary at the end. The synthetic features are drawn independently of each other, so the \
            model's output distribution differs from training even before the shift ("output warn"). \
            Ground truth arrives on a labels topic --label-delay seconds after each prediction: it is \
            simulated from the served class with 8% flipped before the shift and 40% after, so the live \
            quality in the progress line (accuracy, ROC AUC, label coverage of the latest window) drops \
            once the inputs drift. /dashboard shows it while the demo runs (--dashboard-port).
            """
    )

    @Option(help: "Seconds to run (Ctrl-C stops earlier).")
    var duration: Double = 20
    @Option(help: "Requests per second the synthetic producer sends.")
    var rate: Int = 2000
    @Option(help: "Share of malformed requests (0...1).")
    var malformedShare: Double = 0.02
    @Option(help: "Directory holding model bundles.")
    var modelRoot: String = "models"
    @Option(help: "Model to serve.")
    var modelName: String = "fraud-mlp"
    @Option(help: "Partitions of the request topic.")
    var partitions: Int = 4
    @Option(help: "Most records per model call.")
    var maxBatchSize: Int = 64
    @Option(help: "Adapt the batch size to the latency objective (true/false).")
    var adaptiveBatching: Bool = true
    @Option(help: "Seconds between a prediction and its (simulated) ground-truth label.")
    var labelDelay: Double = 2
    @Option(help: "Port of the operations endpoint (/dashboard, /metrics) on 127.0.0.1; 0 disables it.")
    var dashboardPort: Int = 9090
    @Option(help: "Seconds to keep /dashboard up after the summary (Ctrl-C ends it earlier).")
    var hold: Double = 0
    @Option(help: "Log level.")
    var logLevel: String = "warning"
    @Flag(help: "Roll out a shadow candidate (a copy of the model as the next version) and let the decider promote it live.")
    var rollout = false

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard (0...1).contains(malformedShare) else { throw ValidationError("--malformed-share must be within 0...1") }
        guard labelDelay >= 0, hold >= 0 else { throw ValidationError("--label-delay and --hold must not be negative") }
        guard (0...65_535).contains(dashboardPort) else { throw ValidationError("--dashboard-port must be 0...65535") }
    }

    func run() async throws {
        let logger = makeLogger(label: "demo", level: logLevel)
        KafkaLibrary.logRuntimeVersion(to: logger)
        let broker = try EmbeddedKafkaBroker(logger: logger)
        var configuration = WorkerConfiguration(
            bootstrapServers: [broker.bootstrapServers], inputTopics: ["requests"],
            modelRoot: modelRoot, modelName: modelName, workerID: "demo-worker"
        )
        configuration.createTopicPartitions = partitions
        configuration.maxBatchSize = maxBatchSize
        configuration.adaptiveBatching = adaptiveBatching
        configuration.drainTimeout = .seconds(5)
        // Small drift windows so that the shift half-way shows within seconds.
        configuration.driftWindowRecords = max(500, rate)
        configuration.driftWindow = .seconds(5)
        // Live quality from the delayed labels, in windows as short as drift's.
        configuration.labelsTopic = "labels"
        configuration.quality.windowRecordCount = max(500, rate)
        configuration.quality.windowDuration = .seconds(5)
        configuration.consumerProperties["statistics.interval.ms"] = "1000"
        configuration.consumerProperties["fetch.wait.max.ms"] = "10" // the embedded broker holds empty fetches for the full wait
        let demoRollout = rollout ? try DemoRollout(configuration: &configuration, broker: broker, logger: logger) : nil
        defer { demoRollout?.removeModelRoot() }
        try configuration.validate()
        try broker.ensureTopics(WorkerTopics.specifications(configuration))

        let registry = WorkerTopics.registry(configuration, logger: logger)
        registry.refresh()
        guard let model = registry.current else {
            throw ValidationError("no valid model '\(modelName)' under \(modelRoot): \(registry.events.last.map { "\($0)" } ?? "nothing found") (run from the repository root, or pass --model-root)")
        }
        let generatorBox = Latest<SyntheticRequests>()
        say("embedded broker at \(broker.bootstrapServers); serving \(model.name) version \(model.version); \(rate) requests/s for \(Int(duration)) s, \(Int(malformedShare * 100))% malformed, distribution shift half-way")

        let counters = PipelineCounters()
        let pipeline = InferencePipeline(configuration: configuration, models: demoRollout?.models(registry) ?? registry, logger: logger, counters: counters,
                                         rollouts: demoRollout?.coordinator)
        let coordinatorTask = demoRollout.map { demo in Task { try await demo.coordinator.run() } }
        if let demoRollout {
            try await demoRollout.start()
            say("roll-out started: \(demoRollout.record.mode) of \(demoRollout.record.candidateVersion ?? "-") against \(demoRollout.record.primaryVersion), 3 s windows, promotion after 3 good windows")
        }
        let labels = try DelayedLabels(broker: broker, topic: "labels", classes: model.output.labels, delay: .milliseconds(Int64(labelDelay * 1000)), logger: logger)
        let reader = try OutputReader(broker: broker, configuration: configuration, logger: logger) { key, value in
            labels.observe(key: key, prediction: value, shifted: generatorBox.value?.isShifted ?? false)
        }
        var dashboard: OperationsHTTPServer.Running?
        if dashboardPort > 0 {
            do {
                let running = try await OperationsEndpoints.start(host: "127.0.0.1", port: dashboardPort, pipeline: pipeline, metrics: WorkerMetrics(),
                                                                  dashboard: pipeline.recentReports, logger: logger)
                dashboard = running
                say("dashboard: http://127.0.0.1:\(running.port)/dashboard (metrics at /metrics)")
            } catch {
                // The demo runs without the page rather than not at all (say, the port is taken).
                say("no dashboard: \(error) (choose another port with --dashboard-port)")
            }
        }
        let signals = ShutdownSignals()

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pipeline.run() }
            // Start producing once the worker owns its partitions, so latency figures measure the
            // pipeline, not the group's first join (about 3 s on the embedded broker).
            let joinDeadline = ContinuousClock.now.advanced(by: .seconds(30))
            while pipeline.assignedPartitions.isEmpty && ContinuousClock.now < joinDeadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            say("worker joined the group with \(pipeline.assignedPartitions.count) partitions; producing")
            let generator = try SyntheticRequests(broker: broker, topic: "requests", model: model, rate: rate, malformedShare: malformedShare, duration: duration, logger: logger)
            generatorBox.set(generator)
            group.addTask {
                // Progress until the producer is done (or Ctrl-C), then wait for every outcome.
                let interrupted = Interrupted()
                let watcher = Task { _ = await signals.wait(); interrupted.set() }
                defer { watcher.cancel() }
                var last = counters.snapshot
                var lastTime = ContinuousClock.now
                var second = 0
                while !generator.isFinished && !interrupted.isSet {
                    try await Task.sleep(for: .seconds(1))
                    second += 1
                    let now = ContinuousClock.now
                    let snapshot = counters.snapshot
                    say(Self.progress(second: second, generator: generator, snapshot: snapshot, last: last,
                                        elapsed: lastTime.duration(to: now), counters: counters, pipeline: pipeline, model: pipeline.servingModel ?? registry.current)
                        + "  " + Self.qualityProgress(pipeline: pipeline, labelsSent: labels.sent, model: pipeline.servingModel ?? registry.current)
                        + (demoRollout.map { "  " + $0.status } ?? ""))
                    counters.endToEndLatency.reset()
                    last = snapshot
                    lastTime = now
                }
                generator.stop()
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while counters.snapshot.outcomes < generator.sent && ContinuousClock.now < deadline && !interrupted.isSet {
                    try await Task.sleep(for: .milliseconds(100))
                }
                // And for the last predictions' labels (due --label-delay later) to be read.
                let labelDeadline = ContinuousClock.now.advanced(by: .milliseconds(Int64((labelDelay + 5) * 1000)))
                while (labels.pending > 0 || (pipeline.quality?.snapshot.labelsRead ?? 0) < labels.sent)
                    && ContinuousClock.now < labelDeadline && !interrupted.isSet {
                    try await Task.sleep(for: .milliseconds(100))
                }
                pipeline.requestShutdown()
            }
            try await group.waitForAll()
        }
        coordinatorTask?.cancel()
        _ = await coordinatorTask?.result
        await reader.stop()
        await labels.close()
        guard let generator = generatorBox.value else {
            await dashboard?.stop()
            return
        }
        await generator.close()
        say(Self.summary(generator: generator, snapshot: counters.snapshot, reader: reader)
            + (demoRollout.map { "\n" + $0.summaryLines.joined(separator: "\n") } ?? ""))
        say(Self.qualitySummary(pipeline: pipeline, labelsSent: labels.sent))
        if let dashboard {
            if hold > 0 {
                say("  dashboard: http://127.0.0.1:\(dashboard.port)/dashboard for \(Int(hold)) more seconds (Ctrl-C ends it)")
                let stop = Task { _ = await signals.wait() }
                _ = await Task { try? await Task.sleep(for: .milliseconds(Int64(hold * 1000))) }.value
                stop.cancel()
            } else {
                say("  dashboard: http://127.0.0.1:\(dashboard.port)/dashboard was live while the demo ran; pass --hold 300 to keep it open after the summary")
            }
            await dashboard.stop()
        }
        withExtendedLifetime(broker) {}
    }

    static let judgedDrift = Latest<DriftReport>()

    static func progress(second: Int, generator: SyntheticRequests, snapshot: PipelineCounters.Snapshot, last: PipelineCounters.Snapshot,
                         elapsed: Duration, counters: PipelineCounters, pipeline: InferencePipeline, model: LoadedModel?) -> String {
        let seconds = max(elapsed.doubleSeconds, 0.001)
        let rate = Double(snapshot.outcomes - last.outcomes) / seconds
        let batches = snapshot.batches - last.batches
        let batchSize = batches == 0 ? 0 : Double(snapshot.batchedRecords - last.batchedRecords) / Double(batches)
        let p50 = counters.endToEndLatency.quantile(0.5).map { String(format: "%.1f", $0) } ?? "-"
        let p99 = counters.endToEndLatency.quantile(0.99).map { String(format: "%.1f", $0) } ?? "-"
        // What the worker has not finished yet (high watermark minus stored offset).
        let lag = pipeline.latestStatistics?.partitions.compactMap(\.consumerLagStored).reduce(0, +)
        // The latest window with enough rows to judge (a time-aligned window can close nearly empty).
        if let report = pipeline.latestDriftReport, report.dataset.judgedFeatures > 0 { judgedDrift.set(report) }
        let drift = judgedDrift.value.map { report in
            "drifted \(report.dataset.driftedFeatures.count)/\(report.dataset.judgedFeatures) features, output \(report.dataset.outputLevel.rawValue)"
        } ?? "drift -"
        return String(format: "%3ds  sent %7d  %6.0f ev/s  batch %5.1f  e2e p50 %@ ms p99 %@ ms  predicted %7d  dead letters %5d  lag %@  %@  %@%@",
                      second, generator.sent, rate, batchSize, p50, p99, snapshot.predicted, snapshot.deadLettered,
                      lag.map(String.init) ?? "-", drift, model.map { "\($0.name)@\($0.version)" } ?? "-",
                      generator.isShifted ? "  [input shifted]" : "")
    }

    /// Live quality of the model in service, from its latest quality window.
    static func qualityProgress(pipeline: InferencePipeline, labelsSent: Int, model: LoadedModel?) -> String {
        guard let snapshot = pipeline.quality?.snapshot else { return "" }
        let report = model.flatMap { snapshot.latest[$0.version] } ?? snapshot.latest.values.max { $0.windowEndMs < $1.windowEndMs }
        func f(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
        let window = report.map { "acc \(f($0.metrics.accuracy)) auc \(f($0.metrics.rocAUC)) coverage \(f($0.metrics.labelCoverage)) (\($0.counts.labelled) labelled)" } ?? "no window closed yet"
        return "labels \(labelsSent) joined \(snapshot.store.joined)  quality: \(window)"
    }

    static func qualitySummary(pipeline: InferencePipeline, labelsSent: Int) -> String {
        guard let snapshot = pipeline.quality?.snapshot else { return "" }
        let errors = snapshot.labelDecodingErrors.values.reduce(0, +) + snapshot.emptyLabels
        var lines = [
            "  labels sent              \(labelsSent); read \(snapshot.labelsRead), joined \(snapshot.store.joined), unknown ids \(snapshot.store.unknownIDs), undecodable \(errors)",
            "  quality reports          \(snapshot.reportsSent) sent, \(snapshot.reportsDelivered) delivered, \(snapshot.reportsFailed) failed",
        ]
        let reports = pipeline.recentReports.dashboardSnapshot(nowMs: 0).qualityReports.sorted { $0.windowEndMs < $1.windowEndMs }
        if let first = reports.first(where: { $0.metrics.accuracy != nil }), let last = reports.last(where: { $0.metrics.accuracy != nil }) {
            lines.append(String(format: "  accuracy                 first window %.3f, last window %.3f", first.metrics.accuracy!, last.metrics.accuracy!))
        }
        return lines.joined(separator: "\n")
    }

    static func summary(generator: SyntheticRequests, snapshot: PipelineCounters.Snapshot, reader: OutputReader) -> String {
        let read = reader.counts
        var lines = [
            "",
            "summary",
            "  requests sent            \(generator.sent) (\(generator.malformedSent) malformed on purpose)",
            "  predictions acknowledged \(snapshot.predicted); read back from the output topic: \(read.predictions)",
            "  dead letters             \(snapshot.deadLettered); read back from the dead-letter topic: \(read.deadLetters)",
        ]
        for (reason, count) in snapshot.deadLetteredByReason.sorted(by: { $0.key < $1.key }) {
            lines.append("    \(reason): \(count)")
        }
        lines.append("  batches                  \(snapshot.batches), mean size \(String(format: "%.1f", snapshot.meanBatchSize))")
        lines.append("  retried sends            \(snapshot.retried)")
        lines.append("  drift reports read back  \(read.driftReports)\(read.lastDriftVerdict.map { "; last verdict: \($0)" } ?? "")")
        let accounted = snapshot.outcomes == generator.sent
        lines.append("  every request accounted for: \(accounted ? "yes" : "NO") (sent \(generator.sent) = predictions \(snapshot.predicted) + dead letters \(snapshot.deadLettered)\(accounted ? "" : "?"))")
        if let prediction = read.samplePrediction { lines.append("  a prediction: \(prediction)") }
        if let deadLetter = read.sampleDeadLetter { lines.append("  a dead letter's headers: \(deadLetter)") }
        return lines.joined(separator: "\n")
    }
}

/// Writes a line to standard output at once (progress lines must not wait in a pipe's buffer).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The latest value set, readable from any thread.
final class Latest<Value: Sendable>: Sendable {
    private let box = Mutex<Value?>(nil)
    func set(_ value: Value) { box.withLock { $0 = value } }
    var value: Value? { box.withLock { $0 } }
}

/// A flag set once, from any thread.
final class Interrupted: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

