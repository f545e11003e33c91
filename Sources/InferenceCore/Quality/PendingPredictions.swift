/// The join store of live quality: predictions waiting for their ground truth, per input partition,
/// keyed by request id, bounded by count, bytes and age; labels join them into ``LabelledExample``s.
///
/// A value type owned by one thread (no locks), like the other state machines of the core. Every call
/// returns what happened as a value, and ``statistics`` counts every outcome by kind (for metrics):
///
/// | Situation | Outcome |
/// |---|---|
/// | label after its prediction | ``JoinOutcome/joined(_:)`` |
/// | labels in any order among themselves | each joins its own prediction |
/// | a second label for an id already joined | ``JoinOutcome/duplicateLabel`` (remembered for ``Configuration/rememberedSettledIDs`` ids) |
/// | label for a prediction evicted unlabelled | ``JoinOutcome/lateLabel(evictedBy:)`` |
/// | label before its prediction | ``JoinOutcome/heldEarly`` (up to ``Configuration/maxEarlyLabels`` per partition, for ``Configuration/maxEarlyLabelAge``); the prediction then joins it on arrival (``InsertOutcome/joinedEarlyLabel(_:)``) |
/// | label whose prediction never comes | counted in ``Statistics/unknownIDs`` when its hold expires (at once when holding is off) |
/// | early labels beyond the hold | the oldest is dropped, ``Statistics/earlyLabelsDropped`` |
/// | the same prediction twice (a re-processed request) | ``InsertOutcome/duplicate``: the first is kept |
/// | the store over its count or bytes bound | the oldest predictions are evicted, returned and counted by cause |
///
/// Evicted predictions are returned to the caller so that it can count them as unlabelled for their
/// version (``QualityMonitor/countUnlabelled(_:)``). How the store survives a rebalance or a restart
/// (``rebuild(partition:predictions:settledIDs:nowMs:)``) is described in docs/quality.md.
///
/// Age eviction is first-in-first-out: it is exact when prediction times do not decrease within a
/// partition (predictions of a partition are made in offset order).
public struct PendingPredictions: Sendable {
    /// Bounds of the store, each per partition.
    public struct Configuration: Sendable, Hashable {
        /// Predictions kept per partition; beyond it the oldest is evicted (cause `count`). Default 100,000.
        public var maxPredictions: Int
        /// Bytes charged (``PendingPrediction/estimatedBytes``) per partition; beyond it the oldest are
        /// evicted (cause `bytes`). Default 32 MiB.
        public var maxBytes: Int
        /// A prediction older than this (by its prediction time) is evicted unlabelled (cause `age`):
        /// the longest label delay the worker waits for. Default 1 hour.
        public var maxAge: Duration
        /// Labels arriving before their prediction held per partition; 0 counts them at once as unknown
        /// ids. Default 1,000.
        public var maxEarlyLabels: Int
        /// How long an early label waits for its prediction. Default 60 s.
        public var maxEarlyLabelAge: Duration
        /// Ids of settled predictions (joined, or evicted) remembered per partition, to tell duplicate
        /// and late labels (and re-processed predictions) from unknown ids. Default 100,000.
        public var rememberedSettledIDs: Int

        /// Creates a configuration; every parameter has the default documented on its property.
        public init(maxPredictions: Int = 100_000, maxBytes: Int = 32 << 20, maxAge: Duration = .seconds(3600),
                    maxEarlyLabels: Int = 1000, maxEarlyLabelAge: Duration = .seconds(60), rememberedSettledIDs: Int = 100_000) {
            self.maxPredictions = maxPredictions
            self.maxBytes = maxBytes
            self.maxAge = maxAge
            self.maxEarlyLabels = maxEarlyLabels
            self.maxEarlyLabelAge = maxEarlyLabelAge
            self.rememberedSettledIDs = rememberedSettledIDs
        }

