public import CoreMetrics
public import InferenceCore
import Synchronization

/// The roll-out metrics of one replica (names and labels in docs/rollouts.md, "Metrics"), fed once
/// per closed evidence window rather than per row: the counters grow by each window's totals, so
/// the scoring path pays nothing per record for them.
///
/// Labels are bounded: `model` is the served model, `version` one of the two versions of a roll-out
/// and `role` `primary` or `candidate`; `action` one of the decision actions. Series of a roll-out
/// are removed when a new roll-out of the model starts or its record disappears (``follow(_:model:)``).
public final class RolloutMetrics: Sendable {
    /// Metric names, each starting with ``prefix``.
    public enum Name {
        /// The prefix every worker metric has.
        public static let prefix = "inference_worker_"
        /// `rollout_info{model,rollout_id,mode,state}`: 1 for the roll-out followed.
        public static let info = prefix + "rollout_info"
        /// `rollout_fraction{model}`: the mode's fraction.
        public static let fraction = prefix + "rollout_fraction"
        /// `rollout_records_total{model,version,role}`: rows scored in the roll-out.
        public static let records = prefix + "rollout_records_total"
        /// `rollout_errors_total{model,version,role}`: rows the version failed to score.
        public static let errors = prefix + "rollout_errors_total"
        /// `rollout_dead_letters_total{model,version,role}`: dead letters caused by the version.
        public static let deadLetters = prefix + "rollout_dead_letters_total"
        /// `rollout_batches_total{model,version,role}`: batches scored.
        public static let batches = prefix + "rollout_batches_total"
        /// `rollout_batch_seconds_total{model,version,role}`: their model time.
        public static let batchSeconds = prefix + "rollout_batch_seconds_total"
        /// `rollout_label_comparisons_total{model,version}`: shadowed rows both versions labelled.
        public static let labelComparisons = prefix + "rollout_label_comparisons_total"
        /// `rollout_label_agreements_total{model,version}`: of those, rows whose labels agree.
        public static let labelAgreements = prefix + "rollout_label_agreements_total"
        /// `rollout_score_difference{model,version}`: the last window's score-difference quantile.
        public static let scoreDifference = prefix + "rollout_score_difference"
        /// `rollout_evidence_reports_total{model}`: reports published by this replica.
        public static let reports = prefix + "rollout_evidence_reports_total"
        /// `rollout_decisions_total{model,action}`: decisions written by this replica as decider.
        public static let decisions = prefix + "rollout_decisions_total"
        /// `rollout_decider`: 1 while this replica is the decider.
        public static let decider = prefix + "rollout_decider"
    }

    private struct Key: Hashable {
        var name: String
        var dimensions: [String]
    }

    private struct Series {
        var counters: [Key: CoreMetrics.Counter] = [:]
        var seconds: [Key: FloatingPointCounter] = [:]
        var gauges: [Key: CoreMetrics.Gauge] = [:]
        /// The roll-out each model's series belong to.
        var rollouts: [String: String] = [:]
    }

    private let factory: any MetricsFactory
    private let series = Mutex(Series())
    private let decider: CoreMetrics.Gauge

