import Foundation
import InferenceCore
import Kafka
import Logging

/// The pipeline's scoring thread: takes the records the consumer handed over, in arrival order,
/// scores them in micro-batches and hands every outcome to the ``OutputPublisher``.
///
/// For each record: skip it if its partition was revoked meanwhile; append it to the open batch's
/// ``BatchScorer`` (decode, validate, encode into the batch matrix), or dead-letter it with the
/// scorer's reason; the ``MicroBatcher`` says when the batch closes (size, or its deadline). A
/// closed batch is scored once, and each row's prediction (or output failure) is published in
/// input order, so one input partition's outputs are sent in its order.
///
/// A batch is served by one model version from its first row to its last (during a canary
/// roll-out, the candidate serves its keys' rows of the batch besides: ``RolloutServing``); a new
/// version (hot reload, a roll-out's decision) takes over at the next batch. While no version is servable, records wait (in flight:
/// back-pressure pauses consumption) until one is, or until the pipeline stops.
///
/// A value confined to its thread: ``run()`` is called once, on the thread the pipeline starts
/// (`@unchecked Sendable` only so that it can be handed to that thread: it is never shared, and
/// its drift monitor, which is not `Sendable`, is only ever touched there).
struct ScoringLoop: @unchecked Sendable {
    /// A record accepted into the open batch (its features are in the scorer's matrix).
    struct PendingRow: Sendable {
        var input: InboundRecord
        var requestID: String?
        /// Its rows in the primary's and the candidate's scorer (roll-outs; see ``RolloutServing``).
        var rows: RolloutServing.Rows
    }

    private let configuration: WorkerConfiguration
    private let models: any ModelSource
    private let queue: WorkQueue
    private let ledger: PartitionLedger
    private let publisher: OutputPublisher
    private let counters: PipelineCounters
    private let logger: Logger
    private let isStopping: @Sendable () -> Bool
    /// Called after every pass over the queue: hands acknowledged progress to the consumer.
    private let storeProgress: @Sendable () -> Void
    /// Called with every drift report published.
    private let driftPublished: @Sendable (DriftReport) -> Void
    private let clock = ContinuousClock()

    private var batcher: MicroBatcher<PendingRow, ContinuousClock.Instant>
    /// The open batch's scorer (its model version); replaced between batches on a new version.
    /// The hot paths move it out (``takeScorer()``) and back rather than reaching through the
    /// optional: `scorer!.member` copied the whole struct (a retain and release of each of its
    /// references) per record, measured as a third more CPU per event.
    private var scorer: BatchScorer?
    private var drift: DriftMonitor?
    private var encodeBuffer: [UInt8] = []
    private var currentTickets = PartitionLedger.CurrentTicketCache()
    /// Live quality, when a labels topic is configured (ScoringLoop+Quality.swift).
    var quality: QualityPath?
    /// The labels topic, whose records go to ``quality`` instead of the scorer.
    let labelsTopic: String?
    /// The roll-out's candidate, routing and evidence (docs/rollouts.md); inert without a source.
    var rollout: RolloutServing

    init(
        configuration: WorkerConfiguration, models: any ModelSource, rollouts: (any RolloutSource)? = nil, queue: WorkQueue, ledger: PartitionLedger,
        publisher: OutputPublisher, counters: PipelineCounters, logger: Logger,
        isStopping: @escaping @Sendable () -> Bool,
        storeProgress: @escaping @Sendable () -> Void,
        driftPublished: @escaping @Sendable (DriftReport) -> Void,
        quality: QualityPath? = nil
    ) throws(ConfigurationValidationError) {
        self.configuration = configuration
        self.models = models
        self.queue = queue
        self.ledger = ledger
        self.publisher = publisher
        self.counters = counters
        self.logger = logger
        self.isStopping = isStopping
        self.storeProgress = storeProgress
        self.driftPublished = driftPublished
        self.quality = quality
        labelsTopic = quality == nil ? nil : configuration.labelsTopic
        rollout = RolloutServing(source: rollouts, configuration: configuration, logger: logger)
        batcher = try MicroBatcher(configuration: MicroBatcherConfiguration(
            maxBatchSize: configuration.maxBatchSize,
            maxDelay: configuration.maxBatchDelay,
            adaptive: configuration.adaptiveBatching ? .init(latencyObjective: configuration.latencyObjective, initialBatchSize: 8) : nil
        ))
    }

