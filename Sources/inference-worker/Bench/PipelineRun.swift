import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging

/// What the bench needs to start the real pipeline on a topic of its own.
struct BenchWorkerSettings {
    var bootstrap: [String]
    var modelRoot: String
    var deadLetterTopic: String
    var maxBatchSize: Int
    var consumerProperties: [String: String]
    var producerProperties: [String: String]
    var maxInFlightRecords: Int
    var logger: Logger

    /// - Parameter driftTopic: where drift reports go; nil (the default here) runs without drift
    ///   statistics, to separate their cost (the worker's own default has them on).
    func configuration(model: String, input: String, output: String, group: String, adaptive: Bool, driftTopic: String? = nil) throws -> WorkerConfiguration {
        var c = WorkerConfiguration(bootstrapServers: bootstrap, inputTopics: [input], modelRoot: modelRoot, modelName: model, workerID: "bench")
        c.outputTopic = output
        c.deadLetterTopic = deadLetterTopic
        c.driftTopic = driftTopic
        c.groupID = group
        c.maxBatchSize = maxBatchSize
        c.adaptiveBatching = adaptive
        c.drainTimeout = .seconds(5)
        c.consumerProperties = consumerProperties
        c.producerProperties = producerProperties
        c.maxInFlightRecords = maxInFlightRecords
        try c.validate()
        return c
    }

    func loadModel(_ name: String) throws -> LoadedModel {
        let c = try configuration(model: name, input: "probe-in", output: "probe-out", group: "probe", adaptive: true)
        let registry = WorkerTopics.registry(c, logger: logger)
        registry.refresh()
        guard let model = registry.current else { throw BenchError("no valid model '\(name)' under \(modelRoot)") }
        return model
    }
}

/// One drain: from the first record consumed to the last outcome acknowledged.
struct DrainResult {
    var label: String
    var records: Int
    var elapsed: Duration
    var cpuSeconds: Double
    var meanBatchSize: Double?
    var peakResidentMiB: Double
    var load: String
    /// The whole machine over the drain window: busy and stolen share of all cores, and the
    /// broker's CPU seconds (nil when scripts/bench.sh did not pass its pid).
    var machineBusyPercent: Double
    var stealPercent: Double
    var brokerCPUSeconds: Double?

    var eventsPerSecond: Double { Double(records) / elapsed.doubleSeconds }
    var cpuSecondsPerMillion: Double { cpuSeconds / Double(records) * 1e6 }
    var brokerCPUSecondsPerMillion: Double? { brokerCPUSeconds.map { $0 / Double(records) * 1e6 } }

    init(label: String, records: Int, elapsed: Duration, cpuSeconds: Double, meanBatchSize: Double?, peakResidentMiB: Double,
         machineStart: MachineUsage, machineEnd: MachineUsage) {
        self.label = label
        self.records = records
        self.elapsed = elapsed
        self.cpuSeconds = cpuSeconds
        self.meanBatchSize = meanBatchSize
        self.peakResidentMiB = peakResidentMiB
        self.load = loadAverage()
        machineBusyPercent = machineEnd.busyPercent(since: machineStart)
        stealPercent = machineEnd.stealPercent(since: machineStart)
        if let end = machineEnd.brokerSeconds, let start = machineStart.brokerSeconds { brokerCPUSeconds = end - start } else { brokerCPUSeconds = nil }
    }
}

