public import Foundation

/// Streaming quality of one model version from ground truth: labelled examples over tumbling windows,
/// turned into a ``QualityReport`` when a window closes.
///
/// A value type owned by one thread (the one that joins labels), like ``DriftMonitor``:
/// - ``countPrediction()`` once per prediction of this version put in the join store;
/// - ``observe(_:)`` once per ``LabelledExample`` of this version the join yields;
/// - ``countUnlabelled(_:)`` for predictions of this version that left the store without a label;
/// - ``takeReportIfDue(now:)`` once per loop iteration, publishing what it returns;
/// - ``flush(now:)`` at shutdown or when the version is retired (after its last labels are due).
///
/// **Windows** work as in ``DriftMonitor``: a window closes once it holds
/// ``QualityConfiguration/windowRecordCount`` labelled examples, or at the next multiple of
/// ``QualityConfiguration/windowDuration`` since the epoch (aligned across replicas, so their reports
/// merge). An example belongs to the window in which its label was joined, not the one in which the
/// prediction was made: quality of version v "as learnt during" the window.
///
/// **Labels that do not fit** the model (a class it does not have, a non-integral index, text for a
/// regressor) are counted in ``QualityCounts/rejectedLabels`` by reason and otherwise ignored.
public struct QualityMonitor: Sendable {
    /// The model's name.
    public let modelName: String
    /// The model version.
    public let modelVersion: String
    /// This replica's identifier.
    public let workerID: String
    /// The configuration.
    public let configuration: QualityConfiguration
    /// The model's output schema (task, labels, threshold).
    public let output: OutputSchema

    private let labelIndex: [String: Int]
    private let emptyClassification: ClassificationQuality?
    private var classification: ClassificationQuality?
    /// Per class accumulator: score -> (positives, negatives), folded into ``AUCAccumulator``s at close.
    private var aucCounts: [[Float: (positives: Int, negatives: Int)]]
    private var regression: RegressionQuality?
    private var counts = QualityCounts()
    private var delay: QuantileSketch
    private let windowMs: Int64
    private var windowStartMs: Int64
    private var nextBoundaryMs: Int64

    /// float64 machine epsilon: scikit-learn clips probabilities to [ε, 1 − ε] for log loss.
    static let logLossEpsilon = Double.ulpOfOne

