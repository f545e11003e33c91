import Foundation
import InferenceCore
import InferenceWorker
import Testing

/// `/dashboard`'s roll-out section follows the record the pipeline follows.
@Suite struct RolloutDashboardTests {
    @Test func thePageShowsTheFollowedRecordAndThePlaceholderWithoutOne() async throws {
        let harness = try PipelineHarness()
        var record = try RolloutServingTests.record(.canary(fraction: 0.1))
        let source = FakeRolloutSource(record)
        let models = VersionedModelSource(current: "1", [RolloutServingTests.v1, RolloutServingTests.v2Agreeing])
        let pipeline = InferencePipeline(configuration: harness.configuration(), models: models, logger: .quiet, rollouts: source)

        var html = DashboardPage.render(pipeline.recentReports.dashboardSnapshot(nowMs: 0))
        #expect(html.contains("data-rollout-state=\"canary 10 %\""), "the running roll-out's mode")
        #expect(html.contains("<th>candidate</th><td>2</td>"))
        #expect(html.contains("<th>primary</th><td>1</td>"))

        // A decision taken by the group shows at the next rendering.
        record.state = .rolledBack
        record.decisions.append(RolloutDecision(action: .rollBack, reason: "agreement 0.41 below 0.95", manual: false, window: nil, evidence: nil,
                                                decidedAtMs: 0, decidedBy: "worker-a"))
        source.set(record)
        html = DashboardPage.render(pipeline.recentReports.dashboardSnapshot(nowMs: 0))
        #expect(html.contains("data-rollout-state=\"rolled back\""))
        #expect(html.contains("roll_back (by the policy): agreement 0.41 below 0.95"))

        source.set(nil)
        html = DashboardPage.render(pipeline.recentReports.dashboardSnapshot(nowMs: 0))
        #expect(html.contains("data-rollout-state=\"none\""))
        await harness.close()
    }
}
