import CoreMetrics
import InferenceCore
import Synchronization

/// Live quality on `/metrics` (docs/quality.md, "Metrics"; docs/operations.md lists the series).
///
/// The quality path keeps cumulative counts (``LiveQuality/Snapshot``); each scrape adds what grew
/// since the previous one to Prometheus counters, and sets one gauge per monitored model version
/// and metric from that version's latest report. Labels are bounded: `code` by the decoder's codes,
/// `outcome` and `cause` by the store's outcomes, `version` by the versions with a monitor (series
/// of retired versions are removed), `metric` by the fixed list below.
extension WorkerMetrics {
    /// Metric names of live quality.
    public enum QualityName {
        public static let labels = "inference_worker_quality_labels_total"
        public static let labelErrors = "inference_worker_quality_label_errors_total"
        public static let join = "inference_worker_quality_join_total"
        public static let evictions = "inference_worker_quality_evictions_total"
        public static let reports = "inference_worker_quality_reports_total"
        public static let rebuild = "inference_worker_quality_rebuild_total"
        public static let trainingExamples = "inference_worker_quality_training_examples_total"
        public static let pending = "inference_worker_quality_pending_predictions"
        public static let metric = "inference_worker_quality"
    }

    /// Counters, the last totals exported, and the per-version gauges.
    struct QualitySeries: ~Copyable {
        var counters: [String: (counter: CoreMetrics.Counter, exported: Int)] = [:]
        var gauges: [String: (version: String, gauge: CoreMetrics.Gauge)] = [:]
        var pending: CoreMetrics.Gauge?
    }

    /// The metrics a version's gauge is set for (the `metric` label), read off a report.
    static func qualityValues(_ m: QualityMetrics) -> [(String, Double?)] {
        [
            ("accuracy", m.accuracy), ("log_loss", m.logLoss), ("brier_score", m.brierScore), ("roc_auc", m.rocAUC),
            ("precision", m.precision), ("recall", m.recall), ("mae", m.meanAbsoluteError), ("rmse", m.rootMeanSquaredError),
            ("label_coverage", m.labelCoverage),
        ]
    }

    /// Exports a live-quality snapshot (nil: quality is off, nothing is exported).
    func collectQuality(_ snapshot: LiveQuality.Snapshot?) {
        guard let snapshot else { return }
        var totals: [(name: String, dimensions: [(String, String)], value: Int)] = [
            (QualityName.labels, [], snapshot.labelsRead),
            (QualityName.labelErrors, [("code", "empty_value")], snapshot.emptyLabels),
        ]
        for (code, count) in snapshot.labelDecodingErrors { totals.append((QualityName.labelErrors, [("code", code)], count)) }
        let store = snapshot.store
        let outcomes: [(String, Int)] = [
            ("stored", store.stored), ("duplicate_prediction", store.duplicatePredictions), ("joined", store.joined),
            ("joined_early", store.joinedEarly), ("duplicate_label", store.duplicateLabels), ("late_label", store.lateLabels),
            ("held_early", store.heldEarly), ("unknown_id", store.unknownIDs), ("early_label_dropped", store.earlyLabelsDropped),
            ("revoked", store.revoked), ("unmonitored", snapshot.unmonitoredExamples),
        ]
        for (outcome, count) in outcomes { totals.append((QualityName.join, [("outcome", outcome)], count)) }
        for cause in PendingPredictions.EvictionCause.allCases { totals.append((QualityName.evictions, [("cause", cause.rawValue)], store.evicted[cause] ?? 0)) }
        totals += [
            (QualityName.reports, [("outcome", "sent")], snapshot.reportsSent),
            (QualityName.reports, [("outcome", "delivered")], snapshot.reportsDelivered),
            (QualityName.reports, [("outcome", "failed")], snapshot.reportsFailed),
            (QualityName.rebuild, [("outcome", "partition_rebuilt")], snapshot.rebuiltPartitions),
            (QualityName.rebuild, [("outcome", "prediction_restored")], snapshot.restoredPredictions),
            (QualityName.rebuild, [("outcome", "partition_failed")], snapshot.rebuildFailures),
            (QualityName.rebuild, [("outcome", "record_unreadable")], snapshot.unreadablePredictions),
            (QualityName.trainingExamples, [("outcome", "sent")], snapshot.trainingExamplesSent),
            (QualityName.trainingExamples, [("outcome", "delivered")], snapshot.trainingExamplesDelivered),
            (QualityName.trainingExamples, [("outcome", "failed")], snapshot.trainingExamplesFailed),
        ]
        var values: [String: (version: String, value: Double)] = [:]
        for (version, report) in snapshot.latest {
            for (metric, value) in Self.qualityValues(report.metrics) {
                if let value, value.isFinite { values["\(version)\u{0}\(metric)"] = (version, value) }
            }
        }
        let factory = self.factory
        let (increments, gauges, stale, pending) = qualitySeries.withLock { series in
            var increments: [(CoreMetrics.Counter, Int)] = []
            for total in totals {
                let key = ([total.name] + total.dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{0}")
                var entry = series.counters[key]
                    ?? (CoreMetrics.Counter(label: total.name, dimensions: total.dimensions, factory: factory), 0)
                if total.value > entry.exported {
                    increments.append((entry.counter, total.value - entry.exported))
                    entry.exported = total.value
                }
                series.counters[key] = entry
            }
            var stale: [CoreMetrics.Gauge] = []
            for key in series.gauges.keys where values[key] == nil {
                if let removed = series.gauges.removeValue(forKey: key) { stale.append(removed.gauge) }
            }
            var gauges: [(CoreMetrics.Gauge, Double)] = []
            for (key, (version, value)) in values {
                let gauge = series.gauges[key]?.gauge ?? CoreMetrics.Gauge(
                    label: QualityName.metric, dimensions: [("version", version), ("metric", String(key.split(separator: "\u{0}").last!))], factory: factory)
                series.gauges[key] = (version, gauge)
                gauges.append((gauge, value))
            }
            let pending = series.pending ?? CoreMetrics.Gauge(label: QualityName.pending, factory: factory)
            series.pending = pending
            return (increments, gauges, stale, pending)
        }
        for (counter, delta) in increments { counter.increment(by: delta) }
        for gauge in stale { gauge.destroy() }
        for (gauge, value) in gauges { gauge.record(value) }
        pending.record(snapshot.pendingPredictions)
    }
}
