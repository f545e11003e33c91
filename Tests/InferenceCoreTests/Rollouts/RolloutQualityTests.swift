import Foundation
@testable import InferenceCore
import Testing

/// Accuracy limits of a canary (``RolloutThresholds/Quality``): counted per version in the evidence,
/// merged across replicas, judged by the policy, and kept readable in older records and reports.
@Suite struct RolloutQualityTests {
    typealias F = RolloutFixtures

    static func record(_ quality: RolloutThresholds.Quality?, promoteAfter: Int = 1) throws -> RolloutRecord {
        try RolloutRecord(
            modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: .canary(fraction: 0.5),
            thresholds: RolloutThresholds(maxOutputPSI: nil, maxLatencyRatio: nil, minRecordsPerWindow: 10, quality: quality),
            policy: .init(promoteAfterWindows: promoteAfter, windowSeconds: 60, decisionGraceSeconds: 10), now: F.t0
        )
    }

    /// Window `index` of a canary: 200 rows each; `candidate` and `primary` are (labelled, correct).
    static func evidence(_ record: RolloutRecord, index: Int64 = 0, worker: String = "w1", binning: RolloutEvidence.OutputBinning = .unitInterval,
                         candidate: (Int, Int), primary: (Int, Int)) throws -> RolloutEvidence {
        var e = try F.evidence(record, index: index, worker: worker, rows: 200)
        e.outputBinning = binning
        for i in 0..<candidate.0 { e.recordLabelled(.candidate, correct: i < candidate.1) }
        for i in 0..<primary.0 { e.recordLabelled(.primary, correct: i < primary.1) }
        return e
    }

    func decide(_ record: RolloutRecord, _ evidence: RolloutEvidence) -> RolloutDecision? {
        var policy = RolloutPolicy(record: record, deciderID: "w1")
        guard case .publish(_, let decision) = policy.windowClosed(evidence, now: F.after(window: evidence.window.index - RolloutWindow(containing: Int64(F.t0.timeIntervalSince1970 * 1000), durationMs: record.policy.windowMs).index, of: record)) else { return nil }
        return decision
    }

    @Test func aCandidateBelowTheMinimumAccuracyIsRolledBack() throws {
        let record = try Self.record(.init(minAccuracy: 0.9, minLabelledPerWindow: 50))
        let decision = try #require(decide(record, try Self.evidence(record, candidate: (100, 80), primary: (100, 95))))
        #expect(decision.action == .rollBack)
        #expect(decision.reason == "outside thresholds: accuracy 0.8 < 0.9 (100 labelled)")
        #expect(decision.evidence?.candidateAccuracy == 0.8)
        #expect(decision.evidence?.primaryAccuracy == 0.95)
        #expect(decision.evidence?.candidateLabelled == 100 && decision.evidence?.primaryLabelled == 100)
    }

    @Test func aCandidateThatDropsTooFarBelowThePrimaryIsRolledBack() throws {
        let record = try Self.record(.init(maxAccuracyDrop: 0.02, minLabelledPerWindow: 50))
        let decision = try #require(decide(record, try Self.evidence(record, candidate: (200, 180), primary: (200, 190))))
        #expect(decision.action == .rollBack)
        #expect(decision.reason == "outside thresholds: accuracy drop 0.05 > 0.02")
        // A candidate as good as the primary, or better, passes.
        let good = try #require(decide(record, try Self.evidence(record, candidate: (200, 196), primary: (200, 190))))
        #expect(good.action == .promote, "\(good.reason)")
    }

    @Test func tooFewLabelsHoldEvenWhenEverythingElseIsGood() throws {
        let both = try Self.record(.init(minAccuracy: 0.5, maxAccuracyDrop: 0.1, minLabelledPerWindow: 50))
        let thinPrimary = try #require(decide(both, try Self.evidence(both, candidate: (60, 60), primary: (49, 49))))
        #expect(thinPrimary.action == .hold)
        #expect(thinPrimary.reason == "too few labels to judge accuracy: 60 candidate and 49 primary predictions labelled, at least 50 each needed")
        // Without a drop limit, the primary's labels are not needed.
        let candidateOnly = try Self.record(.init(minAccuracy: 0.5, minLabelledPerWindow: 50))
        let thinCandidate = try #require(decide(candidateOnly, try Self.evidence(candidateOnly, candidate: (0, 0), primary: (0, 0))))
        #expect(thinCandidate.action == .hold)
        #expect(thinCandidate.reason == "too few labels to judge accuracy: 0 candidate predictions labelled, at least 50 needed")
        #expect(try #require(decide(candidateOnly, try Self.evidence(candidateOnly, candidate: (50, 30), primary: (0, 0)))).action == .promote)
        // The hold neither counts towards a promotion nor breaks the streak.
        var policy = RolloutPolicy(record: try Self.record(.init(minAccuracy: 0.5, minLabelledPerWindow: 50), promoteAfter: 2), deciderID: "w1")
        let record = policy.record
        for (index, labelled) in [(Int64(0), 50), (1, 10), (2, 50)] {
            _ = policy.windowClosed(try Self.evidence(record, index: index, candidate: (labelled, labelled), primary: (0, 0)), now: F.after(window: index, of: record))
        }
        #expect(policy.record.decisions.map(\.action) == [.hold, .hold, .promote])
    }