        /// Rejects nonsense with a message saying what to change.
        public func validate() throws(ConfigurationValidationError) {
            func fail(_ message: String) -> ConfigurationValidationError { ConfigurationValidationError(message: "quality.store.\(message)") }
            if maxPredictions < 1 { throw fail("maxPredictions must be at least 1, got \(maxPredictions)") }
            if maxBytes < 1024 { throw fail("maxBytes must be at least 1024, got \(maxBytes)") }
            if maxAge <= .zero { throw fail("maxAge must be positive, got \(maxAge)") }
            if maxEarlyLabels < 0 { throw fail("maxEarlyLabels must not be negative, got \(maxEarlyLabels)") }
            if maxEarlyLabelAge < .zero { throw fail("maxEarlyLabelAge must not be negative, got \(maxEarlyLabelAge)") }
            if rememberedSettledIDs < 0 { throw fail("rememberedSettledIDs must not be negative, got \(rememberedSettledIDs)") }
        }
    }

    /// Why a prediction left the store without a label.
    public enum EvictionCause: String, Sendable, Hashable, CaseIterable {
        /// The partition held ``Configuration/maxPredictions``.
        case count
        /// The partition held ``Configuration/maxBytes``.
        case bytes
        /// Older than ``Configuration/maxAge``.
        case age
    }

    /// A prediction that left the store unlabelled.
    public struct Eviction: Sendable, Hashable {
        /// The prediction.
        public var prediction: PendingPrediction
        /// Why.
        public var cause: EvictionCause
    }

    /// What became of a prediction put in the store.
    public enum InsertOutcome: Sendable, Hashable {
        /// Stored; waits for its label.
        case stored
        /// Its label had arrived first and was waiting: joined at once (not stored).
        case joinedEarlyLabel(LabelledExample)
        /// The id is already pending or was settled recently (a re-processed request): ignored, the
        /// first prediction stands.
        case duplicate
    }

    /// What became of a label.
    public enum JoinOutcome: Sendable, Hashable {
        /// Joined with its prediction, which leaves the store.
        case joined(LabelledExample)
        /// Its prediction was already joined with an earlier label.
        case duplicateLabel
        /// Its prediction was evicted unlabelled before the label came.
        case lateLabel(evictedBy: EvictionCause)
        /// No prediction yet: held until it arrives or the hold expires.
        case heldEarly
        /// No prediction known and early labels are not held (``Configuration/maxEarlyLabels`` 0), or
        /// this label's id is already held early.
        case unknownID
    }

    /// Cumulative counts of every outcome since the store was created.
    public struct Statistics: Sendable, Hashable {
        /// Predictions stored to wait for a label.
        public var stored = 0
        /// Predictions ignored because their id was pending or settled already.
        public var duplicatePredictions = 0
        /// Labels joined with their prediction (including ``joinedEarly``).
        public var joined = 0
        /// Of ``joined``: labels that had arrived before their prediction.
        public var joinedEarly = 0
        /// Labels for an id already joined.
        public var duplicateLabels = 0
        /// Labels for a prediction evicted unlabelled.
        public var lateLabels = 0
        /// Labels held because their prediction had not arrived.
        public var heldEarly = 0
        /// Labels whose prediction never came: their hold expired, or holding is off.
        public var unknownIDs = 0
        /// Early labels dropped because the hold was full.
        public var earlyLabelsDropped = 0
        /// Predictions evicted unlabelled, by cause.
        public var evicted: [EvictionCause: Int] = [:]
        /// Predictions dropped with a revoked or lost partition (another replica takes them over).
        public var revoked = 0

        /// All zero.
        public init() {}
    }

    private enum Settlement: Sendable { case joined, evicted(EvictionCause) }
    private struct EarlyLabel: Sendable { var label: LabelEvent; var timeMs: Int64 }

    private struct Partition: Sendable {
        var pending = KeyedFIFO<PendingPrediction>()
        var bytes = 0
        var early = KeyedFIFO<EarlyLabel>()
        var settled = KeyedFIFO<Settlement>()
    }

    /// The bounds.
    public let configuration: Configuration
    /// Every outcome so far, counted.
    public private(set) var statistics = Statistics()
    private var partitions: [Int32: Partition] = [:]
    private let maxAgeMs: Int64
    private let maxEarlyAgeMs: Int64

