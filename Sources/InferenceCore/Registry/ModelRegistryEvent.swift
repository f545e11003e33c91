public import Foundation

/// Something the registry did or refused to do, kept in its bounded event list and logged.
public struct ModelRegistryEvent: Sendable, CustomStringConvertible {
    /// What happened.
    public enum Kind: Sendable {
        /// `version` now serves (replacing `previous`, if any).
        case activated(version: String, previous: String?)
        /// `version` failed to load or validate; the previous model (if any) keeps serving.
        case rejected(version: String, error: ModelBundleError)
        /// The model directory could not be listed.
        case scanFailed(ModelBundleError)
        /// The pinned version is not in the model directory.
        case pinnedVersionMissing(version: String)
    }

    /// When it happened.
    public var time: Date
    /// What happened.
    public var kind: Kind

    /// Creates an event.
    public init(time: Date, kind: Kind) {
        self.time = time
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .activated(let version, let previous):
            "activated version \(version)" + (previous.map { " (replacing \($0))" } ?? "")
        case .rejected(let version, let error):
            "rejected version \(version): \(error)"
        case .scanFailed(let error):
            "scan failed: \(error)"
        case .pinnedVersionMissing(let version):
            "pinned version \(version) not found"
        }
    }
}
