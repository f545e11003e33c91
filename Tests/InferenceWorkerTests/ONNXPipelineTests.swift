import Crypto
import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

/// An `onnx` bundle served by the pipeline from a model root watched by the registry, on the embedded
/// broker: rows ONNX Runtime fails on are dead-lettered alone, and a new version dropped into the
/// root takes over live (issue 15's hot reload and row isolation, end to end rather than on the scorer).
@Suite struct ONNXPipelineTests {
    /// `Tests/InferenceCoreTests/Fixtures/<path>`.
    static func fixture(_ path: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InferenceCoreTests/Fixtures/\(path)")
    }

    /// Copies the gather-index bundle to `<root>/gather-index/<version>` (by rename, as an operator
    /// should, so the registry never sees half a bundle), optionally with another graph.
    static func install(into root: URL, version: String, graph: String? = nil) throws {
        let staging = root.appendingPathComponent(".staging-\(version)")
        try FileManager.default.copyItem(at: fixture("onnx/gather-index/1"), to: staging)
        let manifestURL = staging.appendingPathComponent("manifest.json")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        manifest["version"] = version
        if let graph {
            let data = try Data(contentsOf: fixture("onnx-variants/\(graph).onnx"))
            try data.write(to: staging.appendingPathComponent("model.onnx"))
            var files = manifest["files"] as? [String: Any] ?? [:]
            files["model.onnx"] = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            manifest["files"] = files
        }
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: manifestURL)
        try FileManager.default.moveItem(at: staging, to: root.appendingPathComponent("gather-index/\(version)"))
    }

    /// `{"id": .., "features": {"index": i, "x": x}}`; the graph answers table[index] + x, with
    /// table = [10, 20, 30, 40, 50], and fails for an index outside 0...4.
    static func request(id: String, index: Int, x: Double) -> [UInt8] {
        Array("{\"id\":\"\(id)\",\"features\":{\"index\":\(index),\"x\":\(x)}}".utf8)
    }

    @Test(.timeLimit(.minutes(2))) func rowsTheRuntimeFailsOnAreDeadLetteredAloneAndANewVersionTakesOverLive() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("gather-index"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.install(into: root, version: "1")
        let registry = ModelRegistry(configuration: .init(root: root, modelName: "gather-index", pollInterval: .milliseconds(200)), logger: .quiet)
        registry.refresh()
        try #require(registry.current?.version == "1", "version 1 loads (ONNX Runtime comes from \(ONNXRuntimeConfiguration.environmentVariable), which make test sets): \(registry.unavailableReason)")
        let harness = try PipelineHarness()
        let pipeline = InferencePipeline(configuration: harness.configuration(), models: registry, logger: .quiet)
        let running = RunningPipeline(pipeline: pipeline, task: Task { try await pipeline.run() })
        try await running.waitUntilAssigned()

        // 200 requests; every 25th has index 7: valid for the schema (-100...100), but outside the
        // graph's table, so ONNX Runtime fails on it and on any batch that holds it.
        let bad = Set(stride(from: 3, to: 200, by: 25))
        var expected: [String: Double] = [:]
        var values: [[UInt8]?] = []
        for i in 0..<200 {
            let x = Double(i % 100) / 100 - 0.5
            let index = bad.contains(i) ? 7 : i % 5
            values.append(Self.request(id: "a\(i)", index: index, x: x))
            if !bad.contains(i) { expected["a\(i)"] = Double(10 * (index + 1)) + x }
        }
        try await harness.send(values)
        #expect(await harness.waitForOutcomes(200))
        let first = harness.predictions
        #expect(first.count == 200 - bad.count, "every row but the failing ones is published")
        for prediction in first {
            #expect(prediction.modelVersion == "1")
            let want = try #require(expected[prediction.id], "\(prediction.id) failed in ONNX Runtime; it must not have a prediction")
            #expect(abs(prediction.score - want) <= 1e-5 * max(1, abs(want)), "\(prediction.id): \(prediction.score), want \(want)")
        }
        let letters = harness.deadLetterRecords
        #expect(letters.count == bad.count)
        for letter in letters {
            #expect(letter.headers.value("inference.errors.reason") == "model_failure")
            #expect(letter.headers.value("__connect.errors.class.name") == "InferenceCore.ExternalModelKernel")
            #expect(letter.headers.value("__connect.errors.exception.message")?.hasPrefix("the model runtime failed on this row") == true)
            #expect(letter.headers.value("inference.model.version") == "1")
        }

        // Version 2 (the same table behind an int32 index input) is dropped into the root while the
        // pipeline runs: the registry loads it, and the next requests are served by it.
        try Self.install(into: root, version: "2", graph: "gather-index-int32")
        let deadline = ContinuousClock.now + .seconds(30)
        while registry.current?.version != "2" && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(registry.current?.version == "2", "the registry picked up version 2")
        let second = (0..<100).map { Self.request(id: "b\($0)", index: $0 % 5, x: 0.25) }
        try await harness.send(second)
        #expect(await harness.waitForOutcomes(300))
        let later = harness.predictions.filter { $0.id.hasPrefix("b") }
        #expect(later.count == 100)
        for prediction in later {
            #expect(prediction.modelVersion == "2", "\(prediction.id) served by the version in service")
            let index = Int(prediction.id.dropFirst())! % 5
            #expect(abs(prediction.score - (Double(10 * (index + 1)) + 0.25)) <= 1e-5 * 50)
        }
        try await running.stop()
        await harness.close()
    }
}
