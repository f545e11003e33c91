import Foundation
@testable import InferenceCore
import Testing

@Suite struct RolloutEvidenceTests {
    typealias F = RolloutFixtures

    /// One observation of the stream, applied to some evidence.
    enum Event {
        case batch(RolloutEvidence.Role, Int, Duration)
        case output(RolloutEvidence.Role, RolloutOutput)
        case comparison(RolloutOutput, RolloutOutput)
        case error(RolloutEvidence.Role)
        case deadLetter(RolloutEvidence.Role)

        func apply(to e: inout RolloutEvidence) {
            switch self {
            case .batch(let r, let n, let d): e.recordBatch(r, rows: n, duration: d)
            case .output(let r, let o): e.recordOutput(r, o)
            case .comparison(let p, let c): e.recordComparison(primary: p, candidate: c)
            case .error(let r): e.recordError(r)
            case .deadLetter(let r): e.recordDeadLetter(r)
            }
        }
    }

    static func stream(count: Int, seed: UInt64) -> [Event] {
        var state = seed
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
        func unit() -> Double { Double(next() % 1_000_000) / 1_000_000 }
        let roles: [RolloutEvidence.Role] = [.primary, .candidate]
        return (0..<count).map { _ in
            let role = roles[Int(next() % 2)]
            let score = unit() * 1.2 - 0.1
            let output = RolloutOutput(label: score > 0.5 ? "yes" : "no", score: score)
            switch next() % 6 {
            case 0: return .batch(role, Int(next() % 64) + 1, .microseconds(Int64(next() % 50_000)))
            case 1, 2: return .output(role, output)
            case 3: return .comparison(output, RolloutOutput(label: unit() < 0.9 ? output.label : "other", score: score + unit() * 0.2 - 0.1))
            case 4: return .error(role)
            default: return .deadLetter(role)
            }
        }
    }

    @Test(arguments: [1, 2, 3, 7])
    func theMergeOfReplicasEqualsTheEvidenceOfTheUnion(_ replicas: Int) throws {
        let record = try F.record()
        let window = RolloutWindow(containing: 0, durationMs: record.policy.windowMs)
        let events = Self.stream(count: 3_000, seed: UInt64(replicas))
        var union = try RolloutEvidence(record: record, window: window, workerID: "all", outputBinning: .unitInterval)
        var parts = try (0..<replicas).map { try RolloutEvidence(record: record, window: window, workerID: "w\($0)", outputBinning: .unitInterval) }
        for (i, event) in events.enumerated() {
            event.apply(to: &union)
            event.apply(to: &parts[(i * 7919) % replicas])
        }
        var merged = try RolloutEvidence.merge(parts.shuffled())
        #expect(merged.workerIDs == (0..<replicas).map { "w\($0)" })
        merged.workerIDs = ["all"]
        #expect(merged == union)
        #expect(merged.candidate.records > 0 && merged.labelComparisons > 0 && merged.candidate.outputs.count > 1)
        // And so are the numbers decided on.
        let q = record.thresholds.scoreDifferenceQuantile
        #expect(RolloutEvidenceSummary(evidence: merged, scoreDifferenceQuantile: q) == RolloutEvidenceSummary(evidence: union, scoreDifferenceQuantile: q))
    }

    @Test func jsonRoundTripKeepsEverything() throws {
        let e = try F.evidence(try F.record(), index: 0, rows: 150, disagreeing: 7, failures: 2)
        #expect(try RolloutEvidence.decode(e.jsonData()) == e)
    }

    @Test func reportsOfDifferentWindowsOrRolloutsDoNotMerge() throws {
        let record = try F.record()
        let a = try F.evidence(record, index: 0, rows: 10)
        let b = try F.evidence(record, index: 1, rows: 10)
        #expect { _ = try RolloutEvidence.merge([a, b]) } throws: { ($0 as? RolloutError)?.field == "window" }
        var other = record
        other.rolloutID = "x"
        let c = try F.evidence(other, index: 0, rows: 10)
        #expect { _ = try RolloutEvidence.merge([a, c]) } throws: { ($0 as? RolloutError)?.code == .mismatch }
        #expect(throws: RolloutError.self) { _ = try RolloutEvidence.merge([]) }
    }

