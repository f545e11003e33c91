public import Foundation

/// The live quality of one model version in one window, from one replica or merged from several.
///
/// Published as JSON (``jsonData(prettyPrinted:)``; format in docs/quality.md), keyed by
/// ``modelName``, like ``DriftReport``. It carries the mergeable state (confusion matrix, loss sums,
/// ROC AUC accumulators, error sums, the label-delay sketch, counts), so ``merge(_:)`` combines
/// replicas' reports for the same version and window and recomputes ``metrics`` as if one replica had
/// seen every example: counts, accuracy, precision and recall exactly; sums up to floating-point
/// rounding; the AUC exactly while the accumulators stay exact (else within `roc_auc_max_error`).
public struct QualityReport: Sendable, Hashable, Codable {
    /// The kind of model.
    public enum Task: String, Sendable, Hashable, Codable {
        case regression, binary, multiclass
    }

    /// Format identifier; bumped on incompatible changes.
    public var format: String
    /// The model's name (the Kafka key of the published report).
    public var modelName: String
    /// The model version.
    public var modelVersion: String
    /// The replica(s) whose examples this covers, sorted.
    public var workerIDs: [String]
    /// Window start, ms since the Unix epoch (inclusive).
    public var windowStartMs: Int64
    /// Window end, ms since the Unix epoch (exclusive).
    public var windowEndMs: Int64
    /// Why the window closed.
    public var closedBy: DriftReport.CloseReason
    /// The model's task.
    public var task: Task
    /// Predictions, labels and rejections in the window.
    public var counts: QualityCounts
    /// Classifier state (`binary`, `multiclass`).
    public var classification: ClassificationQuality?
    /// Regressor state.
    public var regression: RegressionQuality?
    /// Label delay (label time − prediction time), seconds, of the labelled examples.
    public var labelDelay: QuantileSketch
    /// Label-delay quantile levels reported in ``QualityMetrics/labelDelaySeconds``.
    public var delayQuantileLevels: [Double]
    /// Derived: the metrics.
    public var metrics: QualityMetrics

    /// The current format identifier.
    public static let currentFormat = "quality-report/1"

    enum CodingKeys: String, CodingKey {
        case format, modelName = "model_name", modelVersion = "model_version", workerIDs = "worker_ids"
        case windowStartMs = "window_start_ms", windowEndMs = "window_end_ms", closedBy = "closed_by", task, counts
        case classification, regression, labelDelay = "label_delay", delayQuantileLevels = "delay_quantile_levels", metrics
    }

    /// Creates a report from its state, computing ``metrics``.
    public init(
        modelName: String, modelVersion: String, workerIDs: [String], windowStartMs: Int64, windowEndMs: Int64,
        closedBy: DriftReport.CloseReason, task: Task, counts: QualityCounts, classification: ClassificationQuality?,
        regression: RegressionQuality?, labelDelay: QuantileSketch, delayQuantileLevels: [Double]
    ) {
        self.format = Self.currentFormat
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.workerIDs = workerIDs.sorted()
        self.windowStartMs = windowStartMs
        self.windowEndMs = windowEndMs
        self.closedBy = closedBy
        self.task = task
        self.counts = counts
        self.classification = classification
        self.regression = regression
        self.labelDelay = labelDelay
        self.delayQuantileLevels = delayQuantileLevels
        self.metrics = QualityMetrics()
        self.metrics = computeMetrics()
    }

    /// The metrics of this state.
    func computeMetrics() -> QualityMetrics {
        var m = QualityMetrics()
        let settled = counts.labelled + counts.unlabelledExpired
        if settled > 0 { m.labelCoverage = Double(counts.labelled) / Double(settled) }
        if labelDelay.count > 0 {
            var delays: [String: Double] = [:]
            for level in delayQuantileLevels { if let v = labelDelay.quantile(level) { delays["\(level)"] = v } }
            m.labelDelaySeconds = delays
        }
        if let c = classification, c.count > 0 {
            let n = Double(c.count)
            let correct = c.confusion.indices.reduce(0) { $0 + c.confusion[$1][$1] }
            m.accuracy = Double(correct) / n
            m.logLoss = c.logLossSum / n
            m.brierScore = c.brierSum / n
            if c.labels.count == 2 {
                m.rocAUC = c.auc[0].auc
                m.rocAUCMaxError = c.auc[0].maxError
                let tp = c.confusion[1][1], fp = c.confusion[0][1], fn = c.confusion[1][0]
                if tp + fp > 0 { m.precision = Double(tp) / Double(tp + fp) }
                if tp + fn > 0 { m.recall = Double(tp) / Double(tp + fn) }
            } else {
                var perClass: [String: Double] = [:], errors: [Double] = []
                for (k, accumulator) in c.auc.enumerated() {
                    if let auc = accumulator.auc, let error = accumulator.maxError {
                        perClass[c.labels[k]] = auc
                        errors.append(error)
                    }
                }
                if !perClass.isEmpty {
                    m.rocAUCPerClass = perClass
                    // Mean in label order, so that equal states give bit-identical results.
                    let values = c.labels.compactMap { perClass[$0] }
                    m.rocAUC = values.reduce(0, +) / Double(values.count)
                    m.rocAUCMaxError = errors.reduce(0, +) / Double(errors.count)
                }
            }
        }
        if let r = regression, r.count > 0 {
            let n = Double(r.count)
            m.meanAbsoluteError = r.absoluteErrorSum / n
            m.rootMeanSquaredError = (r.squaredErrorSum / n).squareRoot()
            m.meanError = r.errorSum / n
        }
        return m
    }