    /// Creates a monitor for one model version, opening the first window at `now`.
    ///
    /// - Parameters:
    ///   - modelName: the model's name.
    ///   - modelVersion: the version scored.
    ///   - output: the version's output schema (task, labels, threshold).
    ///   - configuration: windows and accumulators; see ``QualityConfiguration``.
    ///   - workerID: this replica.
    ///   - now: the current time (an injected clock in tests).
    public init(modelName: String, modelVersion: String, output: OutputSchema, configuration: QualityConfiguration = QualityConfiguration(),
                workerID: String, now: Date) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.workerID = workerID
        self.configuration = configuration
        self.output = output
        var index: [String: Int] = [:]
        for (i, label) in output.labels.enumerated() where index[label] == nil { index[label] = i }
        self.labelIndex = index
        switch output.task {
        case .regression:
            emptyClassification = nil
            regression = RegressionQuality()
            aucCounts = []
        case .binary, .multiclass:
            let threshold: Double? = output.task == .binary ? Double(output.threshold) : nil
            emptyClassification = ClassificationQuality(
                labels: output.labels, threshold: threshold,
                auc: AUCAccumulator(maxExactScores: configuration.aucMaxExactScores, binCount: configuration.aucBins))
            regression = nil
            aucCounts = Array(repeating: [:], count: output.task == .binary ? 1 : output.labels.count)
        }
        classification = emptyClassification
        delay = QuantileSketch(relativeAccuracy: configuration.delaySketchRelativeAccuracy)
        let components = configuration.windowDuration.components
        windowMs = Swift.max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
        let start = DriftMonitor.milliseconds(now)
        windowStartMs = start
        nextBoundaryMs = DriftMonitor.boundary(after: start, windowMs: windowMs)
    }

    /// Labelled examples scored in the open window.
    public var labelledCount: Int { counts.labelled }
    /// Labels in the open window, scored or rejected: counted in no report yet.
    public var labelsInOpenWindow: Int { counts.labelled + counts.rejectedLabels.values.reduce(0, +) }
    /// Start of the open window, ms since the epoch.
    public var openWindowStartMs: Int64 { windowStartMs }

    /// Counts one prediction of this version entering the join store.
    public mutating func countPrediction() { counts.predictions += 1 }

    /// Counts predictions of this version that left the join store without a label.
    public mutating func countUnlabelled(_ count: Int = 1) { counts.unlabelledExpired += count }

    /// What became of an example.
    public enum Observation: Sendable, Hashable {
        /// Scored.
        case scored
        /// Not usable for this model; counted under this reason in ``QualityCounts/rejectedLabels``.
        case rejected(reason: String)
    }

    /// Scores one labelled example of this version.
    ///
    /// - Parameter example: a prediction of this version joined with its label.
    /// - Returns: whether it was scored or why it was rejected (also counted).
    @discardableResult
    public mutating func observe(_ example: LabelledExample) -> Observation {
        switch (example.prediction.output, output.task) {
        case (.regression(let score), .regression):
            let target: Double
            switch example.label {
            case .number(let x): target = x
            case .bool(let flag): target = flag ? 1 : 0
            case .text: return reject("not_a_number")
            }
            let error = Double(score) - target
            regression!.count += 1
            regression!.errorSum += error
            regression!.absoluteErrorSum += error.magnitude
            regression!.squaredErrorSum += error * error
        case (.binary(let score, let predictedPositive), .binary):
            let truth: Int
            switch classIndex(of: example.label) {
            case .success(let k): truth = k
            case .failure(let reason): return reject(reason.rawValue)
            }
            let p = Double(score), y = Double(truth)
            let pTrue = truth == 1 ? p : 1 - p
            classification!.logLossSum -= Foundation.log(Swift.min(Swift.max(pTrue, Self.logLossEpsilon), 1 - Self.logLossEpsilon))
            classification!.brierSum += (p - y) * (p - y)
            classification!.confusion[truth][predictedPositive ? 1 : 0] += 1
            aucCounts[0][score, default: (0, 0)].positives += truth
            aucCounts[0][score, default: (0, 0)].negatives += 1 - truth
        case (.multiclass(let probabilities, let predicted), .multiclass):
            guard probabilities.count == output.labels.count, predicted >= 0, predicted < probabilities.count else {
                return reject("output_mismatch")
            }
            let truth: Int
            switch classIndex(of: example.label) {
            case .success(let k): truth = k
            case .failure(let reason): return reject(reason.rawValue)
            }
            let pTrue = Double(probabilities[truth])
            classification!.logLossSum -= Foundation.log(Swift.min(Swift.max(pTrue, Self.logLossEpsilon), 1 - Self.logLossEpsilon))
            var brier = 0.0
            for (k, probability) in probabilities.enumerated() {
                let d = Double(probability) - (k == truth ? 1 : 0)
                brier += d * d
                if k == truth { aucCounts[k][probability, default: (0, 0)].positives += 1 } else { aucCounts[k][probability, default: (0, 0)].negatives += 1 }
            }
            classification!.brierSum += brier
            classification!.confusion[truth][predicted] += 1
        default:
            return reject("output_mismatch")
        }
        counts.labelled += 1
        delay.add(Double(example.delayMs) / 1000)
        return .scored
    }

    /// Why a label is not a class of this model.
    enum Rejection: String, Error {
        case unknownClass = "unknown_class"
        case notAClassIndex = "not_a_class_index"
        case classIndexOutOfRange = "class_index_out_of_range"
    }

    /// The class a label names (``LabelEvent/Value/classIndex(classCount:named:)``).
    func classIndex(of label: LabelEvent.Value) -> Result<Int, Rejection> {
        label.classIndex(classCount: output.labels.count) { labelIndex[$0] }
    }

    private mutating func reject(_ reason: String) -> Observation {
        counts.rejectedLabels[reason, default: 0] += 1
        return .rejected(reason: reason)
    }

    private var isEmpty: Bool {
        counts.labelled == 0 && counts.predictions == 0 && counts.unlabelledExpired == 0 && counts.rejectedLabels.isEmpty
    }

    /// Closes the open window and returns its report when it is due (by labelled count or time
    /// boundary); otherwise `nil`. Call once per loop iteration.
    public mutating func takeReportIfDue(now: Date) -> QualityReport? {
        let t = DriftMonitor.milliseconds(now)
        if counts.labelled >= configuration.windowRecordCount {
            let report = close(endMs: t, reason: .count)
            windowStartMs = t
            if t >= nextBoundaryMs { nextBoundaryMs = DriftMonitor.boundary(after: t, windowMs: windowMs) }
            return report
        }
        guard t >= nextBoundaryMs else { return nil }
        let end = nextBoundaryMs
        let report = isEmpty && !configuration.reportEmptyWindows ? nil : close(endMs: end, reason: .time)
        windowStartMs = end
        nextBoundaryMs = DriftMonitor.boundary(after: t, windowMs: windowMs)
        if t >= end + windowMs { windowStartMs = nextBoundaryMs - windowMs }
        return report
    }

    /// Closes the open window now (shutdown, version retired); `nil` when nothing happened in it.
    public mutating func flush(now: Date) -> QualityReport? {
        let t = DriftMonitor.milliseconds(now)
        guard !isEmpty else { return nil }
        let report = close(endMs: Swift.max(t, windowStartMs), reason: .flush)
        windowStartMs = t
        if t >= nextBoundaryMs { nextBoundaryMs = DriftMonitor.boundary(after: t, windowMs: windowMs) }
        return report
    }

    private mutating func close(endMs: Int64, reason: DriftReport.CloseReason) -> QualityReport {
        if var c = classification {
            c.auc = aucCounts.map {
                AUCAccumulator(counts: $0, maxExactScores: configuration.aucMaxExactScores, binCount: configuration.aucBins)
            }
            classification = c
        }
        let task: QualityReport.Task = switch output.task {
        case .regression: .regression
        case .binary: .binary
        case .multiclass: .multiclass
        }
        let report = QualityReport(
            modelName: modelName, modelVersion: modelVersion, workerIDs: [workerID], windowStartMs: windowStartMs, windowEndMs: endMs,
            closedBy: reason, task: task, counts: counts, classification: classification, regression: regression,
            labelDelay: delay, delayQuantileLevels: configuration.delayQuantiles
        )
        classification = emptyClassification
        for i in aucCounts.indices { aucCounts[i].removeAll(keepingCapacity: true) }
        if regression != nil { regression = RegressionQuality() }
        counts = QualityCounts()
        delay.reset()
        return report
    }
}