/// Runs the real ``InferencePipeline`` in this process until `expected` outcomes are acknowledged.
func drainWithPipeline(
    label: String, settings: BenchWorkerSettings, configuration: WorkerConfiguration, models: any ModelSource,
    expected: Int, timeout: Duration, sampleResident: Bool = false
) async throws -> (DrainResult, residentPeakMiB: Double?) {
    let counters = PipelineCounters()
    let pipeline = InferencePipeline(configuration: configuration, models: models, logger: settings.logger, counters: counters)
    MallocCount.report("\(label): before start (discarded)", records: 0)
    var result: DrainResult?
    var residentPeak: Double?
    let traceFlow = ProcessInfo.processInfo.environment["BENCH_TRACE_FLOW"] != nil
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await pipeline.run() }
        defer { pipeline.requestShutdown() }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var start: (ContinuousClock.Instant, ProcessUsage, MachineUsage)?
        var lastSample = ContinuousClock.now
        while true {
            let snapshot = counters.snapshot
            if start == nil && snapshot.consumed > 0 { start = (.now, .now, .now) }
            if snapshot.outcomes >= expected { break }
            if ContinuousClock.now > deadline {
                throw BenchError("\(label): \(snapshot.outcomes) of \(expected) outcomes after \(timeout)")
            }
            if traceFlow, let start, start.0.duration(to: .now) < .seconds(3) {
                let f = pipeline.inFlight
                say(bench: "  trace \(fixed(start.0.duration(to: .now).doubleSeconds * 1000, 1)) ms consumed \(snapshot.consumed) outcomes \(snapshot.outcomes) inflight \(f.records) paused \(pipeline.isPaused) batches \(snapshot.batches)")
            }
            if sampleResident, lastSample.duration(to: .now) >= .milliseconds(100), let rss = ProcessUsage.residentMiB {
                lastSample = .now
                residentPeak = max(residentPeak ?? 0, rss)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let end = ContinuousClock.now
        let usage = ProcessUsage.now
        let machine = MachineUsage.now
        MallocCount.report(label, records: expected)
        let snapshot = counters.snapshot
        guard let start else { throw BenchError("\(label): nothing consumed") }
        result = DrainResult(
            label: label, records: expected, elapsed: start.0.duration(to: end),
            cpuSeconds: usage.cpuSeconds - start.1.cpuSeconds, meanBatchSize: snapshot.meanBatchSize,
            peakResidentMiB: usage.peakResidentMiB, machineStart: start.2, machineEnd: machine
        )
        if snapshot.deadLettered > 0 { say(bench: "  note: \(snapshot.deadLettered) dead letters \(snapshot.deadLetteredByReason)") }
        say(bench: "  \(label): \(snapshot.batches) batches, \(snapshot.pauses) pauses, model time \(fixed(Double(snapshot.modelNanoseconds) / 1e9, 2)) s, retried \(snapshot.retried)")
        pipeline.requestShutdown()
        try await group.waitForAll()
    }
    return (result!, residentPeak)
}

