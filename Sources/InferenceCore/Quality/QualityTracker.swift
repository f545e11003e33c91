public import Foundation

/// Live quality of one model across its versions: the join store plus one ``QualityMonitor`` per
/// version, behind the few calls the pipeline makes. A value type owned by one thread.
///
/// - ``register(version:output:now:)`` when a version starts serving (the previous one keeps its
///   monitor while its predictions can still be labelled: ``PendingPredictions/Configuration/maxAge``);
/// - ``recordPrediction(_:partition:)`` for each valid prediction;
/// - ``recordLabel(_:partition:labelTimeMs:)`` for each decoded label;
/// - ``tick(now:)`` once per loop iteration: expires old predictions, closes due windows, retires
///   versions; publish the reports it returns;
/// - ``revoke(partition:)`` / ``rebuild(partition:predictions:settledIDs:now:)`` on rebalances;
/// - ``flush(now:)`` at shutdown.
///
/// Every outcome is counted: the store's in ``statistics``, examples of a version without a monitor
/// (say, rebuilt predictions of a version retired since) in ``unmonitoredExamples``.
public struct QualityTracker: Sendable {
    /// The model's name.
    public let modelName: String
    /// This replica.
    public let workerID: String
    /// Window settings of every version's monitor.
    public let configuration: QualityConfiguration

    private var store: PendingPredictions
    private var monitors: [String: QualityMonitor] = [:]
    /// Versions replaced, and when: retired `maxAge` later.
    private var replacedAtMs: [String: Int64] = [:]
    private var current: String?
    /// Labelled examples, or predictions, of a version that has no monitor.
    public private(set) var unmonitoredExamples = 0

    /// Creates a tracker.
    ///
    /// - Parameters:
    ///   - modelName: the model's name.
    ///   - workerID: this replica.
    ///   - store: the join store's bounds.
    ///   - configuration: the monitors' windows.
    public init(modelName: String, workerID: String, store: PendingPredictions.Configuration = .init(),
                configuration: QualityConfiguration = QualityConfiguration()) {
        self.modelName = modelName
        self.workerID = workerID
        self.configuration = configuration
        self.store = PendingPredictions(configuration: store)
    }

    /// The join store's counts.
    public var statistics: PendingPredictions.Statistics { store.statistics }
    /// Versions with a monitor.
    public var monitoredVersions: [String] { monitors.keys.sorted() }
    /// Predictions waiting for a label.
    public var pendingCount: Int { store.pendingCount }
    /// Labels scored or rejected in the monitors' open windows, so in no report yet: while it is
    /// above 0 the labels read so far cannot all be committed (docs/quality.md, labels-topic offsets).
    public var labelsInOpenWindows: Int { monitors.values.reduce(0) { $0 + $1.labelsInOpenWindow } }

    /// Starts monitoring `version` (idempotent) and marks the previously current version as replaced.
    public mutating func register(version: String, output: OutputSchema, now: Date) {
        if let current, current != version, monitors[current] != nil { replacedAtMs[current] = DriftMonitor.milliseconds(now) }
        replacedAtMs.removeValue(forKey: version)
        current = version
        if monitors[version] == nil {
            monitors[version] = QualityMonitor(modelName: modelName, modelVersion: version, output: output, configuration: configuration,
                                               workerID: workerID, now: now)
        }
    }

    /// Starts monitoring `version` beside the current one (a canary's candidate, which serves some
    /// keys while the current version serves the rest), without replacing the current version.
    /// Idempotent; ``retire(version:now:)`` ends it, ``register(version:output:now:)`` makes it current.
    public mutating func monitorAlongside(version: String, output: OutputSchema, now: Date) {
        replacedAtMs.removeValue(forKey: version)
        if monitors[version] == nil {
            monitors[version] = QualityMonitor(modelName: modelName, modelVersion: version, output: output, configuration: configuration,
                                               workerID: workerID, now: now)
        }
    }

