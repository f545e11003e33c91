/// The model family of a bundle, which selects its kernel.
public enum ModelKind: String, Sendable, Hashable, CaseIterable, Codable {
    case linear
    case logistic
    case softmax
    case mlp
    case treeEnsemble = "tree_ensemble"
    /// A graph served through ONNX Runtime (docs/model-bundle.md, "ONNX bundles").
    case onnx

    /// Whether the kernel handles missing values itself (NaN inputs), so that no default is needed.
    /// An ONNX graph receives NaN (or an empty string) and handles it as it was trained to
    /// (an imputer, a tree's missing direction).
    public var handlesMissingNatively: Bool { self == .treeEnsemble || self == .onnx }
}
