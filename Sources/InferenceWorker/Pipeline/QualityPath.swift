import Foundation
import InferenceCore
import Kafka
import Logging

/// Live quality on the scoring thread (docs/quality.md, "Wiring into the pipeline"): owns the
/// ``QualityTracker`` (a value for one thread) and makes the calls the pipeline owes it.
///
/// - ``serve(_:)`` when a model version starts serving: `register`;
/// - ``recordPrediction(_:requestID:message:version:processingTimeMs:)`` for each final prediction
///   (where drift observes the output);
/// - ``recordLabel(_:)`` for each record of the labels topic: decoded with ``LabelDecoder``; a bad
///   one is counted by its code and skipped (never scored, never dead-lettered);
/// - ``applyPartitionEvents(now:)`` when the loop takes records: the rebalances the consumer posted;
/// - ``tick(now:)`` once per loop iteration: publishes the reports of windows that closed (every
///   open window when the revoke hook asks for a flush before its commit), and takes a
///   labels-topic commit checkpoint (``LabelCommitGate``);
/// - ``flush(now:)`` when the loop ends.
///
/// Rebalances: the group uses the eager `range` assignor when labels are on (see
/// ``WorkerConfiguration/consumerConfiguration``), so every rebalance revokes every partition and
/// assigns them again, mostly to the same members. A revoked request partition's pending
/// predictions are therefore kept until the assignment that follows, and forgotten
/// (`revoke(partition:)`) only if that assignment does not give the partition back. A partition
/// new to this replica (a move, a restart) has its store rebuilt: the consumer thread reads its
/// predictions of the last `maxAge` back from the output topic and the ids of its labels up to the
/// labels topic's committed offset (``InferencePipeline/rebuildInputs(for:)``, unless
/// ``WorkerConfiguration/rebuildLabelStore`` is off) and posts them with the assignment;
/// ``applyPartitionEvents(now:)`` restores them (`QualityTracker.rebuild`). A read that fails
/// leaves that partition's store empty (counted in `rebuildFailures`): its labels for earlier
/// predictions then count as unknown ids.
struct QualityPath {
    private var tracker: QualityTracker
    private let decoder = LabelDecoder()
    private let shared: LiveQuality
    private let publish: (QualityReport) -> Void
    /// Marks a label record done in the ledger (flow control, draining); its offset is committed
    /// only through ``LabelCommitGate`` checkpoints.
    private let acknowledge: (InboundRecord) -> Void
    private let logger: Logger
    /// Request partitions revoked and not yet assigned back (nor forgotten).
    private var revokedPending: Set<Int32> = []
    /// Which labels-topic offsets are committable.
    private var commitGate: LabelCommitGate
    /// Writes a labelled example (key, value) to the training-examples topic; nil when none are written.
    private let publishTrainingExample: (([UInt8]?, [UInt8]) -> Void)?
    private let modelName: String
    /// Examples joined since the last ``takeJoined()``, while ``keepsJoined``.
    private var joined: [LabelledExample] = []
    /// The canary candidate monitored beside the current version (``serveCandidate(_:)``).
    private var candidateVersion: String?
    /// Whether joined examples are kept for ``takeJoined()``: while a canary's candidate serves (the
    /// roll-out's evidence counts each version's correct predictions).
    private var keepsJoined: Bool { candidateVersion != nil }

    /// - Parameters:
    ///   - publish: sends one report (to the quality topic and the dashboard).
    ///   - acknowledge: marks a label record done in the ledger.
    ///   - publishTrainingExample: writes a labelled example, when a training-examples topic is set.
    init(configuration: WorkerConfiguration, shared: LiveQuality, logger: Logger, publish: @escaping (QualityReport) -> Void,
         acknowledge: @escaping (InboundRecord) -> Void, publishTrainingExample: (([UInt8]?, [UInt8]) -> Void)? = nil) {
        tracker = QualityTracker(modelName: configuration.modelName, workerID: configuration.workerID, store: configuration.labelStore,
                                 configuration: configuration.quality)
        self.shared = shared
        self.logger = logger
        self.publish = publish
        self.acknowledge = acknowledge
        self.publishTrainingExample = configuration.trainingExamplesTopic == nil ? nil : publishTrainingExample
        modelName = configuration.modelName
        commitGate = LabelCommitGate(holdMs: configuration.labelStore.maxEarlyLabelAge.nanoseconds / 1_000_000 + 1000)
    }

