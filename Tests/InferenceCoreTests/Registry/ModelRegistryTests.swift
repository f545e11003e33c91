import Foundation
import Synchronization
import Testing
@testable import InferenceCore

@Suite("Model registry and hot reload")
struct ModelRegistryTests {
    func registry(_ root: URL, policy: ModelSelectionPolicy = .latest, name: String = "toy") -> ModelRegistry {
        ModelRegistry(configuration: .init(root: root, modelName: name, policy: policy))
    }

    func rejectedVersions(_ registry: ModelRegistry) -> [String] {
        registry.events.compactMap { event in
            if case .rejected(let version, _) = event.kind { version } else { nil }
        }
    }

    @Test func latestPicksTheHighestVersionNumerically() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        for version in ["1", "9", "10"] {
            try TestSupport.writeLinearBundle(root: root, version: version, bias: Float(version)!, referenceExpectedBias: Float(version)!)
        }
        let registry = registry(root)
        #expect(registry.current == nil)
        #expect(registry.refresh() == .activated(version: "10"))
        #expect(registry.current?.version == "10")
        #expect(registry.refresh() == .unchanged)
        try TestSupport.writeLinearBundle(root: root, version: "11", bias: 11)
        #expect(registry.refresh() == .activated(version: "11"))
        guard case .activated("11", "10")? = registry.events.last?.kind else { Issue.record("\(registry.events)"); return }
    }

    @Test func pinnedServesOnlyThePinnedVersion() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        for version in ["1", "2", "3"] { try TestSupport.writeLinearBundle(root: root, version: version, bias: Float(version)!) }
        let pinned = registry(root, policy: .pinned("2"))
        #expect(pinned.refresh() == .activated(version: "2"))
        try TestSupport.writeLinearBundle(root: root, version: "4", bias: 4)
        #expect(pinned.refresh() == .unchanged)
        #expect(pinned.current?.version == "2")

        let missing = registry(root, policy: .pinned("7"))
        #expect(missing.refresh() == .noModel)
        #expect(missing.refresh() == .noModel)
        let reports = missing.events.filter { if case .pinnedVersionMissing("7") = $0.kind { true } else { false } }
        #expect(reports.count == 1)  // reported once, not on every poll
    }

    @Test func badBundleNeverReplacesAGoodOne() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestSupport.writeLinearBundle(root: root, version: "1", bias: 1, referenceExpectedBias: 1)
        let registry = registry(root)
        #expect(registry.refresh() == .activated(version: "1"))

        // Version 2: a tampered weights file.
        let tampered = try TestSupport.writeLinearBundle(root: root, version: "2", bias: 2, referenceExpectedBias: 2)
        try TestSupport.float32Data([5]).write(to: tampered.appendingPathComponent("weights.f32"))
        // Version 3: consistent files, but the reference outputs disagree with the weights.
        try TestSupport.writeLinearBundle(root: root, version: "3", bias: 3, referenceExpectedBias: 30)
        // Version 4: the manifest names another version than its directory.
        try TestSupport.writeLinearBundle(root: root, version: "4", bias: 4, manifestVersion: "5")

        #expect(registry.refresh() == .unchanged)
        #expect(registry.current?.version == "1")
        #expect(registry.refresh() == .unchanged)  // failures are reported once, not on every poll
        #expect(rejectedVersions(registry).sorted() == ["2", "3", "4"])
        #expect(registry.status.currentVersion == "1")
        #expect(registry.status.failingVersions.keys.sorted() == ["2", "3", "4"])
        let codes = registry.events.compactMap { event -> ModelBundleError.Code? in
            if case .rejected(_, let error) = event.kind { error.code } else { nil }
        }
        #expect(Set(codes) == [.digestMismatch, .selfTestFailed, .manifestInvalid])

        // Fixing version 3 in place activates it.
        try TestSupport.writeLinearBundle(root: root, version: "3", bias: 3, referenceExpectedBias: 3)
        #expect(registry.refresh() == .activated(version: "3"))
        // 2 is still broken on disk (no longer tried: it is below the serving version); 4 is still broken.
        #expect(registry.status.failingVersions.keys.sorted() == ["2", "4"])
        try FileManager.default.removeItem(at: root.appendingPathComponent("toy/4"))
        registry.refresh()
        #expect(registry.status.failingVersions.keys.sorted() == ["2"])
    }

    @Test func startupFallsBackToTheNewestGoodVersion() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestSupport.writeLinearBundle(root: root, version: "1", bias: 1)
        let broken = try TestSupport.writeLinearBundle(root: root, version: "2", bias: 2)
        try FileManager.default.removeItem(at: broken.appendingPathComponent("bias.f32"))
        let registry = registry(root)
        #expect(registry.refresh() == .activated(version: "1"))
        #expect(rejectedVersions(registry) == ["2"])
    }

    @Test func bundleStillBeingCopiedIsPickedUpWhenComplete() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestSupport.writeLinearBundle(root: root, version: "1", bias: 1)
        let registry = registry(root)
        #expect(registry.refresh() == .activated(version: "1"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("toy/2"), withIntermediateDirectories: true)
        #expect(registry.refresh() == .unchanged)  // no manifest yet
        try TestSupport.writeLinearBundle(root: root, version: "2", bias: 2)
        #expect(registry.refresh() == .activated(version: "2"))
    }

    @Test func missingModelDirectoryIsReportedNotFatal() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let registry = registry(root, name: "absent")
        #expect(registry.refresh() == .noModel)
        guard case .scanFailed(let error)? = registry.events.first?.kind else { Issue.record("\(registry.events)"); return }
        #expect(error.code == .noVersions)
    }

    @Test func inFlightBatchFinishesOnItsVersion() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestSupport.writeLinearBundle(root: root, version: "1", bias: 100)
        let registry = registry(root)
        registry.refresh()
        let grabbed = try #require(registry.current)
        try TestSupport.writeLinearBundle(root: root, version: "2", bias: 200)
        #expect(registry.refresh() == .activated(version: "2"))
        #expect(try grabbed.predict([[.number(1)]])[0].get().score == 101)
        #expect(try registry.current?.predict([[.number(1)]])[0].get().score == 201)
    }

    @Test func runPollsUntilCancelled() async throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestSupport.writeLinearBundle(root: root, version: "1", bias: 1)
        let registry = registry(root)
        let polls = Mutex(0)
        // The injected sleep counts polls, adds version 2 after the first one and cancels after the
        // second: no real waiting.
        let task = Task {
            try await registry.run { _ in
                let count = polls.withLock { count in
                    count += 1
                    return count
                }
                if count == 1 { try TestSupport.writeLinearBundle(root: root, version: "2", bias: 2) }
                if count == 2 { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(polls.withLock { $0 } == 2)
        #expect(registry.current?.version == "2")
    }

    @Test func configurationValidation() throws {
        let root = URL(fileURLWithPath: "/models")
        try ModelRegistry.Configuration(root: root, modelName: "fraud-mlp").validate()
        for bad in [
            ModelRegistry.Configuration(root: root, modelName: "../etc"),
            ModelRegistry.Configuration(root: root, modelName: "m", policy: .pinned("")),
            ModelRegistry.Configuration(root: root, modelName: "m", pollInterval: .zero),
            ModelRegistry.Configuration(root: root, modelName: "m", maxEvents: 0),
        ] {
            #expect(throws: ModelRegistryConfigurationError.self) { try bad.validate() }
        }
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    struct MixedBatch: Error {}

    @Test func hotSwapUnderConcurrentBatchesNeverMixesVersions() async throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestSupport.writeLinearBundle(root: root, version: "1", bias: 1000, referenceExpectedBias: 1000)
        let registry = registry(root)
        #expect(registry.refresh() == .activated(version: "1"))
        let rows = (0..<64).map { [RawFeatureValue.number(Double($0))] }
        let swapped = Flag()

        let observed = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var versions: [String] = []
                    var batchesAfterSwap = 0
                    while batchesAfterSwap < 3 {
                        if swapped.isSet { batchesAfterSwap += 1 }
                        let model = registry.current!  // once per batch
                        let bias = Float(model.version)! * 1000
                        for (row, result) in model.predict(rows).enumerated() {
                            // Every row of the batch must come from the version the batch grabbed.
                            guard try result.get().score == Float(row) + bias else { throw MixedBatch() }
                        }
                        versions.append(model.version)
                        await Task.yield()
                    }
                    return versions
                }
            }
            group.addTask {
                defer { swapped.set() }  // even if writing fails, so that the workers stop
                try TestSupport.writeLinearBundle(root: root, version: "3", bias: 3000, referenceExpectedBias: 42)  // fails self-test
                try TestSupport.writeLinearBundle(root: root, version: "2", bias: 2000, referenceExpectedBias: 2000)
                let outcome = registry.refresh()
                swapped.set()
                return ["outcome:\(outcome)"]
            }
            var all: [[String]] = []
            for try await versions in group { all.append(versions) }
            return all
        }

        let outcome = observed.first { $0.first?.hasPrefix("outcome:") == true }
        #expect(outcome == ["outcome:activated(version: \"2\")"])
        for versions in observed where versions.first?.hasPrefix("outcome:") != true {
            // Versions only move forward, and every worker ends on the new one.
            #expect(versions == versions.sorted())
            #expect(versions.last == "2")
            #expect(!versions.contains("3"))
        }
        #expect(registry.current?.version == "2")
        #expect(rejectedVersions(registry) == ["3"])
    }
}