    /// The report as JSON (UTF-8, keys sorted so that equal reports give equal bytes).
    public func jsonData(prettyPrinted: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(self)
    }

    /// Decodes a report written by ``jsonData(prettyPrinted:)`` and checks that its state is usable
    /// (shapes agree), so that a corrupt report on the topic is refused here rather than trapping later.
    ///
    /// - Throws: `DecodingError`, or ``QualityReportMergeError`` for an inconsistent state.
    public static func decode(_ data: Data) throws -> QualityReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let report = try decoder.decode(QualityReport.self, from: data)
        if let problem = report.consistencyProblem() { throw QualityReportMergeError(message: "inconsistent quality report: \(problem)") }
        return report
    }

    func consistencyProblem() -> String? {
        switch task {
        case .regression:
            if regression == nil || classification != nil { return "a regression report has regression state only" }
        case .binary, .multiclass:
            guard let c = classification, regression == nil else { return "a classification report has classification state only" }
            if let problem = c.consistencyProblem() { return problem }
            if (task == .binary) != (c.labels.count == 2) { return "task \(task.rawValue) with \(c.labels.count) labels" }
        }
        return nil
    }
}

/// Reports that cannot be merged (different models, versions, labels or settings), or a report whose
/// state is inconsistent.
public struct QualityReportMergeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What differs, and what to do.
    public var message: String

    /// Creates an error.
    public init(message: String) { self.message = message }

    public var description: String { message }
}

extension QualityReport {
    /// Combines reports of the same model version (typically one per replica for the same aligned
    /// window) into one: state is added up, then the metrics are recomputed. The window spans the
    /// earliest start to the latest end; `workerIDs` is the union.
    ///
    /// - Throws: ``QualityReportMergeError`` when `reports` is empty or they differ in model, version,
    ///   task, labels, threshold, quantile levels or accumulator settings.
    public static func merge(_ reports: [QualityReport]) throws(QualityReportMergeError) -> QualityReport {
        guard var first = reports.first else { throw QualityReportMergeError(message: "nothing to merge: pass at least one report") }
        var workers = Set(first.workerIDs)
        for report in reports.dropFirst() {
            guard report.modelName == first.modelName, report.modelVersion == first.modelVersion, report.task == first.task else {
                throw QualityReportMergeError(message: "reports are for \(first.modelName) \(first.modelVersion) and \(report.modelName) \(report.modelVersion): merge one model version at a time")
            }
            guard report.delayQuantileLevels == first.delayQuantileLevels,
                  report.labelDelay.relativeAccuracy == first.labelDelay.relativeAccuracy else {
                throw QualityReportMergeError(message: "reports were made with different quality configurations: configure all replicas alike")
            }
            switch (first.classification, report.classification) {
            case (let a?, let b?): first.classification = try a.merged(with: b)
            case (nil, nil): break
            default: throw QualityReportMergeError(message: "classification state present in only one report")
            }
            switch (first.regression, report.regression) {
            case (let a?, let b?): first.regression = a.merged(with: b)
            case (nil, nil): break
            default: throw QualityReportMergeError(message: "regression state present in only one report")
            }
            first.counts = first.counts.merged(with: report.counts)
            first.labelDelay.merge(report.labelDelay)
            workers.formUnion(report.workerIDs)
            first.windowStartMs = Swift.min(first.windowStartMs, report.windowStartMs)
            first.windowEndMs = Swift.max(first.windowEndMs, report.windowEndMs)
        }
        return QualityReport(
            modelName: first.modelName, modelVersion: first.modelVersion, workerIDs: Array(workers),
            windowStartMs: first.windowStartMs, windowEndMs: first.windowEndMs,
            closedBy: reports.count == 1 ? first.closedBy : .merged, task: first.task, counts: first.counts,
            classification: first.classification, regression: first.regression, labelDelay: first.labelDelay,
            delayQuantileLevels: first.delayQuantileLevels
        )
    }
}