    @Test func inconsistentReportsAreRefused() throws {
        var e = try F.evidence(try F.record(), index: 0, rows: 10)
        e.labelAgreements = e.labelComparisons + 1
        #expect { _ = try RolloutEvidence.decode(e.jsonData()) } throws: { ($0 as? RolloutError)?.code == .malformed }
        #expect(throws: RolloutError.self) { _ = try RolloutEvidence.decode(Data("[1]".utf8)) }
    }

    @Test func summaryNumbers() throws {
        let record = try F.record()
        let e = try F.evidence(record, index: 0, rows: 200, disagreeing: 10, failures: 4)
        let s = RolloutEvidenceSummary(evidence: e, scoreDifferenceQuantile: 0.95)
        #expect(s.labelDisagreementRate == 0.05)
        #expect(s.candidateFailureRate == 0.02)
        #expect(s.primaryFailureRate == 0)
        #expect(abs((s.latencyRatio ?? 0) - 1.2) < 1e-12)
        // Every difference is 0.01, within the sketch's 1 % accuracy.
        #expect(abs((s.scoreDifference ?? 0) - 0.01) <= 0.0001 + 1e-12)
        // The candidate's scores are 0.01 higher: same deciles, PSI 0.
        #expect(s.outputPSI == 0)
    }

    @Test func psiSeesAShiftedOutputDistribution() {
        let shifted = RolloutEvidenceSummary.psi(expected: ["u1": 50, "u2": 50], live: ["u2": 50, "u3": 50])
        #expect((shifted ?? 0) > 1)
        #expect(RolloutEvidenceSummary.psi(expected: [:], live: ["u1": 1]) == nil)
    }

    @Test func binningByTask() {
        #expect(RolloutEvidence.OutputBinning(task: .binary).bucket(of: RolloutOutput(score: 0.97)) == "u9")
        #expect(RolloutEvidence.OutputBinning(task: .binary).bucket(of: RolloutOutput(score: 1.0)) == "u9")
        #expect(RolloutEvidence.OutputBinning(task: .binary).bucket(of: RolloutOutput(score: -3)) == "u0")
        #expect(RolloutEvidence.OutputBinning(task: .multiclass).bucket(of: RolloutOutput(label: "cat", score: 0.4)) == "cat")
        #expect(RolloutEvidence.OutputBinning(task: .regression).bucket(of: RolloutOutput(score: -5)) == "n2")
        #expect(RolloutEvidence.OutputBinning(task: .regression).bucket(of: RolloutOutput(score: 0)) == "zero")
        #expect(RolloutEvidence.OutputBinning.unitInterval.bucket(of: RolloutOutput(score: .nan)) == nil)
    }

    @Test func theRecorderReportsEachAlignedWindowOnceEmptyOnesToo() throws {
        let record = try F.record(windowSeconds: 60)
        var recorder = try RolloutEvidenceRecorder(record: record, workerID: "w1", outputBinning: .unitInterval, now: F.t0.addingTimeInterval(30))
        recorder.record(now: F.t0.addingTimeInterval(31)) { $0.recordBatch(.candidate, rows: 5, duration: .milliseconds(1)) }
        #expect(recorder.takeClosedReports(now: F.t0.addingTimeInterval(59.999)).isEmpty)
        recorder.record(now: F.t0.addingTimeInterval(61)) { $0.recordBatch(.candidate, rows: 7, duration: .milliseconds(1)) }
        let first = recorder.takeClosedReports(now: F.t0.addingTimeInterval(61))
        #expect(first.map(\.candidate.records) == [5])
        #expect(first.first?.window.startMs == Int64(F.t0.timeIntervalSince1970 * 1000))
        // Three windows later: the window with 7 records, then two empty ones.
        let later = recorder.takeClosedReports(now: F.t0.addingTimeInterval(240))
        #expect(later.map(\.candidate.records) == [7, 0, 0])
        #expect(later.map(\.window.index) == [1, 2, 3].map { first[0].window.index + $0 })
        #expect(recorder.takeClosedReports(now: F.t0.addingTimeInterval(241)).isEmpty)
    }
}