    /// A model version starts serving.
    mutating func serve(_ model: LoadedModel) {
        tracker.register(version: model.version, output: model.output, now: Date())
    }

    /// A canary's candidate serves beside the current version (`model`), or stopped (nil): its
    /// predictions get quality reports of their own while it serves and as long as they can be
    /// labelled after, and joined examples are kept for the roll-out's evidence while it serves.
    /// Called by the scoring loop at each batch boundary.
    mutating func serveCandidate(_ model: LoadedModel?) {
        guard model?.version != candidateVersion else { return }
        if let candidateVersion { tracker.retire(version: candidateVersion, now: Date()) }
        if let model { tracker.monitorAlongside(version: model.version, output: model.output, now: Date()) }
        candidateVersion = model?.version
    }

    /// A final prediction (validated, about to be published).
    mutating func recordPrediction(_ output: PredictionOutput, requestID: String?, message: KafkaConsumerMessage, version: String, processingTimeMs: Int64) {
        let id = requestID ?? PredictionEncoder.derivedID(topic: message.topic, partition: message.partition.rawValue, offset: message.offset)
        let outcome = tracker.recordPrediction(
            PendingPrediction(id: id, modelVersion: version, prediction: output, predictionTimeMs: processingTimeMs, sourceOffset: message.offset.rawValue,
                              request: publishTrainingExample == nil ? nil : message.value),
            partition: message.partition.rawValue
        )
        if case .joinedEarlyLabel(let example) = outcome {
            commitGate.joinedEarly(partition: message.partition.rawValue, id: id)
            writeTrainingExample(example, key: message.key)
            if keepsJoined { joined.append(example) }
        }
    }

    /// The examples joined since the last call (none unless ``keepsJoined``).
    mutating func takeJoined() -> [LabelledExample] {
        guard !joined.isEmpty else { return [] }
        defer { joined.removeAll(keepingCapacity: true) }
        return joined
    }

