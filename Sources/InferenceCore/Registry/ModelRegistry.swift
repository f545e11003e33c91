public import Foundation
public import Logging
import Synchronization

/// Serves the current version of one model and hot-reloads new versions from disk.
///
/// The registry watches `<root>/<modelName>/` by polling (`run()`, or `refresh()` called directly,
/// as tests do). A candidate version is loaded and validated (digests, shapes, self-test on the
/// bundle's reference rows) off the lock, then swapped in atomically. Callers read `current` once per
/// batch and keep that `LoadedModel` for the whole batch, so an in-flight batch finishes on the
/// version it started with. A version that fails to load is reported (`events`, `status`, and an info
/// log: a library logs at info or below, the application decides what to alert on) and the model
/// already serving keeps serving.
public final class ModelRegistry: Sendable {
    /// Where to look and what to serve.
    public struct Configuration: Sendable {
        /// The model root; versions live in `<root>/<modelName>/<version>/`.
        public var root: URL
        /// The model's directory name under `root` (and its manifest `name`).
        public var modelName: String
        /// Which version to serve. Default `.latest`.
        public var policy: ModelSelectionPolicy
        /// How often `run()` polls the directory. Default 5 seconds.
        public var pollInterval: Duration
        /// Run the bundle's self-test before activating a version. Default `true`.
        public var runSelfTest: Bool
        /// Events kept in `events` (oldest dropped first). Default 100.
        public var maxEvents: Int
        /// Where ONNX Runtime is and its threads, for `onnx` bundles. Default: found through
        /// `INFERENCE_WORKER_ONNXRUNTIME_LIBRARY` or the library search path, 1 thread.
        public var onnxRuntime: ONNXRuntimeConfiguration

        /// Creates a configuration; see each property for its default.
        public init(
            root: URL, modelName: String, policy: ModelSelectionPolicy = .latest, pollInterval: Duration = .seconds(5),
            runSelfTest: Bool = true, maxEvents: Int = 100, onnxRuntime: ONNXRuntimeConfiguration = ONNXRuntimeConfiguration()
        ) {
            self.onnxRuntime = onnxRuntime
            self.root = root
            self.modelName = modelName
            self.policy = policy
            self.pollInterval = pollInterval
            self.runSelfTest = runSelfTest
            self.maxEvents = maxEvents
        }

        /// `<root>/<modelName>/`.
        public var modelDirectory: URL { root.appendingPathComponent(modelName, isDirectory: true) }

        /// Rejects settings that cannot work, with a message naming the setting.
        public func validate() throws(ModelRegistryConfigurationError) {
            if modelName.isEmpty || modelName.contains("/") || modelName.hasPrefix(".") {
                throw ModelRegistryConfigurationError(setting: "modelName", message: "'\(modelName)' must be a plain directory name under the model root")
            }
            if case .pinned(let version) = policy, version.name.isEmpty || version.name.contains("/") {
                throw ModelRegistryConfigurationError(setting: "policy", message: "pinned version '\(version.name)' must be a plain directory name")
            }
            if pollInterval <= .zero {
                throw ModelRegistryConfigurationError(setting: "pollInterval", message: "must be positive, got \(pollInterval)")
            }
            if maxEvents < 1 {
                throw ModelRegistryConfigurationError(setting: "maxEvents", message: "must be at least 1, got \(maxEvents)")
            }
            do {
                try onnxRuntime.validate()
            } catch {
                throw ModelRegistryConfigurationError(setting: "onnxRuntime", message: error.message)
            }
        }
    }

    /// The result of one `refresh()`.
    public enum RefreshOutcome: Sendable, Equatable {
        /// A new version was activated.
        case activated(version: String)
        /// Nothing newer that loads: the current model (if any) keeps serving.
        case unchanged
        /// No version could be loaded and nothing serves yet.
        case noModel
    }

    struct State {
        var current: LoadedModel?
        var events: [ModelRegistryEvent] = []
        /// Last failure message per version: a bundle that keeps failing the same way is reported once.
        var lastFailure: [String: String] = [:]
        var lastScanFailure: String?
    }

    /// The configuration this registry was created with.
    public let configuration: Configuration
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let state = Mutex(State())
    /// Serialises refreshes so that two polls never load the same version twice; held while loading,
    /// never while serving (`current` uses `state`).
    private let refreshLock = Mutex(())

