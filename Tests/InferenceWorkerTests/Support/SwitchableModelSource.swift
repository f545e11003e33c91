import InferenceCore
import InferenceWorker
import Synchronization

/// A model source a test changes at will: a new version (like the registry after a hot reload), or
/// no model at all (like a registry whose versions all fail).
final class SwitchableModelSource: ModelSource {
    private let model: Mutex<LoadedModel?>
    init(_ model: LoadedModel?) { self.model = Mutex(model) }
    func set(_ newValue: LoadedModel?) { model.withLock { $0 = newValue } }
    var current: LoadedModel? { model.withLock { $0 } }
    func prepare() {}
    func watch() async throws {
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }
    var unavailableReason: String { "removed by the test" }
}
