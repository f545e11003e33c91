import ArgumentParser
import Foundation
@testable import inference_worker
import Testing

/// `--labels-topic`, `--quality-topic` and the quality windows, resolved like every other setting,
/// and the topics `run` checks or creates.
@Suite struct QualitySettingsTests {
    static let required = ["--bootstrap-servers", "localhost:9092", "--input-topics", "requests", "--model-root", "/m", "--model-name", "m"]

    @Test func withoutALabelsTopicQualityIsOffAndNoTopicIsAdded() throws {
        var resolver = try WorkerSettingsResolver(options: try WorkerOptions.parse(Self.required), environment: [:])
        let configuration = try resolver.resolve()
        #expect(configuration.labelsTopic == nil)
        #expect(configuration.effectiveQualityTopic == nil)
        #expect(WorkerTopics.specifications(configuration).map(\.name).sorted() == ["inference-drift", "predictions", "requests", "requests.DLT"])
    }

    @Test func labelsTopicFlagsAndEnvironmentAreResolved() throws {
        var resolver = try WorkerSettingsResolver(
            options: try WorkerOptions.parse(Self.required + ["--labels-topic", "truth", "--quality-window-records", "500", "--quality-window", "30s"]),
            environment: ["INFERENCE_WORKER_QUALITY_TOPIC": "quality-reports"]
        )
        let configuration = try resolver.resolve()
        #expect(configuration.labelsTopic == "truth")
        #expect(configuration.effectiveQualityTopic == "quality-reports")
        #expect(resolver.sources["quality-topic"] == .environment)
        #expect(configuration.quality.windowRecordCount == 500)
        #expect(configuration.quality.windowDuration == .seconds(30))
        let specifications = WorkerTopics.specifications(configuration)
        #expect(specifications.map(\.name).contains("truth"))
        #expect(specifications.map(\.name).contains("quality-reports"))
        // Created co-partitioned with the request topic.
        #expect(specifications.first { $0.name == "truth" }?.partitions == specifications.first { $0.name == "requests" }?.partitions)
    }

    @Test func aLabelsTopicThatIsAlsoTheRequestTopicIsRefused() throws {
        var resolver = try WorkerSettingsResolver(options: try WorkerOptions.parse(Self.required + ["--labels-topic", "requests"]), environment: [:])
        #expect(throws: ValidationError.self) { try resolver.resolve() }
    }
}