    /// Labels arrive late, often after the traffic they judge: a window with too few records but
    /// enough labels rolls back on an accuracy breach; it holds when accuracy is within its limits
    /// (it cannot promote: nothing else was measured) or when the labels are too few.
    @Test func aQuietWindowWhoseLabelsBreachAnAccuracyLimitRollsBack() throws {
        let record = try Self.record(.init(minAccuracy: 0.9, maxAccuracyDrop: 0.05, minLabelledPerWindow: 50))
        func quiet(candidate: (Int, Int), primary: (Int, Int)) throws -> RolloutEvidence {
            var e = try F.evidence(record, index: 0, rows: 3)  // minRecordsPerWindow is 10
            for i in 0..<candidate.0 { e.recordLabelled(.candidate, correct: i < candidate.1) }
            for i in 0..<primary.0 { e.recordLabelled(.primary, correct: i < primary.1) }
            return e
        }
        let bad = try #require(decide(record, try quiet(candidate: (100, 60), primary: (100, 97))))
        #expect(bad.action == .rollBack)
        #expect(bad.reason == "outside thresholds: accuracy 0.6 < 0.9 (100 labelled); accuracy drop 0.37 > 0.05 (judged on labels alone; too few records: 3 candidate records, at least 10 needed)")
        let good = try #require(decide(record, try quiet(candidate: (100, 96), primary: (100, 97))))
        #expect(good.action == .hold)
        #expect(good.reason == "too few records: 3 candidate records, at least 10 needed")
        let thin = try #require(decide(record, try quiet(candidate: (40, 0), primary: (100, 97))))
        #expect(thin.action == .hold, "40 labels are too few to judge, however wrong: \(thin.reason)")
        // Without accuracy limits, a quiet window holds whatever its labels say.
        let unlimited = try Self.record(nil)
        var e = try F.evidence(unlimited, index: 0, rows: 3)
        for _ in 0..<100 { e.recordLabelled(.candidate, correct: false) }
        #expect(decide(unlimited, e)?.action == .hold)
    }

    @Test func aBreachOtherThanAccuracyRollsBackWithoutWaitingForLabels() throws {
        let record = try Self.record(.init(minAccuracy: 0.9, minLabelledPerWindow: 50))
        var evidence = try Self.evidence(record, candidate: (0, 0), primary: (0, 0))
        for _ in 0..<10 { evidence.recordError(.candidate) }
        let decision = try #require(decide(record, evidence))
        #expect(decision.action == .rollBack)
        #expect(decision.reason == "outside thresholds: failure rate 0.05 > 0.01")
    }

    @Test func withoutQualityLimitsAccuracyIsReportedButNeverDecides() throws {
        let record = try Self.record(nil)
        let decision = try #require(decide(record, try Self.evidence(record, candidate: (100, 10), primary: (100, 100))))
        #expect(decision.action == .promote)
        #expect(decision.evidence?.candidateAccuracy == 0.1)
        #expect(decision.evidence?.accuracyDrop == 0.9)
    }

    @Test func aRegressionModelHasNoAccuracySoItsLimitsAreNotChecked() throws {
        let record = try Self.record(.init(minAccuracy: 0.9, minLabelledPerWindow: 50))
        let decision = try #require(decide(record, try Self.evidence(record, binning: .signedLog2, candidate: (0, 0), primary: (0, 0))))
        #expect(decision.action == .promote, "\(decision.reason)")
        #expect(decision.evidence?.candidateLabelled == nil)
        #expect(decision.evidence?.candidateAccuracy == nil)
    }

    @Test func labelledCountsMergeAcrossReplicasAndSurviveJSON() throws {
        let record = try Self.record(.init(minAccuracy: 0.9))
        let a = try Self.evidence(record, worker: "w1", candidate: (30, 29), primary: (40, 30))
        let b = try Self.evidence(record, worker: "w2", candidate: (70, 61), primary: (60, 60))
        let merged = try RolloutEvidence.merge([a, b])
        #expect(merged.candidate.labelled == 100 && merged.candidate.correct == 90)
        #expect(merged.primary.labelled == 100 && merged.primary.correct == 90)
        #expect(merged.candidate.accuracy == 0.9)
        let decoded = try RolloutEvidence.decode(try merged.jsonData())
        #expect(decoded == merged)
        // Accuracy is judged on the merged counts: 90 of 100, not the mean of 29/30 and 61/70.
        #expect(try #require(decide(record, merged)).action == .promote)
    }