    /// Creates the metrics over `factory` (the worker's: `WorkerMetrics.factory`).
    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.decider = CoreMetrics.Gauge(label: Name.decider, factory: factory)
        decider.record(0)
    }

    /// The roll-out `record` of `model` as this replica follows it now (`nil`: none). A new roll-out
    /// replaces the previous one's series.
    public func follow(_ record: RolloutRecord?, model: String) {
        let stale: [() -> Void] = series.withLock { s in
            var stale: [() -> Void] = []
            if s.rollouts[model] != record?.rolloutID {
                for (key, counter) in s.counters where key.dimensions.first == model {
                    s.counters[key] = nil; stale.append { counter.destroy() }
                }
                for (key, counter) in s.seconds where key.dimensions.first == model {
                    s.seconds[key] = nil; stale.append { counter.destroy() }
                }
                for (key, gauge) in s.gauges where key.dimensions.first == model {
                    s.gauges[key] = nil; stale.append { gauge.destroy() }
                }
                s.rollouts[model] = record?.rolloutID
            }
            return stale
        }
        for destroy in stale { destroy() }
        guard let record else { return }
        // One info series per model: the state is a label, so the previous state's series goes.
        for state in RolloutRecord.State.allCases where state != record.state {
            series.withLock { s in
                s.gauges.removeValue(forKey: Key(name: Name.info, dimensions: [model, record.rolloutID, record.mode.kind.rawValue, state.rawValue]))
            }?.destroy()
        }
        gauge(Name.info, ["model": model, "rollout_id": record.rolloutID, "mode": record.mode.kind.rawValue, "state": record.state.rawValue])
            .record(1)
        gauge(Name.fraction, ["model": model]).record(record.mode.fraction)
    }

    /// Adds one closed window's evidence of this replica; `scoreDifferenceQuantile` is the record's
    /// threshold quantile (the gauge shows this replica's last window at that level).
    public func record(_ report: RolloutEvidence, scoreDifferenceQuantile: Double = 0.95) {
        let model = report.modelName
        for (role, version, evidence) in [(RolloutEvidence.Role.primary, report.primaryVersion, report.primary),
                                          (.candidate, report.candidateVersion, report.candidate)] {
            let labels: KeyValuePairs<String, String> = ["model": model, "version": version, "role": role.rawValue]
            add(Name.records, labels, evidence.records)
            add(Name.errors, labels, evidence.errors)
            add(Name.deadLetters, labels, evidence.deadLetters)
            add(Name.batches, labels, evidence.batches)
            if evidence.batchMicroseconds > 0 {
                secondsCounter(Name.batchSeconds, labels).increment(by: Double(evidence.batchMicroseconds) / 1_000_000)
            }
        }
        let candidate: KeyValuePairs<String, String> = ["model": model, "version": report.candidateVersion]
        add(Name.labelComparisons, candidate, report.labelComparisons)
        add(Name.labelAgreements, candidate, report.labelAgreements)
        if let difference = report.scoreDifference.quantile(scoreDifferenceQuantile) {
            gauge(Name.scoreDifference, candidate).record(difference)
        }
        add(Name.reports, ["model": model], 1)
    }

    /// Counts a decision this replica wrote as decider.
    public func recordDecision(_ decision: RolloutDecision, model: String) {
        add(Name.decisions, ["model": model, "action": decision.action.rawValue], 1)
    }

    /// Whether this replica is the decider now.
    public func setDecider(_ isDecider: Bool) { decider.record(isDecider ? 1 : 0) }

    // MARK: Series

    private func add(_ name: String, _ labels: KeyValuePairs<String, String>, _ delta: Int) {
        let counter = series.withLock { s -> CoreMetrics.Counter in
            let key = Key(name: name, dimensions: labels.map(\.value))
            if let existing = s.counters[key] { return existing }
            let made = CoreMetrics.Counter(label: name, dimensions: labels.map { ($0.key, $0.value) }, factory: factory)
            s.counters[key] = made
            return made
        }
        // Created even at zero, so that a version without failures shows a 0 series.
        if delta > 0 { counter.increment(by: delta) }
    }

    private func secondsCounter(_ name: String, _ labels: KeyValuePairs<String, String>) -> FloatingPointCounter {
        series.withLock { s in
            let key = Key(name: name, dimensions: labels.map(\.value))
            if let existing = s.seconds[key] { return existing }
            let made = FloatingPointCounter(label: name, dimensions: labels.map { ($0.key, $0.value) }, factory: factory)
            s.seconds[key] = made
            return made
        }
    }

    private func gauge(_ name: String, _ labels: KeyValuePairs<String, String>) -> CoreMetrics.Gauge {
        series.withLock { s in
            let key = Key(name: name, dimensions: labels.map(\.value))
            if let existing = s.gauges[key] { return existing }
            let made = CoreMetrics.Gauge(label: name, dimensions: labels.map { ($0.key, $0.value) }, factory: factory)
            s.gauges[key] = made
            return made
        }
    }
}
