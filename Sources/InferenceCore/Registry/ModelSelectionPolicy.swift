/// Which version of a model the registry serves.
public enum ModelSelectionPolicy: Sendable, Hashable {
    /// The highest version (numeric-aware directory order) that loads and validates.
    case latest
    /// Exactly this version; other versions are ignored.
    case pinned(ModelVersion)
}