    @Test func reportsAndRecordsWrittenBeforeAccuracyExistedStillRead() throws {
        let record = try Self.record(.init(minAccuracy: 0.9))
        let evidence = try Self.evidence(record, candidate: (5, 5), primary: (0, 0))
        var json = try JSONSerialization.jsonObject(with: try evidence.jsonData()) as! [String: Any]
        for side in ["primary", "candidate"] {
            var counts = json[side] as! [String: Any]
            #expect(counts["labelled"] != nil, "written by this version")
            counts["labelled"] = nil
            counts["correct"] = nil
            json[side] = counts
        }
        let old = try RolloutEvidence.decode(try JSONSerialization.data(withJSONObject: json))
        #expect(old.candidate.labelled == 0 && old.candidate.correct == 0)
        #expect(old.candidate.records == evidence.candidate.records)

        let quality = try JSONDecoder().decode(RolloutThresholds.Quality.self, from: Data(#"{"min_accuracy": 0.9, "max_accuracy_drop": 0.02}"#.utf8))
        #expect(quality == .init(minAccuracy: 0.9, maxAccuracyDrop: 0.02, minLabelledPerWindow: 100))
        let summary = try JSONDecoder().decode(RolloutEvidenceSummary.self, from: Data(#"""
            {"workers": 1, "primary_records": 5, "candidate_records": 5, "label_comparisons": 0, "score_difference_quantile": 0.95}
            """#.utf8))
        #expect(summary.candidateLabelled == nil && summary.candidateAccuracy == nil)
    }

    @Test func inconsistentLabelledCountsAreRefused() throws {
        let record = try Self.record(nil)
        var evidence = try Self.evidence(record, candidate: (5, 5), primary: (0, 0))
        evidence.candidate.correct = 6
        #expect(throws: RolloutError.self) { try RolloutEvidence.decode(try evidence.jsonData()) }
    }

    @Test func qualityLimitsAreValidatedAndRefusedForAShadow() throws {
        #expect(throws: RolloutError.self) { try Self.record(.init(minAccuracy: 1.5)) }
        #expect(throws: RolloutError.self) { try Self.record(.init(minAccuracy: 0.9, minLabelledPerWindow: 0)) }
        do throws(RolloutError) {
            _ = try RolloutRecord(
                modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: .shadow(fraction: 0.5),
                thresholds: RolloutThresholds(quality: .init(maxAccuracyDrop: 0.01)), now: F.t0)
            Issue.record("a shadow with quality limits was accepted")
        } catch {
            #expect(error.field == "thresholds.quality", "\(error)")
            #expect("\(error)".contains("canary mode only"), "\(error)")
        }
        // Limits that are all off are not limits: a shadow may carry the empty block.
        _ = try RolloutRecord(modelName: "fraud", primaryVersion: "1", candidateVersion: "2", mode: .shadow(fraction: 0.5),
                              thresholds: RolloutThresholds(quality: .init()), now: F.t0)
    }

    @Test func correctnessFollowsTheServedClassAndTheLabelsClassIndex() {
        let binary = OutputSchema(task: .binary, labels: ["no", "yes"])
        func example(_ output: PendingPrediction.Output, _ label: LabelEvent.Value) -> LabelledExample {
            LabelledExample(prediction: PendingPrediction(id: "a", modelVersion: "1", output: output, predictionTimeMs: 0), label: label, labelTimeMs: 0)
        }
        #expect(example(.binary(score: 0.9, predictedPositive: true), .text("yes")).isCorrect(for: binary) == true)
        #expect(example(.binary(score: 0.9, predictedPositive: true), .bool(false)).isCorrect(for: binary) == false)
        #expect(example(.binary(score: 0.2, predictedPositive: false), .number(0)).isCorrect(for: binary) == true)
        #expect(example(.binary(score: 0.2, predictedPositive: false), .text("maybe")).isCorrect(for: binary) == nil, "no such class")
        let three = OutputSchema(task: .multiclass, labels: ["a", "b", "c"])
        #expect(example(.multiclass(probabilities: [0.1, 0.7, 0.2], predictedIndex: 1), .text("b")).isCorrect(for: three) == true)
        #expect(example(.multiclass(probabilities: [0.1, 0.7, 0.2], predictedIndex: 1), .number(2)).isCorrect(for: three) == false)
        #expect(example(.multiclass(probabilities: [0.1, 0.7, 0.2], predictedIndex: 1), .bool(true)).isCorrect(for: three) == nil)
        #expect(example(.regression(score: 3), .number(3)).isCorrect(for: OutputSchema(task: .regression, labels: [])) == nil)
    }
}
