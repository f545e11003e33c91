/// The learning objectives a ``TreeEnsembleKernel`` evaluates, named as in XGBoost.
///
/// The objective fixes three things: how many margins a row has (output groups), how
/// `base_score` becomes the starting margin, and how margins become outputs.
public enum TreeEnsembleObjective: Sendable, Hashable, CustomStringConvertible {
    /// `reg:squarederror`: one value per row, the margin itself.
    case squaredErrorRegression
    /// `binary:logistic`: one probability per row, the sigmoid of the margin. `base_score` is a
    /// probability; the starting margin is its logit.
    case binaryLogistic
    /// `multi:softprob`: `classCount` probabilities per row, the softmax of the per-class margins.
    case multiclassSoftprob(classCount: Int)
    /// `multi:softmax`: XGBoost predicts the arg-max class index, but this kernel reports the same
    /// softmax probabilities as `multi:softprob` (the ``ModelKernel`` contract for multiclass);
    /// the arg-max of the outputs is XGBoost's predicted class.
    case multiclassSoftmax(classCount: Int)

    /// The XGBoost objective names this kernel accepts.
    public static let supportedNames = ["reg:squarederror", "binary:logistic", "multi:softprob", "multi:softmax"]

    /// The XGBoost name of the objective.
    public var name: String {
        switch self {
        case .squaredErrorRegression: "reg:squarederror"
        case .binaryLogistic: "binary:logistic"
        case .multiclassSoftprob: "multi:softprob"
        case .multiclassSoftmax: "multi:softmax"
        }
    }

    /// Margins per row, which is also the kernel's output width.
    public var outputGroups: Int {
        switch self {
        case .squaredErrorRegression, .binaryLogistic: 1
        case .multiclassSoftprob(let classCount), .multiclassSoftmax(let classCount): classCount
        }
    }

    public var description: String { name }
}
