import Foundation
import InferenceCore
import Logging

/// The scoring thread's part in a roll-out (docs/rollouts.md, "How `run` wires it", steps 2 to 4): which
/// versions serve, which rows the candidate sees, its outputs, and this replica's evidence.
///
/// At each batch boundary ``primaryModel(from:)`` reads the model's record from the
/// ``RolloutSource``: without one, the model source's current version serves everything (as before
/// roll-outs). With one, its `primary_version` serves; while it runs and its `candidate_version` is
/// loaded (``ModelSource/model(version:)``, which never waits), the ``RolloutKeyRouter`` sends each
/// keyed record to the primary, to the candidate (canary) or to both (shadow). A candidate that is
/// not loaded (yet, or ever) leaves every row to the primary.
///
/// - Canary rows are appended to the candidate's own ``BatchScorer``; the batch's outcomes are then
///   published in input order, each by the version that scored it (the prediction names it),
///   failures dead-lettered as usual: a canary row is acknowledged and committed like any other.
/// - Shadow rows are appended to both scorers. The candidate scores them after the primary's
///   outputs of the batch were handed to the publisher, and its predictions go to the shadow topic
///   as side records without input tickets (``OutputPublisher/publishShadow(_:for:)``): they never
///   hold back commits, dead letters or the order of the primary outputs.
///
/// Evidence: one ``RolloutEvidenceRecorder`` per roll-out (recreated when the `rollout_id` changes,
/// dropped when the roll-out is over); ``publishClosedEvidence()`` hands ended windows to the source
/// after every pass over the queue.
///
/// A value confined to the scoring thread, like ``ScoringLoop`` which owns it.
struct RolloutServing {
    /// Where a row of the open batch lives: its row in the primary's and in the candidate's scorer
    /// (-1: not there). Canary rows are in the candidate's only, shadow rows in both.
    struct Rows: Sendable {
        var primary: Int32
        var candidate: Int32
        static func primaryOnly(_ row: Int) -> Rows { Rows(primary: Int32(truncatingIfNeeded: row), candidate: -1) }
    }

    /// What ``append(_:primary:)`` did with a record.
    enum Appended {
        case accepted(requestID: String?, rows: Rows)
        /// Refused by `model` (dead-letter it with that version).
        case refused(ScoringFailure, model: (name: String, version: String))
    }

    private let source: (any RolloutSource)?
    private let modelName: String
    private let workerID: String
    private let maxRows: Int
    private let maxPayloadBytes: Int
    private let logger: Logger
    private let clock = ContinuousClock()

    /// The record followed at the last batch boundary.
    private(set) var record: RolloutRecord?
    private var router: RolloutKeyRouter?
    /// The candidate's scorer, while the roll-out runs and the candidate is loaded.
    private var candidate: BatchScorer?
    private var recorder: RolloutEvidenceRecorder?
    /// A second scorer of the primary version: in every ``calibrationEvery``-th batch it scores the
    /// candidate's rows again, so that the latency ratio compares both versions on the same rows
    /// (timing the primary's whole batch against the candidate's share of it would not be fair).
    private var calibration: BatchScorer?
    private var boundaries = 0
    /// Whether the open batch is timed on both versions (its candidate rows go to `calibration` too).
    private var calibrating = false
    /// One batch in this many is timed on both versions: the extra cost is the candidate's share of
    /// a batch, scored once more by the primary, in one batch of eight.
    static let calibrationEvery = 8
    private var shadowBuffer: [UInt8] = []
    /// Since when the record's primary version has been asked for and was not loaded.
    private var primaryMissing: (version: String, since: ContinuousClock.Instant)?
    /// How long the scoring thread waits for the record's primary version before it serves the
    /// model source's current version instead.
    static let primaryLoadPatience: Duration = .seconds(10)
    /// What was logged once already (per roll-out and concern).
    private var logged: Set<String> = []