    /// Creates a registry; nothing is loaded until the first `refresh()` or `run()`.
    ///
    /// - Parameter now: the clock stamped on events (injectable for tests).
    public init(
        configuration: Configuration, logger: Logger = Logger(label: "inference.model-registry"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    /// The model serving now; read it once per batch and use that value for the whole batch.
    public var current: LoadedModel? { state.withLock { $0.current } }

    /// What the registry did and refused, oldest first (at most `maxEvents`).
    public var events: [ModelRegistryEvent] { state.withLock { $0.events } }

    /// A snapshot for health endpoints and logs.
    public struct Status: Sendable {
        /// The version serving, if any.
        public var currentVersion: String?
        /// Versions present on disk that failed to load on their last attempt -> the error message.
        public var failingVersions: [String: String]
    }

    /// What serves now and which versions on disk are failing.
    public var status: Status {
        state.withLock { state in
            Status(
                currentVersion: state.current?.version,
                failingVersions: state.lastFailure.filter { !$0.key.hasPrefix("pinned:") })
        }
    }

    /// Scans the model directory and activates the version the policy selects, if it is not serving
    /// yet and it loads. Blocking (disk reads, hashing, self-test): call it off the cooperative pool.
    @discardableResult
    public func refresh() -> RefreshOutcome {
        refreshLock.withLock { _ in refreshLocked() }
    }

    private func refreshLocked() -> RefreshOutcome {
        let serving = current
        let candidates: [ModelVersion]
        do throws(ModelBundleError) {
            let versions = try ModelBundle.versions(in: configuration.modelDirectory)
            let present = Set(versions.map(\.name))
            state.withLock { state in
                state.lastScanFailure = nil
                // Forget failures of versions that were removed, so `status` lists only what is on disk.
                state.lastFailure = state.lastFailure.filter { $0.key.hasPrefix("pinned:") || present.contains($0.key) }
            }
            switch configuration.policy {
            case .latest:
                candidates = versions.reversed()
            case .pinned(let pinned):
                candidates = versions.filter { $0 == pinned }
                if candidates.isEmpty, record(.pinnedVersionMissing(version: pinned.name), dedupeKey: "pinned:" + pinned.name, message: "missing") {
                    logger.info("pinned model version not found", metadata: metadata(version: pinned.name))
                }
            }
        } catch {
            let isNew = state.withLock { state in
                defer { state.lastScanFailure = error.message }
                return state.lastScanFailure != error.message
            }
            if isNew {
                appendEvent(.scanFailed(error))
                logger.info("model directory scan failed", metadata: ["model.name": "\(configuration.modelName)", "error": "\(error)"])
            }
            return serving == nil ? .noModel : .unchanged
        }

        for candidate in candidates {
            if let serving {
                // `.latest` never downgrades, and never reloads what serves.
                if candidate.name == serving.version { return .unchanged }
                if case .latest = configuration.policy, candidate < ModelVersion(serving.version) { return .unchanged }
            }
            let directory = configuration.modelDirectory.appendingPathComponent(candidate.name, isDirectory: true)
            let options = ModelBundle.LoadOptions(
                runSelfTest: configuration.runSelfTest, expectedName: configuration.modelName, expectedVersion: candidate.name,
                onnxRuntime: configuration.onnxRuntime)
            do throws(ModelBundleError) {
                let model = try ModelBundle.load(from: directory, options: options)
                let previous = state.withLock { state in
                    let previous = state.current?.version
                    state.current = model
                    state.lastFailure[candidate.name] = nil
                    return previous
                }
                appendEvent(.activated(version: candidate.name, previous: previous))
                var meta = metadata(version: candidate.name)
                if let previous { meta["model.previous_version"] = "\(previous)" }
                logger.info("model version activated", metadata: meta)
                return .activated(version: candidate.name)
            } catch {
                let isNew = state.withLock { state in
                    defer { state.lastFailure[candidate.name] = error.message }
                    return state.lastFailure[candidate.name] != error.message
                }
                var meta = metadata(version: candidate.name)
                meta["error.code"] = "\(error.code)"
                meta["error"] = "\(error)"
                if isNew {
                    appendEvent(.rejected(version: candidate.name, error: error))
                    logger.info("model version rejected; previous version keeps serving", metadata: meta)
                } else {
                    logger.debug("model version still rejected", metadata: meta)
                }
                // Try the next lower version only while nothing serves (or, pinned, never).
            }
        }
        return current == nil ? .noModel : .unchanged
    }

    /// Polls every `pollInterval` until the task is cancelled (then throws `CancellationError`).
    /// Each refresh runs on a Dispatch queue, not on the cooperative pool, because loading blocks on
    /// disk and hashing.
    ///
    /// - Parameter sleep: waits between polls; injectable so tests drive the loop without sleeping.
    public func run(sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) async throws {
        while true {
            try Task.checkCancellation()
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global(qos: .utility).async {
                    self.refresh()
                    continuation.resume()
                }
            }
            try await sleep(configuration.pollInterval)
        }
    }

    private func metadata(version: String) -> Logger.Metadata {
        ["model.name": "\(configuration.modelName)", "model.version": "\(version)"]
    }

    /// Appends the event unless the same `message` was last recorded under `dedupeKey`; returns whether it was new.
    @discardableResult
    private func record(_ kind: ModelRegistryEvent.Kind, dedupeKey: String, message: String) -> Bool {
        let isNew = state.withLock { state in
            defer { state.lastFailure[dedupeKey] = message }
            return state.lastFailure[dedupeKey] != message
        }
        if isNew { appendEvent(kind) }
        return isNew
    }

    private func appendEvent(_ kind: ModelRegistryEvent.Kind) {
        let event = ModelRegistryEvent(time: now(), kind: kind)
        let limit = Swift.max(configuration.maxEvents, 1)
        state.withLock { state in
            state.events.append(event)
            if state.events.count > limit { state.events.removeFirst(state.events.count - limit) }
        }
    }
}
