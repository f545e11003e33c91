import Foundation
@testable import InferenceCore
import Testing

@Suite struct QualityReportMergeTests {
    typealias F = QualityFixtureTests

    /// Two replicas see interleaved halves of a fixture case; a third sees all of it.
    static func replicasAndUnion(_ name: String, configuration: QualityConfiguration = QualityConfiguration(windowRecordCount: 1_000_000)) throws -> (QualityReport, QualityReport, QualityReport) {
        let c = try #require(F.fixtures.cases.first { $0.name == name })
        func part(_ keep: (Int) -> Bool, worker: String) throws -> QualityReport {
            var slice = c
            let rows = (0..<c.expected.count).filter(keep)
            slice.scores = c.scores.map { s in rows.map { s[$0] } }
            slice.probabilities = c.probabilities.map { p in rows.map { p[$0] } }
            slice.truth = c.truth.map { t in rows.map { t[$0] } }
            slice.targets = c.targets.map { t in rows.map { t[$0] } }
            slice.delays_ms = rows.map { c.delays_ms[$0] }
            slice.expected.count = rows.count
            var report = try F.report(slice, configuration: configuration)
            report.workerIDs = [worker]
            return report
        }
        return (try part({ $0 % 2 == 0 }, worker: "a"), try part({ $0 % 2 == 1 }, worker: "b"), try part({ _ in true }, worker: "a"))
    }

    @Test(arguments: ["binary-ties-and-extremes", "binary-many-distinct-scores", "multiclass-4", "regression"])
    func mergingReplicasEqualsScoringTheUnion(_ name: String) throws {
        let (a, b, union) = try Self.replicasAndUnion(name)
        let merged = try QualityReport.merge([a, b])
        #expect(merged.workerIDs == ["a", "b"])
        #expect(merged.closedBy == .merged)
        #expect(merged.counts == union.counts)
        #expect(merged.labelDelay == union.labelDelay, "sketches add up exactly")
        #expect(merged.metrics.labelDelaySeconds == union.metrics.labelDelaySeconds)
        if let m = merged.classification, let u = union.classification {
            #expect(m.confusion == u.confusion)
            #expect(m.auc == u.auc, "AUC state equals the union's, exact or binned")
            #expect(abs(m.logLossSum - u.logLossSum) <= 1e-9 * u.logLossSum)
            #expect(merged.metrics.accuracy == union.metrics.accuracy)
            #expect(merged.metrics.rocAUC == union.metrics.rocAUC)
            #expect(merged.metrics.precision == union.metrics.precision)
            #expect(abs(merged.metrics.brierScore! - union.metrics.brierScore!) <= 1e-12)
        } else {
            let m = try #require(merged.regression), u = try #require(union.regression)
            #expect(m.count == u.count)
            #expect(abs(merged.metrics.rootMeanSquaredError! - union.metrics.rootMeanSquaredError!) <= 1e-9)
        }
    }

    @Test func exactHalvesWhoseUnionOverflowsMergeIntoTheUnionsBins() throws {
        // Each half holds ≤ 3,000 distinct scores; with a cap of 4,000 they stay exact, the union bins.
        var configuration = QualityConfiguration(windowRecordCount: 1_000_000)
        configuration.aucMaxExactScores = 4000
        let (a, b, union) = try Self.replicasAndUnion("binary-many-distinct-scores", configuration: configuration)
        #expect(a.classification?.auc[0].mode == .exact && b.classification?.auc[0].mode == .exact)
        #expect(union.classification?.auc[0].mode == .binned)
        let merged = try QualityReport.merge([a, b])
        #expect(merged.classification?.auc == union.classification?.auc)
        #expect(merged.metrics.rocAUC == union.metrics.rocAUC)
    }

    @Test func jsonRoundTripsAndMergesTheSame() throws {
        let (a, b, _) = try Self.replicasAndUnion("multiclass-4")
        let decodedA = try QualityReport.decode(a.jsonData())
        let decodedB = try QualityReport.decode(b.jsonData())
        #expect(decodedA == a)
        #expect(try QualityReport.merge([decodedA, decodedB]) == QualityReport.merge([a, b]))
        let object = try #require(try JSONSerialization.jsonObject(with: a.jsonData()) as? [String: Any])
        #expect(object["format"] as? String == "quality-report/1")
        for key in ["model_name", "model_version", "worker_ids", "window_start_ms", "window_end_ms", "closed_by", "task", "counts",
                    "classification", "label_delay", "delay_quantile_levels", "metrics"] {
            #expect(object[key] != nil, "key \(key)")
        }
        let metrics = try #require(object["metrics"] as? [String: Any])
        for key in ["accuracy", "log_loss", "brier_score", "roc_auc", "roc_auc_max_error", "roc_auc_per_class", "label_coverage", "label_delay_seconds"] {
            #expect(metrics[key] != nil, "metrics key \(key)")
        }
    }

    @Test func inconsistentOrMismatchedReportsAreRefusedNotTrapped() throws {
        let (a, _, _) = try Self.replicasAndUnion("binary-ties-and-extremes")
        var other = a
        other.modelVersion = "2"
        #expect(throws: QualityReportMergeError.self) { try QualityReport.merge([a, other]) }
        #expect(throws: QualityReportMergeError.self) { try QualityReport.merge([]) }
        var relabelled = a
        relabelled.classification?.labels = ["no", "yes"]
        #expect(throws: QualityReportMergeError.self) { try QualityReport.merge([a, relabelled]) }

        var text = String(decoding: try a.jsonData(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"confusion\":[[", with: "\"confusion\":[[7,")
        #expect(throws: (any Error).self) { try QualityReport.decode(Data(text.utf8)) }
        var shortCounts = String(decoding: try a.jsonData(), as: UTF8.self)
        shortCounts = shortCounts.replacingOccurrences(of: "\"negatives\":[", with: "\"negatives\":[1,")
        #expect(throws: (any Error).self) { try QualityReport.decode(Data(shortCounts.utf8)) }
    }

    @Test func binnedAUCBoundsTheExactValue() throws {
        // Hand-made: positives at 0.9 and 0.5005, negatives at 0.5001 and 0.1; 0.5001 and 0.5005 share a
        // bin of 1/1024, so the binned AUC counts that pair ½ (exact: 1).
        var counts: [Float: (positives: Int, negatives: Int)] = [:]
        counts[0.9] = (1, 0); counts[0.5005] = (1, 0); counts[0.5001] = (0, 1); counts[0.1] = (0, 1)
        let exact = AUCAccumulator(counts: counts, maxExactScores: 10, binCount: 1024)
        #expect(exact.auc == 1 && exact.maxError == 0)
        let binned = AUCAccumulator(counts: counts, maxExactScores: 2, binCount: 1024)
        #expect(binned.mode == .binned)
        #expect(binned.auc == 0.875)
        #expect(binned.maxError == 0.125)
        #expect(abs(binned.auc! - exact.auc!) <= binned.maxError!)
    }
}