    init(source: (any RolloutSource)?, configuration: WorkerConfiguration, logger: Logger) {
        self.source = source
        self.modelName = configuration.modelName
        self.workerID = configuration.workerID
        self.maxRows = configuration.maxBatchSize
        self.maxPayloadBytes = configuration.maxPayloadBytes
        self.logger = logger
    }

    /// Whether the candidate takes part in the open batch (routing, scoring, evidence).
    var isActive: Bool { router != nil && candidate != nil }
    /// Rows in the candidate's scorer (an open batch may hold only canary rows).
    var candidateRowCount: Int { candidate?.rowCount ?? 0 }
    /// Rows of the open batch that only the candidate holds (canary).
    var canaryRowCount: Int { router?.mode.kind == .canary ? candidateRowCount : 0 }
    /// Whether labels joined with predictions count in the evidence (a canary runs: each version's
    /// predictions are its own, so each version's accuracy is measured; ``recordLabelled(_:primary:)``).
    var countsLabels: Bool { isActive && router?.mode.kind == .canary }
    /// The candidate serving keys of its own (a running canary's, once loaded), else nil.
    var canaryCandidate: LoadedModel? { countsLabels ? candidate?.model : nil }

    // MARK: Batch boundary

    /// The version to serve the next batch with (call only when no row is open); prepares the
    /// candidate and the evidence recorder of a running roll-out.
    mutating func primaryModel(from models: any ModelSource) -> LoadedModel? {
        guard let source else { return models.current }
        let followed = source.record(for: modelName)
        record = followed
        guard let followed else {
            endRollout()
            return models.current
        }
        var serving = models.model(version: followed.primaryVersion)
        if serving == nil {
            // The record names the primary: wait for it to load (records stay in flight, as when no
            // version serves) rather than serve another version; after `primaryLoadPatience` (it
            // is missing or broken) serve the current version, so that the stream never stops.
            let now = ContinuousClock.now
            let since = primaryMissing?.version == followed.primaryVersion ? primaryMissing!.since : now
            primaryMissing = (followed.primaryVersion, since)
            if since.duration(to: now) < Self.primaryLoadPatience { return nil }
            serving = models.current
            logOnce("primary/\(followed.rolloutID)/\(followed.primaryVersion)", "roll-out primary version cannot be loaded; serving the current version instead", [
                "model.version": "\(followed.primaryVersion)", "model.serving_version": "\(serving?.version ?? "none")",
            ])
        }
        guard let serving else {
            endRollout()
            return nil
        }
        if serving.version == followed.primaryVersion { primaryMissing = nil }
        guard followed.state == .running, let router = RolloutKeyRouter(record: followed), let version = followed.candidateVersion,
              version != serving.version
        else {
            endRollout()
            return serving
        }
        if let model = models.model(version: version) {
            if candidate?.version != version || candidate?.name != model.name {
                do {
                    candidate = try BatchScorer(model: model, maxRows: maxRows, maxPayloadBytes: maxPayloadBytes)
                    logger.info("roll-out candidate in service", metadata: [
                        "model.name": "\(model.name)", "model.version": "\(version)", "rollout.id": "\(followed.rolloutID)",
                        "rollout.mode": "\(followed.mode)",
                    ])
                } catch {
                    candidate = nil
                    logOnce("scorer/\(followed.rolloutID)", "roll-out candidate cannot serve; the primary serves every row", [
                        "model.version": "\(version)", "error": "\(error)",
                    ])
                }
            }
        } else {
            candidate = nil
            // Info: normal for the first batches (it loads in the background); a version that cannot
            // load is reported as an error by the model source.
            logOnce("candidate/\(followed.rolloutID)", "roll-out candidate not loaded (yet); the primary serves every row meanwhile", [
                "model.version": "\(version)",
            ], level: .info)
        }
        self.router = candidate == nil ? nil : router
        calibrating = false
        if candidate != nil {
            if calibration?.version != serving.version || calibration?.name != serving.name {
                calibration = try? BatchScorer(model: serving, maxRows: maxRows, maxPayloadBytes: maxPayloadBytes)
            }
            boundaries &+= 1
            calibrating = calibration != nil && boundaries % Self.calibrationEvery == 0
        }
        if recorder?.record.rolloutID != followed.rolloutID {
            publishClosedEvidence()
            do {
                recorder = try RolloutEvidenceRecorder(
                    record: followed, workerID: workerID, outputBinning: .init(task: serving.output.task), now: Date())
            } catch {
                recorder = nil
            }
        }
        return serving
    }

