import Foundation
@testable import InferenceCore
import Testing

/// The quality report example in docs/quality.md decodes, and its metrics are what its state gives.
@Suite struct QualityDocumentationTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theDocumentedReportIsConsistent() throws {
        let text = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("docs/quality.md"), encoding: .utf8)
        let marker = try #require(text.range(of: "<!-- example: quality-report -->"))
        let open = try #require(text.range(of: "```json\n", range: marker.upperBound..<text.endIndex))
        let close = try #require(text.range(of: "```", range: open.upperBound..<text.endIndex))
        let json = Data(text[open.upperBound..<close.lowerBound].utf8)
        let documented = try QualityReport.decode(json)
        let recomputed = QualityReport(
            modelName: documented.modelName, modelVersion: documented.modelVersion, workerIDs: documented.workerIDs,
            windowStartMs: documented.windowStartMs, windowEndMs: documented.windowEndMs, closedBy: documented.closedBy,
            task: documented.task, counts: documented.counts, classification: documented.classification, regression: documented.regression,
            labelDelay: documented.labelDelay, delayQuantileLevels: documented.delayQuantileLevels
        ).metrics
        let shown = documented.metrics
        func same(_ a: Double?, _ b: Double?, _ digits: Double) -> Bool {
            guard let a, let b else { return false }
            return abs(a - b) <= 0.5 * pow(10, -digits) + 1e-12
        }
        #expect(same(recomputed.accuracy, shown.accuracy, 4))
        #expect(same(recomputed.logLoss, shown.logLoss, 4))
        #expect(same(recomputed.brierScore, shown.brierScore, 4))
        #expect(same(recomputed.rocAUC, shown.rocAUC, 4))
        #expect(recomputed.rocAUCMaxError == 0 && shown.rocAUCMaxError == 0)
        #expect(same(recomputed.precision, shown.precision, 4))
        #expect(same(recomputed.recall, shown.recall, 4))
        #expect(same(recomputed.labelCoverage, shown.labelCoverage, 4))
        for level in ["0.5", "0.9", "0.99"] {
            #expect(same(recomputed.labelDelaySeconds?[level], shown.labelDelaySeconds?[level], 3), "delay q\(level)")
        }
        #expect(documented.labelDelay.count == documented.counts.labelled)
        #expect(documented.classification?.count == documented.counts.labelled)
        #expect(documented.classification?.auc.first.map { $0.positiveCount + $0.negativeCount } == documented.counts.labelled)
    }
}
