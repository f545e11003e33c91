public import InferenceCore
public import ServiceLifecycle
public import Logging

/// Runs a ``ModelRegistry``'s watch (polling for new versions, hot swap) as a `Service` of its own, so
/// that the registry, the pipeline and the operations server are siblings in one `ServiceGroup`.
///
/// The pipeline then gets ``pipelineSource``: the same registry, whose `watch()` only waits, since this
/// service does the polling. The group shuts services down in reverse order of registration; listed
/// before the pipeline, the registry keeps watching while the pipeline drains.
public struct ModelRegistryService: Service, CustomStringConvertible {
    /// The registry this service watches.
    public let registry: ModelRegistry
    /// Loads the versions a roll-out names (primary and candidate), besides the registry's own.
    public let versions: ModelVersionLoader

    /// Creates the service for `registry`.
    ///
    /// - Parameter registry: the registry to poll.
    public init(registry: ModelRegistry, logger: Logger = Logger(label: "inference.model-registry")) {
        self.registry = registry
        versions = ModelVersionLoader(configuration: registry.configuration, logger: logger)
    }

    /// The registry as the pipeline should see it: current model and start-up loading from the
    /// registry, no polling of its own; named versions (roll-outs) from ``versions``.
    public var pipelineSource: any ModelSource { WatchedElsewhere(registry: registry, versions: versions) }

    /// Polls until graceful shutdown, then returns.
    ///
    /// - Throws: `CancellationError` when cancelled without a graceful shutdown.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await registry.run() }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            // The ordinary end: graceful shutdown cancelled the poll loop.
        }
    }

    public var description: String { "ModelRegistry(\(registry.configuration.modelName))" }
}

/// A registry whose watching is done by a ``ModelRegistryService``.
private struct WatchedElsewhere: ModelSource {
    let registry: ModelRegistry
    let versions: ModelVersionLoader
    func model(version: String) -> LoadedModel? {
        if let model = registry.current, model.version == version { return model }
        return versions.model(version: version)
    }
    var current: LoadedModel? { registry.current }
    func prepare() { registry.prepare() }
    /// Waits until cancelled: the pipeline ends its run when `watch()` returns.
    func watch() async throws {
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
    var unavailableReason: String { registry.unavailableReason }
}
