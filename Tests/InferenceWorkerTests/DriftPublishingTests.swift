import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

@Suite struct DriftPublishingTests {
    /// The test scorer with a training baseline matching ``TestModels/request(_:id:)``'s distribution:
    /// x0, x1, x2 uniform over [-100, 100], colours equally likely.
    static func modelWithBaseline() throws -> LoadedModel {
        let uniform = #"{"bin_edges": [-100, -50, 0, 50, 100], "proportions": [0.25, 0.25, 0.25, 0.25], "count": 10000, "mean": 0, "std": 57.7, "missing_rate": 0}"#
        let colours = #"{"categories": {"red": 0.3333, "green": 0.3333, "blue": 0.3334}, "count": 10000, "missing_rate": 0}"#
        let json = #"{"features": {"x0": \#(uniform), "x1": \#(uniform), "x2": \#(uniform), "color": \#(colours)}}"#
        let baseline = try JSONDecoder().decode(ModelBaseline.self, from: Data(json.utf8))
        let plain = TestModels.scorer()
        return LoadedModel(name: plain.name, version: plain.version, kind: plain.kind, schema: plain.schema,
                           kernel: plain.kernel!, output: plain.output, baseline: baseline)
    }

    @Test func windowsArePublishedPerModelAndAShiftedFeatureIsFlagged() async throws {
        let harness = try PipelineHarness()
        try harness.broker.createTopic("inference-drift", partitions: 1)
        let reports = ConsumerProbe()
        let reader = try reports.makeConsumer(.test(harness.broker, group: uniqueName("drift-reader"), topics: ["inference-drift"]))
        var configuration = harness.configuration(worker: "drift-worker")
        configuration.driftTopic = "inference-drift"
        configuration.driftWindowRecords = 400
        // Windows also close at multiples of driftWindow since the epoch (60 s by default): a
        // minute boundary inside this ~15 s test closed a window early and shifted every later
        // report by one (seen once in four runs). A day makes that practically impossible.
        configuration.driftWindow = .seconds(86_400)
        let running = harness.start(configuration, model: try Self.modelWithBaseline())
        try await running.waitUntilAssigned()

        // Two windows drawn from the baseline's distribution, then one where x0 sits at the top. A
        // window closes at the first check after it holds 400 rows, so each is sent and reported
        // before the next.
        try await harness.send((0..<400).map { TestModels.request($0).json })
        #expect(await reports.wait { $0.records.count >= 1 } != nil)
        try await harness.send((400..<800).map { TestModels.request($0).json })
        #expect(await reports.wait { $0.records.count >= 2 } != nil)
        let shifted = (0..<400).map { i in Array("{\"features\":[\(90 + Double(i % 10)),\(Double((i * 7) % 200) - 100),\(Double((i * 13) % 200) - 100),\"red\"]}".utf8) }
        try await harness.send(shifted)
        #expect(await reports.wait { $0.records.count >= 3 } != nil)
        try await running.stop()

        let published = reports.snapshot.records
        await reader.close()
        await harness.close()
        func report(_ record: ReceivedRecord) throws -> [String: Any] {
            let value = try #require(record.value)
            return try #require(try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any])
        }
        for record in published {
            #expect(record.key == Array("scorer".utf8), "keyed by model name")
            let json = try report(record)
            #expect(json["model_version"] as? String == "1")
            #expect(json["worker_ids"] as? [String] == ["drift-worker"])
        }
        let drifted = try published.map { try (report($0)["dataset"] as? [String: Any])?["drifted_features"] as? [String] ?? [] }
        #expect(drifted.first == [], "no false alert on in-distribution data: \(drifted)")
        #expect(drifted.dropFirst().first == [], "no false alert on in-distribution data: \(drifted)")
        // x0 moved to the top bin; the colour is always red: both drift.
        #expect(drifted.contains { $0.contains("x0") && $0.contains("color") && !$0.contains("x1") }, "\(drifted)")
    }
}
