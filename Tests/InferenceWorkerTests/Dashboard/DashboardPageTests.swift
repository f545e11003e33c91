import Foundation
import InferenceCore
@testable import InferenceWorker
import Testing

@Suite struct DashboardPageTests {
    typealias F = DashboardFixtures

    @Test func thePageShowsQualityDriftOutputsAndAnEmptyRolloutWithoutExternalAssets() throws {
        let drift = F.driftReports(), quality = F.qualityReports()
        let html = DashboardPage.render(DashboardSnapshot(generatedAtMs: F.t0Ms + 200_000, driftReports: drift, qualityReports: quality))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("data-rollout-state=\"none\""))
        #expect(html.contains("data-metric=\"accuracy\" data-value=\"0.6\""), "latest window: 12 of 20")
        #expect(html.contains("data-metric=\"label_coverage\" data-value=\"\(20.0 / 24.0)\""))
        #expect(html.contains(">83.3%<"))
        let psi = try #require(drift.last?.column("amount")?.scores.psi)
        #expect(drift.last?.column("amount")?.verdict.level == .alert, "the fixture drifts amount in the last window")
        #expect(html.contains("class=\"level-alert\" data-psi=\"\(psi)\""))
        #expect(html.contains("data-feature=\"output.score\""))
        #expect(html.contains("<svg"))
        for external in ["<script", "src=", "href=\"http", "@import", "url("] {
            #expect(!html.contains(external), "no \(external) in a self-contained page")
        }
    }

    @Test func namesAreEscapedAndAnEmptySnapshotSaysWhatIsMissing() {
        let empty = DashboardPage.render(DashboardSnapshot(title: "<b>x</b>", generatedAtMs: 0))
        #expect(empty.contains("&lt;b&gt;x&lt;/b&gt;"))
        #expect(!empty.contains("<b>x</b>"))
        #expect(empty.contains("No drift or quality reports yet"))
        let rollout = DashboardPage.render(DashboardSnapshot(generatedAtMs: 0, rollout: DashboardRollout(state: "canary 10%", details: [.init(name: "candidate", value: "8")])))
        #expect(rollout.contains("data-rollout-state=\"canary 10%\""))
        #expect(rollout.contains("<th>candidate</th><td>8</td>"))
    }

    @Test func replicasReportsOfOneWindowAreMergedOnThePage() throws {
        let a = F.qualityReports(workerID: "a"), b = F.qualityReports(workerID: "b")
        let merged = DashboardPage.mergedQualityWindows(a + b)
        #expect(merged.count == 2)
        #expect(merged.map(\.workerIDs) == [["a", "b"], ["a", "b"]])
        #expect(merged[1].counts.labelled == 40)
        let drift = DashboardPage.mergedDriftWindows(F.driftReports(workerID: "a") + F.driftReports(workerID: "b"))
        #expect(drift.count == 3 && drift[2].rowCount == 800)
    }

    @Test func recentReportsKeepsABoundedNumberOfWindowsAndVersions() {
        let store = RecentReports(windowsPerVersion: 2, maxVersions: 1)
        for report in F.driftReports() { store.add(report) }
        store.add(F.driftReports()[2]) // the same window again: replaced, not added
        var snapshot = store.dashboardSnapshot(nowMs: 0)
        #expect(snapshot.driftReports.map(\.windowEndMs) == F.driftReports().suffix(2).map(\.windowEndMs))
        var newer = F.qualityReports()[1]
        newer.modelVersion = "8"
        store.add(F.qualityReports()[0])
        store.add(newer)
        snapshot = store.dashboardSnapshot(nowMs: 0)
        #expect(snapshot.qualityReports.map(\.modelVersion) == ["8"], "one version kept: the most recent")
    }

    @Test func theReportCommandKeepsReportsOfThePeriodAndCountsTheRest() throws {
        var collector = ReportCollector(fromMs: F.t0Ms + 60_000, toMs: F.t0Ms + 180_000)
        for report in F.driftReports() { collector.addDriftRecord(Array(try report.jsonData())) }
        for report in F.qualityReports() { collector.addQualityRecord(Array(try report.jsonData())) }
        collector.addDriftRecord(Array("not a report".utf8))
        collector.addQualityRecord(Array(try F.driftReports()[0].jsonData())) // a drift report on the quality topic
        #expect(collector.driftReports.count == 2, "windows ending at +120 s and +180 s overlap the period; +60 s does not")
        #expect(collector.qualityReports.count == 1)
        #expect(collector.outsidePeriod == 2)
        #expect(collector.undecodable == 2)
        let html = DashboardPage.render(collector.snapshot())
        #expect(html.contains("2 unreadable records skipped"))
        #expect(html.contains("data-metric=\"accuracy\" data-value=\"0.6\""))
    }

    @Test func timesOfTheCommandLine() {
        let now: Int64 = 1_800_000_000_000
        #expect(ReportCollector.parseTime("now", nowMs: now) == now)
        #expect(ReportCollector.parseTime("1700000000000", nowMs: now) == 1_700_000_000_000)
        #expect(ReportCollector.parseTime("-2h", nowMs: now) == now - 7_200_000)
        #expect(ReportCollector.parseTime("-90m", nowMs: now) == now - 5_400_000)
        #expect(ReportCollector.parseTime("2024-01-01T00:00:00Z", nowMs: now) == 1_704_067_200_000)
        #expect(ReportCollector.parseTime("2024-01-01T00:00:00.250+01:00", nowMs: now) == 1_704_063_600_250)
        #expect(ReportCollector.parseTime("yesterday", nowMs: now) == nil)
        #expect(ReportCollector.parseTime("-2w", nowMs: now) == nil)
    }
}