    /// Scores until the queue is closed and empty, then scores what is pending, reports the open
    /// drift window, closes the open quality windows and hands over the roll-out's open evidence
    /// window.
    mutating func run() {
        while true {
            let deadline: Date
            if let next = batcher.nextDeadline {
                deadline = Date(timeIntervalSinceNow: max(0, clock.now.duration(to: next).doubleSeconds))
            } else {
                deadline = Date(timeIntervalSinceNow: 0.1)
            }
            guard let records = queue.take(waitingUntil: deadline) else { break }
            // Rebalances posted before these records were queued apply before they are handled.
            quality?.applyPartitionEvents(now: Date())
            // The batcher's clock is read once per 16 records (at most ~0.1 ms stale at ~5 µs per
            // record): its deadlines are milliseconds, and this is the serial thread.
            var now = clock.now
            var index = 0
            // One batch per turn: the scorer is moved out for the batch's records, and the model
            // version is checked again at each batch boundary (hot reload between batches).
            while index < records.count {
                guard prepareScorer() else { break } // stopping while no model could serve: the rest stay in flight
                var scorer = takeScorer()
                while index < records.count {
                    if index & 15 == 15 { now = clock.now }
                    let record = records[index]
                    index += 1
                    if take(record, into: &scorer, now: now) { break }
                }
                self.scorer = scorer
            }
            if case .flush(let batch) = batcher.deadlineReached(now: clock.now) { score(batch) }
            if let report = drift?.takeReportIfDue(now: Date()) { publish(report) }
            quality?.tick(now: Date())
            storeProgress()
            rollout.publishClosedEvidence()
        }
        if let batch = batcher.drain(now: clock.now) { score(batch) }
        if let report = drift?.flush(now: Date()) { publish(report) }
        quality?.flush(now: Date())
        rollout.publishOpenWindowOnStop()
    }

    /// One record into the open batch (or to the dead letters). Returns true when it closed the
    /// batch (which is then scored and published).
    private mutating func take(_ record: InboundRecord, into scorer: inout BatchScorer, now: ContinuousClock.Instant) -> Bool {
        guard ledger.isCurrent(record.ticket, cache: &currentTickets) else {
            return false // revoked or lost meanwhile: the next owner reads it again
        }
        if takeLabel(record, scorer: scorer) { return false }
        let row: PendingRow
        if rollout.isActive {
            switch rollout.append(record, primary: &scorer) {
            case .refused(let failure, let model):
                publisher.deadLetter(record, reason: failure.reason, message: failure.message, model: model)
                return false
            case .accepted(let requestID, let rows):
                if rows.primary >= 0 { drift?.observe(row: scorer.lastRow) }
                row = PendingRow(input: record, requestID: requestID, rows: rows)
            }
        } else {
            let result = record.message.withValue { scorer.append(request: $0) }
            switch result {
            case .failure(let failure):
                publisher.deadLetter(record, reason: failure.reason, message: failure.message, model: (scorer.name, scorer.version))
                return false
            case .success(let requestID):
                // The drift monitor serves the scorer's version (`serve(_:)` replaces both together).
                drift?.observe(row: scorer.lastRow)
                row = PendingRow(input: record, requestID: requestID, rows: .primaryOnly(scorer.rowCount - 1))
            }
        }
        guard case .flush(let batch) = batcher.append(row, now: now) else { return false }
        score(batch, with: &scorer)
        return true
    }

    /// The scorer, moved out: `self.scorer` is nil until it is put back, so the local copy is the
    /// only reference to its buffers and mutating it copies nothing. (Not `Optional.take()` with
    /// `consume`: that combination trapped with "initialize overlapping range" in Swift 6.3.)
    private mutating func takeScorer() -> BatchScorer {
        guard let scorer else { preconditionFailure("no scorer while a batch is open") }
        self.scorer = nil
        return scorer
    }