    /// A version monitored beside the current one stopped serving (a candidate rolled back or
    /// aborted): like a replaced version, its monitor stays while its predictions can still be
    /// labelled (``PendingPredictions/Configuration/maxAge``), then reports a last time and goes.
    /// Nothing happens for the current version (a promoted candidate) or one retired already.
    public mutating func retire(version: String, now: Date) {
        guard version != current, monitors[version] != nil, replacedAtMs[version] == nil else { return }
        replacedAtMs[version] = DriftMonitor.milliseconds(now)
    }

    /// Puts a prediction in the join store.
    ///
    /// - Returns: what became of it (a label that came first is scored at once).
    @discardableResult
    public mutating func recordPrediction(_ prediction: PendingPrediction, partition: Int32) -> PendingPredictions.InsertOutcome {
        let (outcome, evicted) = store.insert(prediction, partition: partition)
        switch outcome {
        case .stored:
            if monitors[prediction.modelVersion] != nil { monitors[prediction.modelVersion]!.countPrediction() } else { unmonitoredExamples += 1 }
        case .joinedEarlyLabel(let example):
            if monitors[prediction.modelVersion] != nil { monitors[prediction.modelVersion]!.countPrediction() }
            score(example)
        case .duplicate:
            break
        }
        countUnlabelled(evicted)
        return outcome
    }

    /// Joins a label with its prediction and scores the example.
    ///
    /// - Returns: what became of the label.
    @discardableResult
    public mutating func recordLabel(_ label: LabelEvent, partition: Int32, labelTimeMs: Int64) -> PendingPredictions.JoinOutcome {
        let outcome = store.join(label, partition: partition, labelTimeMs: labelTimeMs)
        if case .joined(let example) = outcome { score(example) }
        return outcome
    }

    /// Expires predictions, closes due windows and retires replaced versions whose predictions can no
    /// longer be labelled (their last report is flushed).
    ///
    /// - Returns: the reports to publish, oldest window first.
    public mutating func tick(now: Date) -> [QualityReport] {
        let nowMs = DriftMonitor.milliseconds(now)
        countUnlabelled(store.expire(nowMs: nowMs))
        var reports: [QualityReport] = []
        for version in monitors.keys.sorted() {
            if let report = monitors[version]!.takeReportIfDue(now: now) { reports.append(report) }
        }
        let maxAgeMs = PendingPredictions.milliseconds(store.configuration.maxAge)
        for (version, replaced) in replacedAtMs where nowMs - replaced > maxAgeMs {
            if let report = monitors[version]?.flush(now: now) { reports.append(report) }
            monitors.removeValue(forKey: version)
            replacedAtMs.removeValue(forKey: version)
        }
        return reports.sorted { ($0.windowEndMs, $0.modelVersion) < ($1.windowEndMs, $1.modelVersion) }
    }

    /// Closes every monitor's open window (shutdown, revocation before a commit).
    public mutating func flush(now: Date) -> [QualityReport] {
        monitors.keys.sorted().compactMap { monitors[$0]!.flush(now: now) }
    }

    /// Forgets a partition taken away by a rebalance.
    @discardableResult
    public mutating func revoke(partition: Int32) -> Int { store.revoke(partition: partition) }

    /// Rebuilds a newly assigned partition; see ``PendingPredictions/rebuild(partition:predictions:settledIDs:nowMs:)``.
    public mutating func rebuild(partition: Int32, predictions: some Sequence<PendingPrediction>, settledIDs: some Sequence<String>,
                                 now: Date) -> PendingPredictions.RebuildSummary {
        store.rebuild(partition: partition, predictions: predictions, settledIDs: settledIDs, nowMs: DriftMonitor.milliseconds(now))
    }

    private mutating func score(_ example: LabelledExample) {
        let version = example.prediction.modelVersion
        if monitors[version] != nil { monitors[version]!.observe(example) } else { unmonitoredExamples += 1 }
    }

    private mutating func countUnlabelled(_ evicted: [PendingPredictions.Eviction]) {
        for eviction in evicted {
            let version = eviction.prediction.modelVersion
            if monitors[version] != nil { monitors[version]!.countUnlabelled() } else { unmonitoredExamples += 1 }
        }
    }
}
