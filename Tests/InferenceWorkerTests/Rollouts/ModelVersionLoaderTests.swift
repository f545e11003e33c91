import Foundation
import InferenceCore
import InferenceWorker
import Logging
import Testing

/// The roll-out's versions loaded from a model root next to the registry's own, without ever
/// blocking the caller; a version that cannot load is reported and left out.
@Suite struct ModelVersionLoaderTests {
    /// A model root holding `fraud-mlp` versions copied from the repository's bundle (the manifest's
    /// version rewritten to match the directory), plus `broken` versions whose weights were cut.
    static func modelRoot(versions: [String], broken: [String] = []) throws -> URL {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let source = repository.appendingPathComponent("models/fraud-mlp/1")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("versions-\(UUID().uuidString)")
        for version in versions + broken {
            let directory = root.appendingPathComponent("fraud-mlp/\(version)")
            try FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source, to: directory)
            let manifestURL = directory.appendingPathComponent("manifest.json")
            var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
            manifest["version"] = version
            try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: manifestURL)
            if broken.contains(version) {
                try Data([1, 2, 3]).write(to: directory.appendingPathComponent("layer0_weights.f32"))
            }
        }
        return root
    }

    func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return condition()
    }

    @Test func namedVersionsLoadInTheBackgroundAndABrokenOneStaysOut() async throws {
        let root = try Self.modelRoot(versions: ["1", "2"], broken: ["3"])
        defer { try? FileManager.default.removeItem(at: root) }
        let registry = ModelRegistry(configuration: .init(root: root, modelName: "fraud-mlp", policy: .pinned(ModelVersion("1"))), logger: .quiet)
        registry.refresh()
        let service = ModelRegistryService(registry: registry, logger: .quiet)
        let source = service.pipelineSource
        #expect(source.current?.version == "1")
        #expect(source.model(version: "1")?.version == "1", "the registry's own version is answered at once")
        #expect(source.model(version: "2") == nil, "not loaded on the caller's thread")
        #expect(try await eventually { source.model(version: "2") != nil })
        #expect(source.model(version: "2")?.version == "2")
        #expect(source.current?.version == "1", "the registry keeps its own choice")

        #expect(source.model(version: "3") == nil)
        #expect(source.model(version: "missing") == nil)
        // Both were tried (and failed) without the caller waiting; they stay out.
        try await Task.sleep(for: .milliseconds(500))
        #expect(source.model(version: "3") == nil && source.model(version: "missing") == nil)
        #expect(service.versions.loadNow("3") == nil, "a broken bundle does not load")
        #expect(service.versions.loadNow("2")?.version == "2")
    }
}
