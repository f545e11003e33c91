/// The interpreted model output for one row, as the prediction encoder publishes it.
///
/// Multiclass probabilities are a slice of the batch's output buffer: interpreting a batch allocates
/// no array per row.
public enum PredictionOutput: Sendable {
    /// A regression score.
    case regression(score: Float)
    /// A multi-output regressor's scores, in the order of the output schema's `labels` (a slice of
    /// the batch's output buffer).
    case multiOutputRegression(scores: ArraySlice<Float>)
    /// The positive-class probability and the label chosen with the output's threshold
    /// (`labels[1]` when `score >= threshold`, else `labels[0]`).
    case binary(score: Float, label: String, isPositive: Bool)
    /// Class probabilities in label order, the index of the most probable class and its label.
    case multiclass(probabilities: ArraySlice<Float>, classIndex: Int, label: String)

    /// The regression score or the positive-class probability; the winning class's probability for multiclass.
    public var score: Float {
        switch self {
        case .regression(let score): score
        case .multiOutputRegression(let scores): scores[scores.startIndex]
        case .binary(let score, _, _): score
        case .multiclass(let probabilities, let classIndex, _): probabilities[probabilities.startIndex + classIndex]
        }
    }

    /// The predicted label; `nil` for regression.
    public var label: String? {
        switch self {
        case .regression, .multiOutputRegression: nil
        case .binary(_, let label, _): label
        case .multiclass(_, _, let label): label
        }
    }
}
