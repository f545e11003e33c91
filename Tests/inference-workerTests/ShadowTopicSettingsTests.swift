import Foundation
@testable import inference_worker
@testable import InferenceWorker
import Logging
import Testing

/// `--shadow-topic`, resolved like every other setting, and the topic `run` creates for roll-outs;
/// shadow predictions that cannot be written are a metric.
@Suite struct ShadowTopicSettingsTests {
    static let required = QualitySettingsTests.required

    @Test func theShadowTopicDefaultsToTheOutputTopicPlusShadow() throws {
        var resolver = try WorkerSettingsResolver(options: try WorkerOptions.parse(Self.required + ["--output-topic", "scores"]), environment: [:])
        let configuration = try resolver.resolve()
        #expect(configuration.shadowTopic == nil)
        #expect(configuration.effectiveShadowTopic == "scores.shadow")
        #expect(WorkerRollouts.specifications(configuration, logger: Logger(label: "test")).map(\.name).contains("scores.shadow"))
    }

    @Test func theShadowTopicComesFromTheFlagTheEnvironmentOrTheFile() throws {
        var flag = try WorkerSettingsResolver(options: try WorkerOptions.parse(Self.required + ["--shadow-topic", "candidate-scores"]), environment: [:])
        let fromFlag = try flag.resolve()
        #expect(fromFlag.effectiveShadowTopic == "candidate-scores")
        #expect(flag.sources["shadow-topic"] == .flag)
        #expect(WorkerRollouts.specifications(fromFlag, logger: Logger(label: "test")).map(\.name).contains("candidate-scores"))

        var environment = try WorkerSettingsResolver(options: try WorkerOptions.parse(Self.required),
                                                     environment: ["INFERENCE_WORKER_SHADOW_TOPIC": "shadow-from-env"])
        #expect(try environment.resolve().effectiveShadowTopic == "shadow-from-env")
        #expect(environment.sources["shadow-topic"] == .environment)
    }

    @Test func droppedShadowPredictionsAreExported() {
        let metrics = WorkerMetrics()
        PipelineCounters(metrics: metrics).update { $0.shadowPredictionsDropped += 3 }
        #expect(metrics.render().split(separator: "\n").contains { $0.hasPrefix("\(WorkerMetrics.Name.shadowDropped) 3") })
    }
}
