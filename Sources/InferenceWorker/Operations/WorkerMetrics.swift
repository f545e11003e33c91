import CoreMetrics
import Foundation
public import InferenceCore
public import Prometheus
import Synchronization

/// The worker's Prometheus metrics, created once, with bounded label values only.
///
/// Every instrument is a swift-metrics one (`Counter`, `Recorder`, `Timer`) created through
/// ``factory``, a ``PrometheusMetricsFactory`` over this instance's own ``registry``. The executable
/// bootstraps the global `MetricsSystem` with the same factory (once per process), so metrics of
/// libraries land in the same registry; tests make as many instances as they like without any
/// global bootstrap.
///
/// Labels and their bounds:
/// - `reason` on dead letters: ``DeadLetterReason/allPredefined`` plus `output_produce_failure`,
///   anything else counts as `other`;
/// - `topic` / `partition` on lag: the partitions assigned to this replica (bounded by the input
///   topics' partitions); series of revoked partitions are removed;
/// - `model` / `version` on the info gauge: the model in service (one series; the previous one is
///   removed on a swap);
/// - `model` / `feature` on drift verdicts: the served model's features.
public final class WorkerMetrics: Sendable {
    /// Where the metrics live; ``render()`` writes it in Prometheus' text format.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory over ``registry``, with this worker's histogram buckets.
    public let factory: PrometheusMetricsFactory

    /// Metric names, for dashboards, alerts and tests.
    public enum Name {
        public static let consumed = "inference_worker_records_consumed_total"
        public static let predicted = "inference_worker_predictions_total"
        public static let deadLettered = "inference_worker_dead_letters_total"
        public static let retried = "inference_worker_send_retries_total"
        /// Outputs (dead letters or predictions) held back because their topic could not be written, each counted once.
        public static let blocked = "inference_worker_blocked_dead_letters_total"
        /// Outputs held back now for that reason (their input partitions do not advance).
        public static let blockedNow = "inference_worker_blocked_outputs"
        public static let truncatedDeadLetters = "inference_worker_truncated_dead_letters_total"
        /// Dead letters given up because not even their minimal form could be written.
        public static let droppedDeadLetters = "inference_worker_dropped_dead_letters_total"
        /// Shadow predictions that could not be written (dropped; the primary path is not affected).
        public static let shadowDropped = "inference_worker_shadow_predictions_dropped_total"
        public static let producerRecoveries = "inference_worker_producer_recoveries_total"
        public static let resent = "inference_worker_outputs_resent_total"
        /// Outputs of revoked or lost partitions not sent again (their inputs are redelivered to the next owner).
        public static let discardedOutputs = "inference_worker_outputs_discarded_total"
        public static let batchSize = "inference_worker_batch_size"
        public static let modelLatency = "inference_worker_model_latency_seconds"
        public static let endToEndLatency = "inference_worker_end_to_end_latency_seconds"
        public static let processingLatency = "inference_worker_processing_latency_seconds"
        public static let consumerLag = "inference_worker_consumer_lag_records"
        public static let consumerLagStored = "inference_worker_consumer_lag_stored_records"
        public static let inFlightRecords = "inference_worker_records_in_flight"
        public static let inFlightBytes = "inference_worker_bytes_in_flight"
        public static let assignedPartitions = "inference_worker_assigned_partitions"
        public static let pausedPartitions = "inference_worker_paused_partitions"
        public static let pauses = "inference_worker_pauses_total"
        public static let rebalances = "inference_worker_rebalances_total"
        public static let commitFailures = "inference_worker_commit_failures_total"
        public static let modelInfo = "inference_worker_model_info"
        public static let modelLoaded = "inference_worker_model_loaded"
        public static let ready = "inference_worker_ready"
        public static let driftVerdict = "inference_worker_drift_verdict"
    }

    /// A drift verdict as a gauge value: 0 ok, 1 warn, 2 alert (with the default PSI thresholds:
    /// < 0.1, 0.1-0.25, > 0.25), -1 not enough data in the window to judge.
    static func gaugeValue(_ level: DriftLevel) -> Double {
        switch level {
        case .insufficientData: -1
        case .ok: 0
        case .warn: 1
        case .alert: 2
        }
    }

    /// Dead-letter reasons that get their own label value; others are counted as `other`.
    public static let deadLetterReasons: [String] = DeadLetterReasonCodes.all