/// Runs the passthrough baseline until `expected` copies are acknowledged.
func drainWithPassthrough(settings: BenchWorkerSettings, input: String, output: String, group: String, expected: Int, timeout: Duration) async throws -> DrainResult {
    MallocCount.report("passthrough: before start (discarded)", records: 0)
    let relay = try PassthroughRelay(bootstrap: settings.bootstrap, inputTopic: input, outputTopic: output, groupID: group,
                                     consumerProperties: settings.consumerProperties, producerProperties: settings.producerProperties, logger: settings.logger)
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while relay.acknowledged < expected {
        if ContinuousClock.now > deadline {
            await relay.close()
            throw BenchError("passthrough: \(relay.acknowledged) of \(expected) acknowledged after \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    let end = ContinuousClock.now
    let usage = ProcessUsage.now
    let machine = MachineUsage.now
    MallocCount.report("passthrough", records: expected)
    let start = relay.start!
    await relay.close()
    return DrainResult(
        label: "passthrough (consume, re-produce, store offsets on delivery)", records: expected, elapsed: start.0.duration(to: end),
        cpuSeconds: usage.cpuSeconds - start.1.cpuSeconds, meanBatchSize: nil, peakResidentMiB: usage.peakResidentMiB,
        machineStart: start.2, machineEnd: machine
    )
}

/// End-to-end latency at one offered rate.
struct LatencyResult {
    /// "passthrough", "adaptive" or "fixed (max 64, 5 ms)".
    var kind: String
    var fraction: Double
    var offeredRate: Double
    var achievedRate: Double
    var samples: Int
    var p50: Double
    var p99: Double
    var p999: Double
    /// The worker's own part (consumed -> handed to the producer), nil for the passthrough.
    var workerP50: Double? = nil
    var workerP99: Double? = nil
    var meanBatchSize: Double
    var load: String
}

/// Offers `rate` requests/s for `warmup + duration` to a fresh pipeline and reads its end-to-end
/// latency histogram (request create time to the prediction's acknowledgement) over `duration`.
func measureLatency(
    settings: BenchWorkerSettings, configuration: WorkerConfiguration, models: any ModelSource, pool: RequestPool,
    partitions: Int, rate: Double, fraction: Double, warmup: Duration, duration: Duration
) async throws -> LatencyResult {
    let counters = PipelineCounters()
    let pipeline = InferencePipeline(configuration: configuration, models: models, logger: settings.logger, counters: counters)
    var result: LatencyResult?
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await pipeline.run() }
        defer { pipeline.requestShutdown() }
        let joinDeadline = ContinuousClock.now.advanced(by: .seconds(60))
        while pipeline.assignedPartitions.count < partitions {
            if ContinuousClock.now > joinDeadline { throw BenchError("latency: the worker did not get its partitions within 60 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let offered = try await offerLoad(
            settings: settings, topic: configuration.inputTopics[0], partitions: partitions, rate: rate, pool: pool,
            warmup: warmup, duration: duration,
            startMeasuring: {
                counters.endToEndLatency.reset()
                counters.processingLatency.reset()
            },
            snapshot: { counters.snapshot }, acknowledged: \.outcomes
        )
        let (before, after) = (offered.before, offered.after)
        let h = counters.endToEndLatency
        let batches = after.batches - before.batches
        result = LatencyResult(
            kind: configuration.adaptiveBatching ? "adaptive" : "fixed (max \(configuration.maxBatchSize), \(Int(configuration.maxBatchDelay.doubleSeconds * 1000)) ms)", fraction: fraction, offeredRate: rate,
            achievedRate: offered.achievedRate, samples: h.count,
            p50: h.quantile(0.5) ?? .nan, p99: h.quantile(0.99) ?? .nan, p999: h.quantile(0.999) ?? .nan,
            workerP50: counters.processingLatency.quantile(0.5), workerP99: counters.processingLatency.quantile(0.99),
            meanBatchSize: batches > 0 ? Double(after.batchedRecords - before.batchedRecords) / Double(batches) : 0,
            load: loadAverage()
        )
        pipeline.requestShutdown()
        try await group.waitForAll()
    }
    return result!
}

/// The same measurement through the passthrough relay (no decoding, no model, no batching): the
/// latency floor of this broker, machine and Kafka layer, against which the pipeline's figures
/// show what the worker itself adds.
func measurePassthroughLatency(
    settings: BenchWorkerSettings, input: String, output: String, group: String, pool: RequestPool,
    partitions: Int, rate: Double, fraction: Double, warmup: Duration, duration: Duration
) async throws -> LatencyResult {
    let relay = try PassthroughRelay(bootstrap: settings.bootstrap, inputTopic: input, outputTopic: output, groupID: group,
                                     consumerProperties: settings.consumerProperties, producerProperties: settings.producerProperties, logger: settings.logger, measureLatency: true)
    let joinDeadline = ContinuousClock.now.advanced(by: .seconds(60))
    while relay.assignedPartitions < partitions {
        if ContinuousClock.now > joinDeadline {
            await relay.close()
            throw BenchError("passthrough latency: no partitions within 60 s")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    let histogram = relay.latency!
    let offered = try await offerLoad(
        settings: settings, topic: input, partitions: partitions, rate: rate, pool: pool, warmup: warmup, duration: duration,
        startMeasuring: { histogram.reset() }, snapshot: { relay.acknowledged }, acknowledged: { $0 }
    )
    let result = LatencyResult(
        kind: "passthrough", fraction: fraction, offeredRate: rate,
        achievedRate: offered.achievedRate, samples: histogram.count,
        p50: histogram.quantile(0.5) ?? .nan, p99: histogram.quantile(0.99) ?? .nan, p999: histogram.quantile(0.999) ?? .nan,
        meanBatchSize: .nan, load: loadAverage()
    )
    await relay.close()
    return result
}

/// What a latency run's load did: snapshots at the start and the end of the measured window, and
/// the acknowledgements per second over it.
struct OfferedLoad<Snapshot> {
    var before: Snapshot
    var after: Snapshot
    var achievedRate: Double
}

/// Offers `rate` requests/s to `topic` for `warmup + duration`: after the warm-up calls
/// `startMeasuring` (reset the histograms) and takes a snapshot, takes another when the load ends,
/// then waits up to 10 s for the tail to be acknowledged so that the last records' latencies count.
/// The pipeline and the passthrough relay measure through this one loop.
func offerLoad<Snapshot>(
    settings: BenchWorkerSettings, topic: String, partitions: Int, rate: Double, pool: RequestPool,
    warmup: Duration, duration: Duration,
    startMeasuring: () -> Void, snapshot: () -> Snapshot, acknowledged: (Snapshot) -> Int
) async throws -> OfferedLoad<Snapshot> {
    let load = try PacedProducer(bootstrap: settings.bootstrap, topic: topic, partitions: partitions,
                                 rate: rate, duration: warmup + duration, pool: pool, logger: settings.logger)
    try await Task.sleep(for: warmup)
    startMeasuring()
    let before = snapshot()
    let measuredFrom = ContinuousClock.now
    while !load.isFinished { try await Task.sleep(for: .milliseconds(20)) }
    let after = snapshot()
    let window = measuredFrom.duration(to: .now)
    let tailDeadline = ContinuousClock.now.advanced(by: .seconds(10))
    while acknowledged(snapshot()) < load.sent && ContinuousClock.now < tailDeadline {
        try await Task.sleep(for: .milliseconds(10))
    }
    await load.close()
    return OfferedLoad(before: before, after: after,
                       achievedRate: Double(acknowledged(after) - acknowledged(before)) / window.doubleSeconds)
}