    /// No roll-out runs (any more): the candidate and the recorder go; ended windows are published.
    private mutating func endRollout() {
        router = nil
        candidate = nil
        calibration = nil
        calibrating = false
        if recorder != nil {
            publishClosedEvidence()
            recorder = nil
        }
    }

    // MARK: Rows

    /// Routes `record` by its key (by its position when it has none) and appends it to the scorer(s) of its route.
    mutating func append(_ record: InboundRecord, primary: inout BatchScorer) -> Appended {
        guard let router, var candidate = self.candidate else { preconditionFailure("append(_:primary:) without an active roll-out") }
        // Moved out (not copied): the local is then the only reference to its buffers, so appending
        // copies nothing (see ScoringLoop.takeScorer()).
        self.candidate = nil
        let route = record.message.withKey { key in
            key.map { router.route(key: $0) } ?? router.route(partition: record.message.partition.rawValue, offset: record.message.offset.rawValue)
        }
        defer { self.candidate = candidate }
        switch route {
        case .primary:
            switch record.message.withValue({ primary.append(request: $0) }) {
            case .success(let id):
                return .accepted(requestID: id, rows: .primaryOnly(primary.rowCount - 1))
            case .failure(let failure):
                // Canary: the primary's share counts its refusals (shadow: only sampled rows count).
                if router.mode.kind == .canary, Self.isAboutTheVersion(failure) {
                    recordEvidence { $0.primary.records += 1; $0.recordDeadLetter(.primary) }
                }
                return .refused(failure, model: (primary.name, primary.version))
            }
        case .candidate:
            switch record.message.withValue({ candidate.append(request: $0) }) {
            case .success(let id):
                if calibrating { _ = record.message.withValue { calibration!.append(request: $0) } }
                return .accepted(requestID: id, rows: Rows(primary: -1, candidate: Int32(truncatingIfNeeded: candidate.rowCount - 1)))
            case .failure(let failure):
                if Self.isAboutTheVersion(failure) {
                    recordEvidence { $0.candidate.records += 1; $0.recordDeadLetter(.candidate) }
                }
                return .refused(failure, model: (candidate.name, candidate.version))
            }
        case .primaryWithShadow:
            let id: String?
            switch record.message.withValue({ primary.append(request: $0) }) {
            case .success(let requestID): id = requestID
            case .failure(let failure): return .refused(failure, model: (primary.name, primary.version))
            }
            let primaryRow = Int32(truncatingIfNeeded: primary.rowCount - 1)
            switch record.message.withValue({ candidate.append(request: $0) }) {
            case .success:
                if calibrating { _ = record.message.withValue { calibration!.append(request: $0) } }
                return .accepted(requestID: id, rows: Rows(primary: primaryRow, candidate: Int32(truncatingIfNeeded: candidate.rowCount - 1)))
            case .failure:
                // The primary took it, the candidate cannot: a failure of the candidate (nothing is
                // dead-lettered for a shadow).
                recordEvidence { $0.candidate.records += 1; $0.recordError(.candidate) }
                return .accepted(requestID: id, rows: .primaryOnly(Int(primaryRow)))
            }
        }
    }

    /// Whether a refusal depends on the version's schema (a missing or invalid feature), not only
    /// on the bytes (a tombstone or an oversized value is refused by any version).
    static func isAboutTheVersion(_ failure: ScoringFailure) -> Bool {
        switch failure.cause {
        case .input, .request, .output: true
        case .tombstone, .oversized: false
        }
    }

    // MARK: Scoring

