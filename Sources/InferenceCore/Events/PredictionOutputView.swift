/// The model outputs of one prediction, as the encoder needs them: a view, valid only during the
/// ``PredictionEncoder/encode(_:into:)`` call (it may point into the batch's output matrix).
public enum PredictionOutputView {
    /// `{"score": x}`.
    case regression(score: Float)
    /// `{"score": scores[0], "scores": {"<name>": x, ...}}`: a multi-output regressor, one score per
    /// output name (`score` repeats the first, so consumers of single-output events keep working).
    case multiOutputRegression(scores: UnsafeBufferPointer<Float>, names: PredictionLabels)
    /// `{"score": p, "label": "<labels[labelIndex]>"}`: `p` is the positive-class probability; the
    /// caller picks the label (by its decision threshold).
    case binary(score: Float, labelIndex: Int, labels: PredictionLabels)
    /// `{"label": "<labels[labelIndex]>", "probabilities": {"<label>": p, ...}}`, one probability per label,
    /// in label order. ``PredictionEncoder/argmax(_:)`` picks the most probable label.
    case multiclass(probabilities: UnsafeBufferPointer<Float>, labelIndex: Int, labels: PredictionLabels)
}