    /// A record of the labels topic: joined (or counted), then acknowledged in the ledger at once
    /// (so it does not count against the in-flight bound). Its offset is committed only through
    /// ``LabelCommitGate`` checkpoints, once the reports counting it are delivered.
    mutating func recordLabel(_ record: InboundRecord) {
        let (id, held) = recordLabel(record.message)
        commitGate.handled(partition: record.message.partition.rawValue, offset: record.message.offset.rawValue, id: id, heldEarly: held,
                           nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        acknowledge(record)
    }

    /// Returns the label's id when decoded, and whether the store held it early.
    private mutating func recordLabel(_ message: KafkaConsumerMessage) -> (id: String?, heldEarly: Bool) {
        let decoded = message.withValue { bytes -> Result<LabelEvent, LabelDecodingError>? in
            guard let bytes else { return nil }
            return Result { () throws(LabelDecodingError) -> LabelEvent in try decoder.decode(bytes) }
        }
        switch decoded {
        case nil:
            shared.update {
                $0.labelsRead += 1
                $0.emptyLabels += 1
            }
            return (nil, false)
        case .failure(let error)?:
            shared.update {
                $0.labelsRead += 1
                $0.labelDecodingErrors[error.code.rawValue, default: 0] += 1
            }
            logger.debug("label event skipped", metadata: [
                "kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition.rawValue)", "kafka.offset": "\(message.offset.rawValue)",
                "error.code": "\(error.code)", "error": "\(error.message)",
            ])
            return (nil, false)
        case .success(let label)?:
            // The label's time is its record's timestamp (when the truth was produced), else now.
            let labelTimeMs = message.timestamp?.milliseconds ?? Int64(Date().timeIntervalSince1970 * 1000)
            let outcome = tracker.recordLabel(label, partition: message.partition.rawValue, labelTimeMs: labelTimeMs)
            shared.update { $0.labelsRead += 1 }
            if case .joined(let example) = outcome {
                writeTrainingExample(example, key: message.key)
                if keepsJoined { joined.append(example) }
            }
            return (label.id, outcome == .heldEarly)
        }
    }

    /// Closes due windows (all of them when the revoke hook asks) and publishes their reports, then
    /// takes a commit checkpoint if no open window holds a label. Once per loop iteration, after
    /// its records (the iteration applied the posted rebalances before them, with
    /// ``applyPartitionEvents(now:)``; one posted since is applied before the next records).
    mutating func tick(now: Date) {
        let flush = shared.takeFlushRequest()
        emit(flush == nil ? tracker.tick(now: now) : tracker.flush(now: now))
        commitGate.expire(nowMs: Int64(now.timeIntervalSince1970 * 1000))
        if tracker.labelsInOpenWindows == 0 { shared.addCheckpoint(commitGate.checkpoint()) }
        if let flush { shared.flushCompleted(flush) }
    }

    /// Closes every open window (shutdown) and publishes the reports.
    mutating func flush(now: Date) {
        applyPartitionEvents(now: now)
        emit(tracker.flush(now: now))
        shared.addCheckpoint(commitGate.checkpoint())
    }

    private func writeTrainingExample(_ example: LabelledExample, key: [UInt8]?) {
        guard let publishTrainingExample else { return }
        publishTrainingExample(key, Self.trainingExample(example, modelName: modelName))
    }

    /// One labelled example as JSON: `id`, `model` (`name`, `version`), `prediction` (`score`, and
    /// `predicted_positive` for a binary model; `probabilities` in label order and
    /// `predicted_index` for a multiclass one), `label` as sent, `prediction_time`, `label_time`
    /// (ms since the epoch) and `request`, the request's value as received (a JSON object; `null`
    /// for a prediction restored by a rebuild, whose request is not kept in the output topic).
    static func trainingExample(_ example: LabelledExample, modelName: String) -> [UInt8] {
        let prediction: [String: Any] = switch example.prediction.output {
        case .regression(let score): ["score": Double(score)]
        case .binary(let score, let positive): ["score": Double(score), "predicted_positive": positive]
        case .multiclass(let probabilities, let index): ["probabilities": probabilities.map(Double.init), "predicted_index": index]
        }
        let label: Any = switch example.label {
        case .text(let text): text
        case .number(let number): number
        case .bool(let flag): flag
        }
        let object: [String: Any] = [
            "id": example.id, "model": ["name": modelName, "version": example.prediction.modelVersion],
            "prediction": prediction, "label": label,
            "prediction_time": example.predictionTimeMs, "label_time": example.labelTimeMs,
        ]
        // The request is spliced in as received (it is valid JSON: it was scored).
        guard var bytes = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).map({ $0 }), bytes.last == UInt8(ascii: "}") else { return [] }
        bytes.removeLast()
        bytes += Array(#","request":"#.utf8) + (example.prediction.request ?? Array("null".utf8)) + [UInt8(ascii: "}")]
        return bytes
    }

    /// Applies the rebalances the consumer posted. Called as soon as the scoring thread takes
    /// records: an assignment's event is posted before its first record is queued, so a rebuilt
    /// store is in place before that partition's new predictions and labels reach it.
    mutating func applyPartitionEvents(now: Date) {
        for event in shared.takeEvents() {
            switch event {
            case .revoked(let requests, let labels):
                // The revoke hook had the windows flushed and committed the labels' checkpoint
                // (a loss commits nothing): the next reads of these labels partitions start there.
                revokedPending.formUnion(requests)
                for partition in labels { commitGate.forget(partition: partition) }
            case .assigned(let partitions, let rebuild):
                revokedPending.subtract(partitions)
                for partition in revokedPending.sorted() { tracker.revoke(partition: partition) }
                revokedPending = []
                for (partition, input) in rebuild.sorted(by: { $0.key < $1.key }) {
                    tracker.revoke(partition: partition)
                    let summary = tracker.rebuild(partition: partition, predictions: input.predictions, settledIDs: input.settledIDs, now: now)
                    shared.update {
                        $0.rebuiltPartitions += 1
                        $0.restoredPredictions += summary.restored
                    }
                    logger.info("join store rebuilt", metadata: [
                        "kafka.partition": "\(partition)", "quality.restored": "\(summary.restored)", "quality.settled": "\(summary.alreadySettled)",
                        "quality.too_old": "\(summary.tooOld)",
                    ])
                }
            }
        }
    }

    private mutating func emit(_ reports: [QualityReport]) {
        for report in reports { publish(report) }
        let statistics = tracker.statistics
        let unmonitored = tracker.unmonitoredExamples
        let pending = tracker.pendingCount
        let versions = Set(tracker.monitoredVersions)
        shared.update { snapshot in
            snapshot.store = statistics
            snapshot.unmonitoredExamples = unmonitored
            snapshot.pendingPredictions = pending
            for report in reports { snapshot.latest[report.modelVersion] = report }
            for version in snapshot.latest.keys where !versions.contains(version) { snapshot.latest.removeValue(forKey: version) }
        }
    }
}
