import Foundation
public import InferenceCore
public import Logging
import Synchronization

/// Loads named versions of one model from the model root, for roll-outs: the primary and the
/// candidate a roll-out record names are served side by side, whatever version the
/// ``ModelRegistry`` would pick by itself (latest or pinned).
///
/// ``model(version:)`` never blocks: a version not loaded yet is loaded on a utility queue (the
/// same checks as the registry: digests, shapes, self-test), and asked for again at the next batch.
/// A version that fails to load is logged once and tried again after ``retryInterval``; the caller
/// serves without it meanwhile (a candidate that cannot load never stops the primary path).
/// Versions not asked for during ``evictAfter`` are dropped, so a finished roll-out's candidate
/// does not stay in memory.
public final class ModelVersionLoader: Sendable {
    private struct Entry {
        var model: LoadedModel?
        var loading = false
        var failedAt: ContinuousClock.Instant?
        var lastFailure: String?
        var lastAsked: ContinuousClock.Instant
    }

    /// The registry's settings: root, model name, self-test, ONNX Runtime.
    public let configuration: ModelRegistry.Configuration
    /// How long a failed version waits before it is tried again; default 30 s.
    public let retryInterval: Duration
    /// Versions not asked for this long are unloaded; default 120 s.
    public let evictAfter: Duration
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])
    private let queue = DispatchQueue(label: "inference-worker.model-versions", qos: .utility)

    /// Creates a loader; nothing is loaded until asked.
    public init(configuration: ModelRegistry.Configuration, logger: Logger, retryInterval: Duration = .seconds(30), evictAfter: Duration = .seconds(120)) {
        self.configuration = configuration
        self.logger = logger
        self.retryInterval = retryInterval
        self.evictAfter = evictAfter
    }

    /// The loaded version, or nil while it loads or when it failed (then a load starts, at most
    /// once per ``retryInterval``).
    public func model(version: String) -> LoadedModel? {
        let now = ContinuousClock.now
        let (model, start) = entries.withLock { entries -> (LoadedModel?, Bool) in
            // Forget versions nobody asked for lately (cheap: a roll-out names two).
            if entries.count > 2 {
                entries = entries.filter { $0.key == version || $0.value.loading || $0.value.lastAsked.duration(to: now) < evictAfter }
            }
            var entry = entries[version] ?? Entry(lastAsked: now)
            entry.lastAsked = now
            defer { entries[version] = entry }
            if let model = entry.model { return (model, false) }
            if entry.loading { return (nil, false) }
            if let failedAt = entry.failedAt, failedAt.duration(to: now) < retryInterval { return (nil, false) }
            entry.loading = true
            return (nil, true)
        }
        if start { queue.async { [self] in load(version) } }
        return model
    }

    /// Loads `version` now, on the calling thread (tests; start-up).
    @discardableResult
    public func loadNow(_ version: String) -> LoadedModel? {
        entries.withLock { $0[version, default: Entry(lastAsked: .now)].loading = true }
        load(version)
        return entries.withLock { $0[version]?.model }
    }

    private func load(_ version: String) {
        let directory = configuration.modelDirectory.appendingPathComponent(version, isDirectory: true)
        let options = ModelBundle.LoadOptions(
            runSelfTest: configuration.runSelfTest, expectedName: configuration.modelName, expectedVersion: version,
            onnxRuntime: configuration.onnxRuntime)
        let result: Result<LoadedModel, ModelBundleError>
        do throws(ModelBundleError) {
            result = .success(try ModelBundle.load(from: directory, options: options))
        } catch {
            result = .failure(error)
        }
        let now = ContinuousClock.now
        let newFailure = entries.withLock { entries -> Bool in
            var entry = entries[version] ?? Entry(lastAsked: now)
            entry.loading = false
            defer { entries[version] = entry }
            switch result {
            case .success(let model):
                entry.model = model
                entry.failedAt = nil
                entry.lastFailure = nil
                return false
            case .failure(let error):
                entry.failedAt = now
                defer { entry.lastFailure = error.message }
                return entry.lastFailure != error.message
            }
        }
        switch result {
        case .success:
            logger.info("roll-out model version loaded", metadata: ["model.name": "\(configuration.modelName)", "model.version": "\(version)"])
        case .failure(let error):
            if newFailure {
                logger.error("roll-out model version cannot load; serving without it", metadata: [
                    "model.name": "\(configuration.modelName)", "model.version": "\(version)", "error": "\(error)",
                ])
            }
        }
    }
}
