import Foundation
@testable import InferenceCore
import InferenceCoreTesting
import Testing

@Suite struct DriftReportMergeTests {
    typealias S = DriftTestSupport

    /// Two replicas see interleaved halves of one stream; a third monitor sees all of it.
    func replicasAndUnion() throws -> (a: DriftReport, b: DriftReport, union: DriftReport) {
        var (a, fraud) = try S.fraudMonitor(workerID: "replica-a")
        var (b, _) = try S.fraudMonitor(workerID: "replica-b")
        var (all, _) = try S.fraudMonitor(workerID: "replica-a")
        var generator = DriftRandom(seed: 11)
        for i in 0..<3000 {
            // Replica b sees a shifted half so the merged state differs from either part.
            let shift = i % 2 == 1 ? 1.4 : 1.0
            var rowGenerator = generator
            S.feed(&all, fraud, rows: 1, generator: &rowGenerator) { f, x in f == 0 ? .number(x * shift) : (f == 4 && i % 7 == 0 ? .null : .number(x)) }
            if i % 2 == 0 {
                S.feed(&a, fraud, rows: 1, generator: &generator) { f, x in f == 4 && i % 7 == 0 ? .null : .number(x) }
            } else {
                S.feed(&b, fraud, rows: 1, generator: &generator) { f, x in f == 0 ? .number(x * shift) : (f == 4 && i % 7 == 0 ? .null : .number(x)) }
            }
        }
        let end = S.t0.addingTimeInterval(60)
        let (ra, rb, rall) = (a.takeReportIfDue(now: end), b.takeReportIfDue(now: end), all.takeReportIfDue(now: end))
        return (try #require(ra), try #require(rb), try #require(rall))
    }

    @Test func mergingReplicasEqualsSummarisingTheUnion() throws {
        let (a, b, union) = try replicasAndUnion()
        let merged = try DriftReport.merge([a, b])
        #expect(merged.workerIDs == ["replica-a", "replica-b"])
        #expect(merged.closedBy == .merged)
        #expect(merged.rowCount == union.rowCount)
        #expect(merged.windowStartMs == union.windowStartMs && merged.windowEndMs == union.windowEndMs)
        for (m, u) in zip(merged.features + merged.outputs, union.features + union.outputs) {
            #expect(m.name == u.name)
            // Exact state: counts, histograms and sketches add up exactly.
            #expect(m.count == u.count && m.missing == u.missing && m.invalid == u.invalid)
            #expect(m.histogram == u.histogram)
            #expect(m.sketch == u.sketch)
            #expect(m.quantiles == u.quantiles)
            // Moments through Chan's formula: equal up to rounding.
            if let mm = m.moments, let um = u.moments {
                #expect(mm.n == um.n && mm.min == um.min && mm.max == um.max)
                #expect(S.close(mm.mean, um.mean, tolerance: 1e-12))
                #expect(S.close(mm.m2, um.m2, tolerance: 1e-9))
            }
            #expect(S.close(m.scores.psi ?? 0, u.scores.psi ?? 0, tolerance: 1e-12))
            #expect(S.close(m.scores.wasserstein ?? 0, u.scores.wasserstein ?? 0, tolerance: 1e-12))
            #expect(m.verdict == u.verdict)
        }
        #expect(merged.dataset == union.dataset)
        // The shifted half moves amount in the merged view.
        #expect(merged.column("amount")!.scores.psi! > a.column("amount")!.scores.psi!)
    }

    @Test func mergingDecodedJSONGivesTheSameResult() throws {
        let (a, b, _) = try replicasAndUnion()
        let decodedA = try DriftReport.decode(a.jsonData())
        let decodedB = try DriftReport.decode(b.jsonData())
        #expect(decodedA == a)
        #expect(try DriftReport.merge([decodedA, decodedB]) == DriftReport.merge([a, b]))
    }

    @Test func reportJSONHasTheDocumentedShape() throws {
        let (a, _, _) = try replicasAndUnion()
        let object = try #require(try JSONSerialization.jsonObject(with: a.jsonData()) as? [String: Any])
        #expect(object["format"] as? String == "drift-report/1")
        #expect(object["model_name"] as? String == "fraud-mlp")
        #expect(object["model_version"] as? String == "1")
        #expect(object["worker_ids"] as? [String] == ["replica-a"])
        #expect(object["window_start_ms"] as? Int == 1_800_000_000_000)
        #expect(object["window_end_ms"] as? Int == 1_800_000_060_000)
        let features = try #require(object["features"] as? [[String: Any]])
        let amount = try #require(features.first)
        for key in ["name", "kind", "reference", "count", "missing", "invalid", "moments", "histogram", "sketch", "std", "quantiles", "scores", "verdict"] {
            #expect(amount[key] != nil, "feature key \(key)")
        }
        let sketch = try #require(amount["sketch"] as? [String: Any])
        #expect(sketch["relative_accuracy"] as? Double == 0.01)
        let dataset = try #require(object["dataset"] as? [String: Any])
        #expect(dataset["drift"] as? Bool == false)
        // Every 7th row lacks avg_amount_30d: a missing-rate change of 1/7 warns on that feature only.
        #expect(dataset["level"] as? String == "warn")
        #expect(dataset["drifted_features"] as? [String] == ["avg_amount_30d"])
        let verdict = try #require(features[4]["verdict"] as? [String: Any])
        let trigger = try #require((verdict["triggers"] as? [[String: Any]])?.first)
        #expect(trigger["statistic"] as? String == "missing_rate_change")
        #expect(trigger["level"] as? String == "warn")
    }

    @Test func mismatchedReportsAreRejected() throws {
        let (a, b, _) = try replicasAndUnion()
        var other = b
        other.modelVersion = "2"
        #expect(throws: DriftReportMergeError.self) { try DriftReport.merge([a, other]) }
        other = b
        other.thresholds.psi.warn = 0.2
        #expect(throws: DriftReportMergeError.self) { try DriftReport.merge([a, other]) }
        other = b
        other.features[0].reference.binEdges![1] += 1
        #expect(throws: DriftReportMergeError.self) { try DriftReport.merge([a, other]) }
        #expect(throws: DriftReportMergeError.self) { try DriftReport.merge([]) }
    }

    @Test func runningMomentsMergeWithChansFormula() {
        var generator = DriftRandom(seed: 9)
        let xs = (0..<1000).map { _ in 1e6 + generator.nextDouble() * 10 }
        var whole = RunningMoments(), left = RunningMoments(), right = RunningMoments()
        for (i, x) in xs.enumerated() { whole.add(x); if i < 300 { left.add(x) } else { right.add(x) } }
        let merged = left.merged(with: right)
        #expect(merged.n == 1000)
        #expect(S.close(merged.mean, whole.mean, tolerance: 1e-14))
        #expect(S.close(merged.m2, whole.m2, tolerance: 1e-9))
        #expect(merged.min == whole.min && merged.max == whole.max)
        #expect(RunningMoments().merged(with: left) == left)
    }
}

@Suite struct QuantileSketchTests {
    @Test(arguments: [0.01, 0.02, 0.05])
    func everyQuantileIsWithinTheRelativeBound(_ alpha: Double) {
        var generator = DriftRandom(seed: 12)
        // Magnitudes over 12 orders, both signs, and zeros.
        var values: [Double] = (0..<5000).map { _ in
            let magnitude = pow(10, generator.nextDouble() * 12 - 6)
            return generator.nextDouble() < 0.3 ? -magnitude : magnitude
        }
        values += [Double](repeating: 0, count: 50)
        var sketch = QuantileSketch(relativeAccuracy: alpha)
        for x in values { sketch.add(x) }
        #expect(sketch.count == values.count)
        let sorted = values.sorted()
        for step in 0...200 {
            let q = Double(step) / 200
            let exact = sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
            let estimate = sketch.quantile(q)!
            #expect(abs(estimate - exact) <= alpha * abs(exact) * (1 + 1e-12), "q \(q): \(estimate) vs \(exact)")
        }
        #expect(!sketch.positive.collapsed && !sketch.negative.collapsed)
    }

    @Test func mergeIsExact() {
        var generator = DriftRandom(seed: 13)
        var a = QuantileSketch(), b = QuantileSketch(), all = QuantileSketch()
        for i in 0..<4000 {
            let x = (generator.nextDouble() - 0.2) * 1000
            all.add(x)
            if i % 3 == 0 { a.add(x) } else { b.add(x) }
        }
        a.merge(b)
        #expect(a == all)
    }

    @Test func aHugeDynamicRangeCollapsesTheLowestBuckets() throws {
        var sketch = QuantileSketch()
        sketch.add(1e-200)
        for _ in 0..<10 { sketch.add(1e200) }
        #expect(sketch.positive.collapsed)
        #expect(sketch.positive.counts.count <= QuantileSketch.maxBucketsPerStore)
        // The upper quantiles keep the guarantee.
        let top = try #require(sketch.quantile(1))
        #expect(abs(top - 1e200) <= 0.01 * 1e200)
        #expect(sketch.count == 11)
    }
}
