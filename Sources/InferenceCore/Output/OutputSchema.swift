/// What the model's outputs mean and which values are acceptable; validates and interprets one row.
public struct OutputSchema: Sendable, Hashable {
    /// The prediction task.
    public enum Task: String, Sendable, Hashable {
        /// One unbounded score per row (optionally bounded by `range`); with `labels` (2 or more
        /// output names), one score per name (a multi-output regressor).
        case regression
        /// One positive-class probability per row.
        case binary
        /// One probability per class, summing to 1.
        case multiclass
    }

    /// The task.
    public var task: Task
    /// Class labels: 2 for binary (negative, positive; default `["0", "1"]`), one per class for multiclass;
    /// for regression empty (one score) or the names of a multi-output regressor's outputs.
    public var labels: [String]
    /// Binary decision threshold on the positive probability. Default 0.5.
    public var threshold: Float
    /// Accepted score range (regression and binary); `nil` = any finite value (binary: [0, 1]).
    public var range: ClosedRange<Double>?
    /// Allowed deviation of a multiclass row's probability sum from 1, and of each probability from [0, 1]. Default 1e-4.
    public var sumTolerance: Double

    /// Creates an output schema.
    public init(task: Task, labels: [String] = [], threshold: Float = 0.5, range: ClosedRange<Double>? = nil, sumTolerance: Double = 1e-4) {
        self.task = task
        self.labels = task == .binary && labels.isEmpty ? ["0", "1"] : labels
        self.threshold = threshold
        self.range = range
        self.sumTolerance = sumTolerance
    }

    /// Values per row the kernel must write: 1, the number of classes, or the number of regression outputs.
    public var width: Int { task == .binary ? 1 : Swift.max(labels.count, 1) }

    /// Checks the schema's consistency; returns the problem, or `nil`.
    public func consistencyProblem() -> String? {
        switch task {
        case .regression:
            if labels.count == 1 { return "a regression output has no labels, or 2 or more output names (a multi-output regressor)" }
            if Set(labels).count != labels.count { return "output names must be unique" }
        case .binary:
            if labels.count != 2 { return "a binary output needs exactly 2 labels (negative, positive), got \(labels.count)" }
            if !(threshold > 0 && threshold < 1) { return "threshold must be in (0, 1), got \(threshold)" }
        case .multiclass:
            if labels.count < 2 { return "a multiclass output needs at least 2 labels, got \(labels.count)" }
            if Set(labels).count != labels.count { return "labels must be unique" }
        }
        if let range, !(range.lowerBound.isFinite && range.upperBound.isFinite) { return "range bounds must be finite" }
        if !(sumTolerance > 0 && sumTolerance < 0.5) { return "sum_tolerance must be in (0, 0.5), got \(sumTolerance)" }
        return nil
    }

    /// Validates and interprets one row of kernel output (`width` values).
    public func interpret(_ values: ArraySlice<Float>) -> Result<PredictionOutput, OutputValidationError> {
        let start = values.startIndex
        for offset in 0..<values.count where !values[start + offset].isFinite {
            return .failure(OutputValidationError(reason: .nonFinite(index: offset, value: values[start + offset])))
        }
        switch task {
        case .regression:
            if let range {
                for offset in 0..<values.count where !range.contains(Double(values[start + offset])) {
                    return .failure(OutputValidationError(reason: .outOfRange(value: values[start + offset], lower: range.lowerBound, upper: range.upperBound)))
                }
            }
            if values.count > 1 { return .success(.multiOutputRegression(scores: values)) }
            return .success(.regression(score: values[start]))
        case .binary:
            let score = values[start]
            if let failure = probabilityFailure(score, index: 0) { return .failure(failure) }
            if let range, !range.contains(Double(score)) {
                return .failure(OutputValidationError(reason: .outOfRange(value: score, lower: range.lowerBound, upper: range.upperBound)))
            }
            let positive = score >= threshold
            return .success(.binary(score: score, label: labels[positive ? 1 : 0], isPositive: positive))
        case .multiclass:
            var sum = 0.0
            var best = 0
            for offset in 0..<values.count {
                let p = values[start + offset]
                if let failure = probabilityFailure(p, index: offset) { return .failure(failure) }
                sum += Double(p)
                if p > values[start + best] { best = offset }
            }
            if abs(sum - 1) > sumTolerance {
                return .failure(OutputValidationError(reason: .probabilitySum(sum: sum, tolerance: sumTolerance)))
            }
            return .success(.multiclass(probabilities: values, classIndex: best, label: labels[best]))
        }
    }

    private func probabilityFailure(_ p: Float, index: Int) -> OutputValidationError? {
        let tolerance = Float(sumTolerance)
        if p < -tolerance || p > 1 + tolerance {
            return OutputValidationError(reason: .probabilityOutOfUnitInterval(index: index, value: p))
        }
        return nil
    }
}