    private let consumed: CoreMetrics.Counter
    private let predicted: CoreMetrics.Counter
    private let retried: CoreMetrics.Counter
    private let blocked: CoreMetrics.Counter
    private let truncatedDeadLetters: CoreMetrics.Counter
    private let droppedDeadLetters: CoreMetrics.Counter
    private let shadowDropped: CoreMetrics.Counter
    private let producerRecoveries: CoreMetrics.Counter
    private let resent: CoreMetrics.Counter
    private let discardedOutputs: CoreMetrics.Counter
    private let blockedNow: CoreMetrics.Gauge
    private let pauses: CoreMetrics.Counter
    private let rebalances: CoreMetrics.Counter
    private let commitFailures: CoreMetrics.Counter
    private let deadLetters: [String: CoreMetrics.Counter]
    private let batchSize: Recorder
    private let modelLatency: CoreMetrics.Timer
    private let endToEndLatency: CoreMetrics.Timer
    private let processingLatency: CoreMetrics.Timer
    private let inFlightRecords: CoreMetrics.Gauge
    private let inFlightBytes: CoreMetrics.Gauge
    private let assignedPartitions: CoreMetrics.Gauge
    private let pausedPartitions: CoreMetrics.Gauge
    private let modelLoaded: CoreMetrics.Gauge
    private let ready: CoreMetrics.Gauge

