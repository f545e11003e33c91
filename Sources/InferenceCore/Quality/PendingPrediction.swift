/// What the quality join keeps of one prediction while it waits for its label: enough to score it
/// (the served score or probabilities and the served decision), to route it (the model version) and
/// to measure the label's delay (the prediction time). Raw features are not kept.
public struct PendingPrediction: Sendable, Hashable {
    /// The served output, reduced to what quality metrics need.
    public enum Output: Sendable, Hashable {
        /// A regression score.
        case regression(score: Float)
        /// The positive-class probability and the served decision (made with the served threshold).
        case binary(score: Float, predictedPositive: Bool)
        /// One probability per class in the model's label order, and the index of the served class.
        case multiclass(probabilities: [Float], predictedIndex: Int)
    }

    /// The request id the prediction was written with (see docs/events.md, Ids).
    public var id: String
    /// The model version that made it.
    public var modelVersion: String
    /// The served output.
    public var output: Output
    /// When the prediction was made (`processing_time`), ms since the Unix epoch.
    public var predictionTimeMs: Int64
    /// The request's offset in its partition, when known (kept for diagnostics and rebuilds).
    public var sourceOffset: Int64?
    /// The request's value as received, kept only when labelled examples are written out for
    /// retraining (`--training-examples-topic`); charged in ``estimatedBytes``. Default nil.
    public var request: [UInt8]?

    /// Creates a pending prediction.
    public init(id: String, modelVersion: String, output: Output, predictionTimeMs: Int64, sourceOffset: Int64? = nil, request: [UInt8]? = nil) {
        self.id = id
        self.modelVersion = modelVersion
        self.output = output
        self.predictionTimeMs = predictionTimeMs
        self.sourceOffset = sourceOffset
        self.request = request
    }

    /// Creates a pending prediction from the pipeline's output for one record.
    ///
    /// - Parameters:
    ///   - id: the prediction's id.
    ///   - modelVersion: the version that scored it.
    ///   - prediction: the validated output.
    ///   - predictionTimeMs: the prediction's `processing_time`.
    ///   - sourceOffset: the request's offset.
    ///   - request: the request's value as received, to write labelled examples out (else nil).
    public init(id: String, modelVersion: String, prediction: PredictionOutput, predictionTimeMs: Int64, sourceOffset: Int64? = nil,
                request: [UInt8]? = nil) {
        let output: Output
        switch prediction {
        case .regression(let score): output = .regression(score: score)
        // Quality follows the first output of a multi-output regressor, as drift does.
        case .multiOutputRegression: output = .regression(score: prediction.score)
        case .binary(let score, _, let isPositive): output = .binary(score: score, predictedPositive: isPositive)
        case .multiclass(let probabilities, let classIndex, _): output = .multiclass(probabilities: Array(probabilities), predictedIndex: classIndex)
        }
        self.init(id: id, modelVersion: modelVersion, output: output, predictionTimeMs: predictionTimeMs, sourceOffset: sourceOffset, request: request)
    }

    /// The bytes this entry is charged in ``PendingPredictions`` (an estimate of its heap footprint):
    /// 96 fixed (the entry, its index slot and the dictionary's share) + the id's and the version's
    /// UTF-8 bytes + 4 per probability + the kept request's bytes.
    public var estimatedBytes: Int {
        var bytes = 96 + id.utf8.count + modelVersion.utf8.count + (request?.count ?? 0)
        if case .multiclass(let probabilities, _) = output { bytes += 4 * probabilities.count }
        return bytes
    }
}

/// A prediction joined with its ground truth: the unit ``QualityMonitor`` scores.
public struct LabelledExample: Sendable, Hashable {
    /// The prediction, as served.
    public var prediction: PendingPrediction
    /// The true outcome, as sent on the labels topic.
    public var label: LabelEvent.Value
    /// When the label arrived (its record's timestamp, or the time it was read), ms since the epoch.
    public var labelTimeMs: Int64

    /// Creates an example.
    public init(prediction: PendingPrediction, label: LabelEvent.Value, labelTimeMs: Int64) {
        self.prediction = prediction
        self.label = label
        self.labelTimeMs = labelTimeMs
    }

    /// Label time minus prediction time, ms (negative when the label's clock is behind).
    public var delayMs: Int64 { labelTimeMs - predictionTimeMs }
    /// The request id.
    public var id: String { prediction.id }
    /// The prediction time, ms since the epoch.
    public var predictionTimeMs: Int64 { prediction.predictionTimeMs }

    /// Whether the served class is the label's, for a classifier whose output is `output`; `nil`
    /// for a regression, or a label that names no class of `output` (what ``QualityMonitor``
    /// counts as a rejected label).
    public func isCorrect(for output: OutputSchema) -> Bool? {
        let served: Int
        switch prediction.output {
        case .regression: return nil
        case .binary(_, let predictedPositive): served = predictedPositive ? 1 : 0
        case .multiclass(_, let predictedIndex): served = predictedIndex
        }
        guard case .success(let truth) = label.classIndex(classCount: output.labels.count, named: { output.labels.firstIndex(of: $0) }) else {
            return nil
        }
        return truth == served
    }
}
