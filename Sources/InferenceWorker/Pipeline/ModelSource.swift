public import InferenceCore

/// Where the pipeline gets the model for each batch: the on-disk ``ModelRegistry`` (hot reload),
/// or a fixed model (embedding, tests).
public protocol ModelSource: Sendable {
    /// The model for the next batch; nil while none is servable.
    var current: LoadedModel? { get }
    /// Loads what can be loaded now; called once before consuming starts.
    func prepare()
    /// Watches for new versions until cancelled.
    func watch() async throws
    /// Why there is no servable model, for error messages.
    var unavailableReason: String { get }
    /// Version `version` of the model, for a roll-out that names its primary and candidate
    /// (docs/rollouts.md): the loaded model when it is ready; `nil` while it loads or when it
    /// cannot. Never blocks: loading, if any, happens off the caller's thread. The default answers
    /// with ``current`` when it is that version.
    func model(version: String) -> LoadedModel?
}

extension ModelSource {
    public func model(version: String) -> LoadedModel? {
        guard let model = current, model.version == version else { return nil }
        return model
    }
}

extension ModelRegistry: ModelSource {
    public func prepare() { refresh() }
    public func watch() async throws { try await run() }
    public var unavailableReason: String { events.last.map { "\($0)" } ?? "no version found under \(configuration.modelDirectory.path)" }
}

/// A model that never changes.
public struct FixedModelSource: ModelSource {
    public let model: LoadedModel
    public init(_ model: LoadedModel) { self.model = model }
    public var current: LoadedModel? { model }
    public func prepare() {}
    public func watch() async throws {
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }
    public var unavailableReason: String { "" }
}