    /// Series whose label values change at run time; created on first sight, removed when stale.
    private struct DynamicSeries: ~Copyable {
        var lag: [LagKey: (committed: CoreMetrics.Gauge, stored: CoreMetrics.Gauge)] = [:]
        var modelInfo: (name: String, version: String, gauge: CoreMetrics.Gauge)?
        var drift: [DriftKey: CoreMetrics.Gauge] = [:]
        /// The model whose drift verdicts are exposed.
        var driftModel: String?
    }
    private struct LagKey: Hashable { var topic: String; var partition: Int32 }
    private struct DriftKey: Hashable { var model: String; var feature: String }
    private let dynamic = Mutex(DynamicSeries())
    /// Live quality's series (WorkerMetrics+Quality.swift).
    let qualitySeries = Mutex(QualitySeries())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[Name.batchSize] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536]
        factory.durationHistogramBuckets[Name.modelLatency] = [
            .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.durationHistogramBuckets[Name.endToEndLatency] = [
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        factory.durationHistogramBuckets[Name.processingLatency] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
            .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        self.factory = factory

        consumed = CoreMetrics.Counter(label: Name.consumed, factory: factory)
        predicted = CoreMetrics.Counter(label: Name.predicted, factory: factory)
        retried = CoreMetrics.Counter(label: Name.retried, factory: factory)
        blocked = CoreMetrics.Counter(label: Name.blocked, factory: factory)
        truncatedDeadLetters = CoreMetrics.Counter(label: Name.truncatedDeadLetters, factory: factory)
        droppedDeadLetters = CoreMetrics.Counter(label: Name.droppedDeadLetters, factory: factory)
        shadowDropped = CoreMetrics.Counter(label: Name.shadowDropped, factory: factory)
        producerRecoveries = CoreMetrics.Counter(label: Name.producerRecoveries, factory: factory)
        resent = CoreMetrics.Counter(label: Name.resent, factory: factory)
        discardedOutputs = CoreMetrics.Counter(label: Name.discardedOutputs, factory: factory)
        blockedNow = CoreMetrics.Gauge(label: Name.blockedNow, factory: factory)
        pauses = CoreMetrics.Counter(label: Name.pauses, factory: factory)
        rebalances = CoreMetrics.Counter(label: Name.rebalances, factory: factory)
        commitFailures = CoreMetrics.Counter(label: Name.commitFailures, factory: factory)
        var deadLetters: [String: CoreMetrics.Counter] = [:]
        for reason in Self.deadLetterReasons + ["other"] {
            deadLetters[reason] = CoreMetrics.Counter(label: Name.deadLettered, dimensions: [("reason", reason)], factory: factory)
        }
        self.deadLetters = deadLetters
        batchSize = Recorder(label: Name.batchSize, aggregate: true, factory: factory)
        modelLatency = CoreMetrics.Timer(label: Name.modelLatency, factory: factory)
        endToEndLatency = CoreMetrics.Timer(label: Name.endToEndLatency, factory: factory)
        processingLatency = CoreMetrics.Timer(label: Name.processingLatency, factory: factory)
        inFlightRecords = CoreMetrics.Gauge(label: Name.inFlightRecords, factory: factory)
        inFlightBytes = CoreMetrics.Gauge(label: Name.inFlightBytes, factory: factory)
        assignedPartitions = CoreMetrics.Gauge(label: Name.assignedPartitions, factory: factory)
        pausedPartitions = CoreMetrics.Gauge(label: Name.pausedPartitions, factory: factory)
        modelLoaded = CoreMetrics.Gauge(label: Name.modelLoaded, factory: factory)
        ready = CoreMetrics.Gauge(label: Name.ready, factory: factory)
    }

    // MARK: - Events (fed by PipelineCounters)

    /// Adds what changed between two counter snapshots (one `PipelineCounters.update`).
    func record(from before: PipelineCounters.Snapshot, to after: PipelineCounters.Snapshot) {
        func add(_ counter: CoreMetrics.Counter, _ delta: Int) { if delta > 0 { counter.increment(by: delta) } }
        add(consumed, after.consumed - before.consumed)
        add(predicted, after.predicted - before.predicted)
        add(retried, after.retried - before.retried)
        add(blocked, after.blocked - before.blocked)
        add(truncatedDeadLetters, after.truncatedDeadLetters - before.truncatedDeadLetters)
        add(droppedDeadLetters, after.droppedDeadLetters - before.droppedDeadLetters)
        add(shadowDropped, after.shadowPredictionsDropped - before.shadowPredictionsDropped)
        add(producerRecoveries, after.producerRecoveries - before.producerRecoveries)
        add(resent, after.resent - before.resent)
        add(discardedOutputs, after.discardedOutputs - before.discardedOutputs)
        add(pauses, after.pauses - before.pauses)
        add(rebalances, after.rebalances - before.rebalances)
        add(commitFailures, after.commitFailures - before.commitFailures)
        let batches = after.batches - before.batches
        if batches > 0 {
            // The pipeline records one batch per update; should it ever record several, each
            // gets the mean (the histogram's count stays right).
            let records = after.batchedRecords - before.batchedRecords
            let nanoseconds = after.modelNanoseconds - before.modelNanoseconds
            for _ in 0..<batches {
                batchSize.record(records / batches)
                modelLatency.recordNanoseconds(nanoseconds / Int64(batches))
            }
        }
    }

    /// One prediction (``PipelineCounters/predicted(endToEndMicroseconds:)``).
    func recordPrediction() {
        predicted.increment()
    }

    func deadLettered(reason: String) {
        (deadLetters[reason] ?? deadLetters["other"])?.increment()
    }

    func recordEndToEnd(microseconds: Int64) {
        endToEndLatency.recordMicroseconds(max(0, microseconds))
    }

    func recordProcessing(microseconds: Int64) {
        processingLatency.recordMicroseconds(max(0, microseconds))
    }

    // MARK: - Drift (set by the drift integration)

    /// Sets the drift verdict of one feature of a model. Feature names come from the model's
    /// schema (bounded); call ``clearDriftVerdicts(model:)`` when a model leaves service.
    public func setDriftVerdict(model: String, feature: String, level: DriftLevel) {
        let gauge = dynamic.withLock { state -> CoreMetrics.Gauge in
            let key = DriftKey(model: model, feature: feature)
            if let gauge = state.drift[key] { return gauge }
            let gauge = CoreMetrics.Gauge(label: Name.driftVerdict, dimensions: [("model", model), ("feature", feature)], factory: factory)
            state.drift[key] = gauge
            return gauge
        }
        gauge.record(Self.gaugeValue(level))
    }

    /// Sets every verdict of a drift report: each feature, plus `_output` (the predictions'
    /// distribution) and `_dataset` (the dataset-level verdict). A report of another model version
    /// replaces the previous model's series.
    public func setDriftVerdicts(from report: DriftReport) {
        let previous = dynamic.withLock { state -> String? in
            defer { state.driftModel = report.modelName }
            return state.driftModel
        }
        if let previous, previous != report.modelName { clearDriftVerdicts(model: previous) }
        for column in report.features { setDriftVerdict(model: report.modelName, feature: column.name, level: column.verdict.level) }
        setDriftVerdict(model: report.modelName, feature: "_output", level: report.dataset.outputLevel)
        setDriftVerdict(model: report.modelName, feature: "_dataset", level: report.dataset.level)
    }

    /// Removes the drift verdict series of a model (e.g. after a model swap).
    public func clearDriftVerdicts(model: String) {
        let stale = dynamic.withLock { state -> [CoreMetrics.Gauge] in
            let keys = state.drift.keys.filter { $0.model == model }
            return keys.compactMap { state.drift.removeValue(forKey: $0) }
        }
        for gauge in stale { gauge.destroy() }
    }

    // MARK: - Sampled state

    /// Samples the pipeline's state into the gauges; the metrics endpoint calls it before each
    /// scrape, so the values are fresh without a timer of their own.
    public func collect(from pipeline: InferencePipeline, health: WorkerHealth.Report? = nil) {
        let inFlight = pipeline.inFlight
        inFlightRecords.record(inFlight.records)
        inFlightBytes.record(inFlight.bytes)
        let assigned = pipeline.assignedPartitions
        assignedPartitions.record(assigned.count)
        pausedPartitions.record(pipeline.isPaused ? assigned.count : 0)
        blockedNow.record(pipeline.blockedOutputs)
        let model = pipeline.servingModel
        modelLoaded.record(model == nil ? 0 : 1)
        if let drift = pipeline.latestDriftReport { setDriftVerdicts(from: drift) }
        collectQuality(pipeline.quality?.snapshot)
        let report = health ?? WorkerHealth.readiness(of: pipeline)
        ready.record(report.isReady ? 1 : 0)

        // Lag: only partitions this replica owns now (librdkafka may still report revoked ones).
        let owned = Set(assigned.map { LagKey(topic: $0.topic, partition: $0.partition.rawValue) })
        var values: [LagKey: (Int64?, Int64?)] = [:]
        for p in pipeline.latestStatistics?.partitions ?? [] {
            let key = LagKey(topic: p.topicPartition.topic, partition: p.topicPartition.partition.rawValue)
            // A series appears once librdkafka knows a lag (it reports -1 before the first commit).
            if owned.contains(key), p.consumerLag != nil || p.consumerLagStored != nil { values[key] = (p.consumerLag, p.consumerLagStored) }
        }
        let (series, stale, staleInfo, info) = dynamic.withLock { state in
            var stale: [CoreMetrics.Gauge] = []
            for key in state.lag.keys where values[key] == nil {
                if let removed = state.lag.removeValue(forKey: key) { stale += [removed.committed, removed.stored] }
            }
            var series: [(CoreMetrics.Gauge, CoreMetrics.Gauge, Int64?, Int64?)] = []
            for (key, (committed, stored)) in values {
                if let gauges = state.lag[key] {
                    series.append((gauges.committed, gauges.stored, committed, stored))
                } else {
                    let dimensions = [("topic", key.topic), ("partition", String(key.partition))]
                    let made = (
                        committed: CoreMetrics.Gauge(label: Name.consumerLag, dimensions: dimensions, factory: factory),
                        stored: CoreMetrics.Gauge(label: Name.consumerLagStored, dimensions: dimensions, factory: factory)
                    )
                    state.lag[key] = made
                    series.append((made.committed, made.stored, committed, stored))
                }
            }
            var staleInfo: CoreMetrics.Gauge?
            var info: CoreMetrics.Gauge?
            if let model {
                if let current = state.modelInfo, current.name == model.name, current.version == model.version {
                    info = current.gauge
                } else {
                    staleInfo = state.modelInfo?.gauge
                    let gauge = CoreMetrics.Gauge(label: Name.modelInfo, dimensions: [("model", model.name), ("version", model.version)], factory: factory)
                    state.modelInfo = (model.name, model.version, gauge)
                    info = gauge
                }
            } else {
                // No model in service: no info series (model_loaded says 0).
                staleInfo = state.modelInfo?.gauge
                state.modelInfo = nil
            }
            return (series, stale, staleInfo, info)
        }
        for gauge in stale { gauge.destroy() }
        staleInfo?.destroy()
        info?.record(1)
        for (committed, stored, committedLag, storedLag) in series {
            // librdkafka reports -1 (nil here) until it knows; NaN would break sums, so skip.
            if let committedLag { committed.record(committedLag) }
            if let storedLag { stored.record(storedLag) }
        }
    }

    /// The registry in Prometheus' text exposition format (version 0.0.4).
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Dead-letter reason codes the worker can emit (a bounded label set).
enum DeadLetterReasonCodes {
    static var all: [String] {
        DeadLetterReason.allPredefined.map(\.code) + [DeadLetterReason.outputProduceFailure.code]
    }
}