    /// Scores the open batch with both versions and publishes every row's outcome in input order
    /// (canary rows by the candidate), then the shadow predictions. Returns the model time.
    mutating func scoreAndPublish(
        _ batch: [ScoringLoop.PendingRow], primary: inout BatchScorer, drift: inout DriftMonitor?, quality: inout QualityPath?,
        publisher: OutputPublisher, encodeBuffer: inout [UInt8]
    ) -> Duration {
        guard let router, var candidate = self.candidate else { preconditionFailure("scoreAndPublish without an active roll-out") }
        self.candidate = nil
        let isCanary = router.mode.kind == .canary
        let p = primary.rowCount
        let c = candidate.rowCount
        let t0 = clock.now
        primary.score()
        if isCanary { candidate.score() }
        let t2 = clock.now
        let now = Date()
        let processingTime = Int64(now.timeIntervalSince1970 * 1000)
        for pending in batch {
            // Each row is published by the version that scored it, exactly as a plain batch's rows
            // (`ScoringLoop.publishOutcome`); the canary's evidence is recorded next to it. The
            // candidate's predictions are joined with labels like any other: the joined examples
            // count in the evidence (`recordLabelled`) and in the candidate's own quality reports
            // (`QualityPath.serveCandidate`); it has no drift monitor.
            let outcome: Result<PredictionOutput, ScoringFailure>
            if pending.rows.primary >= 0 {
                outcome = primary.outcome(ofRow: Int(pending.rows.primary))
                if isCanary { recordEvidence(now: now) { Self.record(outcome, of: .primary, in: &$0) } }
                ScoringLoop.publishOutcome(outcome, of: pending, scoredBy: &primary, processingTime: processingTime, drift: &drift,
                                           observesDrift: true, quality: &quality, publisher: publisher, encodeBuffer: &encodeBuffer)
            } else {
                outcome = candidate.outcome(ofRow: Int(pending.rows.candidate))
                recordEvidence(now: now) { Self.record(outcome, of: .candidate, in: &$0) }
                ScoringLoop.publishOutcome(outcome, of: pending, scoredBy: &candidate, processingTime: processingTime, drift: &drift,
                                           observesDrift: false, quality: &quality, publisher: publisher, encodeBuffer: &encodeBuffer)
            }
        }
        var shadowTime = Duration.zero
        if !isCanary, c > 0 {
            let s0 = clock.now
            candidate.score()
            shadowTime = s0.duration(to: clock.now)
        }
        if !isCanary, c > 0 {
            for pending in batch where pending.rows.candidate >= 0 {
                let primaryOutcome = primary.outcome(ofRow: Int(pending.rows.primary))
                let candidateOutcome = candidate.outcome(ofRow: Int(pending.rows.candidate))
                recordEvidence(now: now) { e in
                    Self.record(primaryOutcome, of: .primary, in: &e)
                    Self.record(candidateOutcome, of: .candidate, in: &e)
                    if case .success(let a) = primaryOutcome, case .success(let b) = candidateOutcome {
                        e.recordComparison(primary: Self.evidence(a), candidate: Self.evidence(b))
                    }
                }
                if case .success(let output) = candidateOutcome {
                    let message = pending.input.message
                    let context = PredictionContext(
                        requestID: pending.requestID, source: message.topicPartition, offset: message.offset,
                        eventTimeMilliseconds: message.timestamp?.milliseconds, processingTimeMilliseconds: processingTime
                    )
                    shadowBuffer.removeAll(keepingCapacity: true)
                    candidate.encodePrediction(output, context: context, into: &shadowBuffer)
                    publisher.publishShadow(shadowBuffer, for: pending.input)
                }
            }
        }
        // A timed batch, after every output of the batch was handed over: the primary's twin scores
        // the candidate's rows, and the candidate scores them again, back to back, in alternating
        // order (the first call after the batch's I/O runs on colder caches: measured 1.3 to 1.7
        // times slower for the same model), so both versions are timed on the same rows alike.
        var timed: (primary: Duration, candidate: Duration)?
        if calibrating, var twin = calibration {
            calibration = nil
            if c > 0, twin.rowCount == c {
                let twinFirst = (boundaries / Self.calibrationEvery) % 2 == 1
                var primaryTime = Duration.zero
                var candidateTime = Duration.zero
                for turn in 0..<2 {
                    let s0 = clock.now
                    if (turn == 0) == twinFirst {
                        twin.score()
                        primaryTime = s0.duration(to: clock.now)
                    } else {
                        candidate.rescore()
                        candidateTime = s0.duration(to: clock.now)
                    }
                }
                timed = (primaryTime, candidateTime)
            }
            twin.reset()
            calibration = twin
        }
        calibrating = false
        recordEvidence(now: now) { e in
            // Records: canary, the rows each served; shadow, the sampled rows for both. Batches and
            // their time: timed batches only, both versions on the same rows.
            let primaryRows = isCanary ? p : c
            if let timed {
                e.recordBatch(.primary, rows: primaryRows, duration: timed.primary)
                e.recordBatch(.candidate, rows: c, duration: timed.candidate)
            } else {
                e.primary.records += primaryRows
                e.candidate.records += c
            }
        }
        candidate.reset()
        self.candidate = candidate
        primary.reset()
        return t0.duration(to: t2) + shadowTime + (timed.map { $0.primary + $0.candidate } ?? .zero)
    }