    /// Creates an empty store.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        maxAgeMs = Self.milliseconds(configuration.maxAge)
        maxEarlyAgeMs = Self.milliseconds(configuration.maxEarlyLabelAge)
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
    }

    /// Predictions waiting in `partition`.
    public func pendingCount(partition: Int32) -> Int { partitions[partition]?.pending.count ?? 0 }
    /// Bytes charged in `partition`.
    public func pendingBytes(partition: Int32) -> Int { partitions[partition]?.bytes ?? 0 }
    /// Early labels held in `partition`.
    public func earlyLabelCount(partition: Int32) -> Int { partitions[partition]?.early.count ?? 0 }
    /// Predictions waiting in every partition.
    public var pendingCount: Int { partitions.values.reduce(0) { $0 + $1.pending.count } }
    /// The pending predictions of `partition`, oldest first (diagnostics, tests).
    public func pending(partition: Int32) -> [PendingPrediction] { partitions[partition]?.pending.values ?? [] }

    /// Puts a prediction in the store (or joins the label that came before it), evicting the oldest
    /// predictions of the partition while it is over its count or bytes bound.
    ///
    /// - Parameters:
    ///   - prediction: the prediction, as served.
    ///   - partition: the request's partition (= the label's, the topics being co-partitioned).
    /// - Returns: what became of it, and the predictions evicted to make room.
    public mutating func insert(_ prediction: PendingPrediction, partition: Int32) -> (outcome: InsertOutcome, evicted: [Eviction]) {
        var part = partitions[partition] ?? Partition()
        defer { partitions[partition] = part }
        let id = prediction.id
        if part.pending.contains(id) || part.settled.contains(id) {
            statistics.duplicatePredictions += 1
            return (.duplicate, [])
        }
        if let early = part.early.remove(id) {
            statistics.joined += 1
            statistics.joinedEarly += 1
            settle(&part, id, .joined)
            return (.joinedEarlyLabel(LabelledExample(prediction: prediction, label: early.label.value, labelTimeMs: early.timeMs)), [])
        }
        part.pending.append(id, prediction)
        part.bytes += prediction.estimatedBytes
        statistics.stored += 1
        var evicted: [Eviction] = []
        while part.pending.count > configuration.maxPredictions || (part.bytes > configuration.maxBytes && part.pending.count > 1) {
            let cause: EvictionCause = part.pending.count > configuration.maxPredictions ? .count : .bytes
            guard let oldest = part.pending.removeOldest() else { break }
            evicted.append(evict(&part, oldest.value, cause))
        }
        return (.stored, evicted)
    }

    /// Joins a label with its prediction.
    ///
    /// - Parameters:
    ///   - label: the decoded label event.
    ///   - partition: the label record's partition.
    ///   - labelTimeMs: when the label arrived (its record timestamp), ms since the epoch.
    /// - Returns: what became of it.
    public mutating func join(_ label: LabelEvent, partition: Int32, labelTimeMs: Int64) -> JoinOutcome {
        var part = partitions[partition] ?? Partition()
        defer { partitions[partition] = part }
        let id = label.id
        if let prediction = part.pending.remove(id) {
            part.bytes -= prediction.estimatedBytes
            settle(&part, id, .joined)
            statistics.joined += 1
            return .joined(LabelledExample(prediction: prediction, label: label.value, labelTimeMs: labelTimeMs))
        }
        switch part.settled.value(for: id) {
        case .joined?:
            statistics.duplicateLabels += 1
            return .duplicateLabel
        case .evicted(let cause)?:
            statistics.lateLabels += 1
            return .lateLabel(evictedBy: cause)
        case nil:
            break
        }
        guard configuration.maxEarlyLabels > 0, !part.early.contains(id) else {
            statistics.unknownIDs += 1
            return .unknownID
        }
        if part.early.count >= configuration.maxEarlyLabels {
            part.early.removeOldest()
            statistics.earlyLabelsDropped += 1
        }
        part.early.append(id, EarlyLabel(label: label, timeMs: labelTimeMs))
        statistics.heldEarly += 1
        return .heldEarly
    }

    /// Evicts predictions older than ``Configuration/maxAge`` and expires early labels held longer
    /// than ``Configuration/maxEarlyLabelAge`` (counted as unknown ids). Call once per loop iteration.
    ///
    /// - Parameter nowMs: the current time, ms since the epoch (an injected clock in tests).
    /// - Returns: the predictions evicted.
    public mutating func expire(nowMs: Int64) -> [Eviction] {
        var evicted: [Eviction] = []
        for key in partitions.keys {
            var part = partitions[key]!
            while let oldest = part.pending.oldest, nowMs - oldest.value.predictionTimeMs > maxAgeMs {
                part.pending.removeOldest()
                evicted.append(evict(&part, oldest.value, .age))
            }
            while let oldest = part.early.oldest, nowMs - oldest.value.timeMs > maxEarlyAgeMs {
                part.early.removeOldest()
                statistics.unknownIDs += 1
            }
            partitions[key] = part
        }
        return evicted
    }

    /// Forgets a partition taken away by a rebalance (or lost): its new owner rebuilds it. Nothing
    /// is counted as unlabelled.
    ///
    /// - Returns: the number of predictions dropped.
    @discardableResult
    public mutating func revoke(partition: Int32) -> Int {
        let dropped = partitions.removeValue(forKey: partition)?.pending.count ?? 0
        statistics.revoked += dropped
        return dropped
    }

    /// What a rebuild restored.
    public struct RebuildSummary: Sendable, Hashable {
        /// Predictions now pending.
        public var restored = 0
        /// Predictions skipped as already settled (their label was committed before the restart).
        public var alreadySettled = 0
        /// Predictions skipped as older than ``Configuration/maxAge``.
        public var tooOld = 0
        /// Predictions skipped as duplicates (the same id written twice).
        public var duplicates = 0
        /// Predictions evicted by the count or bytes bounds while restoring.
        public var evicted = 0
    }

    /// Rebuilds a partition newly assigned to this replica, replacing whatever it held.
    ///
    /// `predictions` are this partition's predictions from the output topic, in the order they were
    /// written, from `nowMs − maxAge` on (see docs/quality.md); `settledIDs` are the ids of the labels
    /// of this partition up to the labels topic's committed offset, whose examples were already
    /// counted in published reports. The result is the store the previous owner had at its last
    /// commit, minus what has aged out since. Nothing is counted in the monitors: restored
    /// predictions were counted when first made.
    ///
    /// - Returns: what was restored and skipped.
    public mutating func rebuild(partition: Int32, predictions: some Sequence<PendingPrediction>, settledIDs: some Sequence<String>,
                                 nowMs: Int64) -> RebuildSummary {
        var part = Partition()
        var summary = RebuildSummary()
        for id in settledIDs where !part.settled.contains(id) { settle(&part, id, .joined) }
        for prediction in predictions {
            if nowMs - prediction.predictionTimeMs > maxAgeMs { summary.tooOld += 1; continue }
            if part.settled.contains(prediction.id) { summary.alreadySettled += 1; continue }
            if part.pending.contains(prediction.id) { summary.duplicates += 1; continue }
            part.pending.append(prediction.id, prediction)
            part.bytes += prediction.estimatedBytes
            while part.pending.count > configuration.maxPredictions || (part.bytes > configuration.maxBytes && part.pending.count > 1) {
                guard let oldest = part.pending.removeOldest() else { break }
                part.bytes -= oldest.value.estimatedBytes
                summary.evicted += 1
            }
        }
        summary.restored = part.pending.count
        partitions[partition] = part
        return summary
    }

    private mutating func evict(_ part: inout Partition, _ prediction: PendingPrediction, _ cause: EvictionCause) -> Eviction {
        part.bytes -= prediction.estimatedBytes
        settle(&part, prediction.id, .evicted(cause))
        statistics.evicted[cause, default: 0] += 1
        return Eviction(prediction: prediction, cause: cause)
    }

    private func settle(_ part: inout Partition, _ id: String, _ settlement: Settlement) {
        guard configuration.rememberedSettledIDs > 0 else { return }
        part.settled.remove(id)
        part.settled.append(id, settlement)
        while part.settled.count > configuration.rememberedSettledIDs { part.settled.removeOldest() }
    }
}