    /// Makes sure a scorer serves the next row: the open batch's, or at a batch boundary the
    /// current model version's. Waits while no version is servable; false if the pipeline stops.
    private mutating func prepareScorer() -> Bool {
        if (scorer?.rowCount ?? 0) > 0 || rollout.candidateRowCount > 0 { return true }
        while true {
            if let model = rollout.primaryModel(from: models) {
                quality?.serveCandidate(rollout.canaryCandidate)
                if scorer?.version == model.version, scorer?.name == model.name { return true }
                if serve(model) { return true }
            }
            // No servable model: keep the record in flight (back-pressure will pause) and wait;
            // when stopping, leave it unacknowledged (it is redelivered).
            if isStopping() { return false }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Puts `model` in service from the next batch on. False if it cannot serve.
    private mutating func serve(_ model: LoadedModel) -> Bool {
        do {
            scorer = try BatchScorer(model: model, maxRows: configuration.maxBatchSize, maxPayloadBytes: configuration.maxPayloadBytes)
        } catch {
            logger.error("model cannot serve", metadata: ["model.version": "\(model.version)", "error": "\(error)"])
            return false
        }
        logger.info("model in service", metadata: ["model.name": "\(model.name)", "model.version": "\(model.version)"])
        quality?.serve(model)
        // Drift is judged per model version: the old version's open window is reported now.
        if configuration.driftTopic != nil {
            if let report = drift?.flush(now: Date()) { publish(report) }
            drift = DriftMonitor(model: model, configuration: configuration.driftConfiguration, workerID: configuration.workerID, now: Date())
        }
        return true
    }

    /// Scores a closed batch (deadline, drain) with the scorer in `self.scorer`.
    private mutating func score(_ batch: MicroBatcher<PendingRow, ContinuousClock.Instant>.Batch) {
        var scorer = takeScorer()
        score(batch, with: &scorer)
        self.scorer = scorer
    }

    /// Scores a closed batch and publishes each row's outcome in input order.
    private mutating func score(_ batch: MicroBatcher<PendingRow, ContinuousClock.Instant>.Batch, with scorer: inout BatchScorer) {
        precondition(scorer.rowCount + rollout.canaryRowCount == batch.elements.count, "the batcher and the scorer disagree on the batch")
        if rollout.isActive {
            let modelLatency = rollout.scoreAndPublish(batch.elements, primary: &scorer, drift: &drift, quality: &quality, publisher: publisher, encodeBuffer: &encodeBuffer)
            countJoinedLabels(scorer: scorer) // labels that arrived before their predictions
            return finish(batch, modelLatency: modelLatency, finished: clock.now)
        }
        let started = clock.now
        scorer.score()
        let finished = clock.now
        let modelLatency = started.duration(to: finished)
        let processingTime = Int64(Date().timeIntervalSince1970 * 1000)
        for (row, pending) in batch.elements.enumerated() {
            Self.publishOutcome(scorer.outcome(ofRow: row), of: pending, scoredBy: &scorer, processingTime: processingTime,
                                drift: &drift, observesDrift: true, quality: &quality, publisher: publisher, encodeBuffer: &encodeBuffer)
        }
        scorer.reset()
        finish(batch, modelLatency: modelLatency, finished: finished)
    }

    /// Counts a scored and published batch, and lets the adaptive sizer learn from it.
    private mutating func finish(_ batch: MicroBatcher<PendingRow, ContinuousClock.Instant>.Batch, modelLatency: Duration, finished: ContinuousClock.Instant) {
        let n = batch.elements.count
        counters.update {
            $0.batches += 1
            $0.batchedRecords += n
            $0.modelNanoseconds += modelLatency.nanoseconds
        }
        // Processing latency: consumed -> this batch's outputs handed to the producer (one clock
        // read per batch, after the last send: an upper bound for every row of the batch).
        let handedOver = DispatchTime.now().uptimeNanoseconds
        for pending in batch.elements {
            counters.processingLatency.record(microseconds: Int64(truncatingIfNeeded: handedOver &- pending.input.consumedAtNanoseconds) / 1000)
        }
        // Every row was scored: nothing is pending, so the adaptive sizer only learns here.
        _ = batcher.recordCompletion(batchSize: n, queueingDelay: batch.queueingDelay, modelLatency: modelLatency, now: finished)
    }

    private func publish(_ report: DriftReport) {
        driftPublished(report)
        logger.info("drift window closed", metadata: [
            "model.name": "\(report.modelName)", "model.version": "\(report.modelVersion)",
            "drift.level": "\(report.dataset.level.rawValue)", "drift.features": "\(report.dataset.driftedFeatures.joined(separator: ","))",
        ])
        publisher.publishDrift(report)
    }
}