    static func evidence(_ output: PredictionOutput) -> RolloutOutput {
        RolloutOutput(label: output.label, score: Double(output.score))
    }

    /// One version's outcome for a row, as roll-out evidence: its output, or an error.
    static func record(_ outcome: Result<PredictionOutput, ScoringFailure>, of role: RolloutEvidence.Role, in evidence: inout RolloutEvidence) {
        switch outcome {
        case .success(let output): evidence.recordOutput(role, Self.evidence(output))
        case .failure: evidence.recordError(role)
        }
    }

    // MARK: Evidence

    /// Counts predictions joined with their labels in the open window, for the version that made
    /// each (canary mode; accuracy: the served class against the label's, so classifiers only).
    /// Examples of other versions (a primary replaced since, a previous candidate), of regression
    /// models, or whose label names no class of their version are not counted.
    mutating func recordLabelled(_ examples: [LabelledExample], primary: LoadedModel) {
        guard countsLabels, let record, !examples.isEmpty else { return }
        let now = Date()
        for example in examples {
            let version = example.prediction.modelVersion
            let role: RolloutEvidence.Role
            let output: OutputSchema
            if version == record.candidateVersion, let candidate {
                (role, output) = (.candidate, candidate.model.output)
            } else if version == primary.version, version == record.primaryVersion {
                (role, output) = (.primary, primary.output)
            } else {
                continue
            }
            guard let correct = example.isCorrect(for: output) else { continue }
            recordEvidence(now: now) { $0.recordLabelled(role, correct: correct) }
        }
    }

    private mutating func recordEvidence(now: Date = Date(), _ body: (inout RolloutEvidence) -> Void) {
        recorder?.record(now: now, body)
    }

    /// Hands every ended window's report to the source (after each pass over the queue).
    mutating func publishClosedEvidence() {
        guard let source, recorder != nil else { return }
        for report in recorder!.takeClosedReports(now: Date()) { source.publish(report) }
    }

    /// The pipeline stops: hands over the open window too (what this replica saw of it), so that
    /// the decider need not wait out the grace period for it. A replica that restarts within the
    /// same window replaces this report with its new one (reports are kept one per worker).
    mutating func publishOpenWindowOnStop() {
        publishClosedEvidence()
        guard let source, let open = recorder?.open else { return }
        source.publish(open)
        recorder = nil
    }

    private mutating func logOnce(_ key: String, _ message: Logger.Message, _ metadata: Logger.Metadata, level: Logger.Level = .warning) {
        guard logged.insert(key).inserted else { return }
        var metadata = metadata
        metadata["model.name"] = "\(modelName)"
        logger.log(level: level, message, metadata: metadata)
    }
}
