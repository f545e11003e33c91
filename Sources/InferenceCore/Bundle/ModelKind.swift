/// The model family of a bundle, which selects its kernel.
public enum ModelKind: String, Sendable, Hashable, CaseIterable, Codable {
    case linear
    case logistic
    case softmax
    case mlp
    case treeEnsemble = "tree_ensemble"

    /// Whether the kernel handles missing values itself (NaN inputs), so that no default is needed.
    public var handlesMissingNatively: Bool { self == .treeEnsemble }
}
