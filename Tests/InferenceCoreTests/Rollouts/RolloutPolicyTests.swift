import Foundation
@testable import InferenceCore
import Testing

@Suite struct RolloutPolicyTests {
    typealias F = RolloutFixtures

    func decide(_ policy: inout RolloutPolicy, _ evidence: RolloutEvidence, at index: Int64) -> RolloutDecision? {
        guard case .publish(let record, let decision) = policy.windowClosed(evidence, now: F.after(window: index, of: policy.record)) else { return nil }
        #expect(record == policy.record)
        return decision
    }

    @Test func promotesAfterNGoodWindowsInARow() throws {
        var policy = RolloutPolicy(record: try F.record(promoteAfter: 3), deciderID: "w1")
        let first = decide(&policy, try F.evidence(policy.record, index: 0, rows: 200), at: 0)
        let second = decide(&policy, try F.evidence(policy.record, index: 1, rows: 200), at: 1)
        #expect(first?.action == .hold && second?.action == .hold)
        #expect(second?.reason == "within thresholds: 2 of 3 consecutive windows")
        #expect(policy.record.state == .running)
        let third = decide(&policy, try F.evidence(policy.record, index: 2, rows: 200), at: 2)
        #expect(third?.action == .promote)
        #expect(policy.record.state == .promoted)
        #expect(policy.record.primaryVersion == "2")
        #expect(policy.record.previousPrimaryVersion == "1")
        #expect(policy.record.decisions.map(\.action) == [.hold, .hold, .promote])
        #expect(policy.record.decisions.allSatisfy { !$0.manual && $0.decidedBy == "w1" })
        #expect(third?.evidence?.candidateRecords == 200)
        #expect(third?.decidedAtMs == Int64(F.after(window: 2, of: policy.record).timeIntervalSince1970 * 1000))
    }

    @Test func rollsBackOnTheFirstBadWindow() throws {
        var policy = RolloutPolicy(record: try F.record(promoteAfter: 3), deciderID: "w1")
        _ = decide(&policy, try F.evidence(policy.record, index: 0, rows: 200), at: 0)
        // 30 of 200 labels differ: 15 % > 5 %.
        let bad = decide(&policy, try F.evidence(policy.record, index: 1, rows: 200, disagreeing: 30), at: 1)
        #expect(bad?.action == .rollBack)
        #expect(bad?.reason.contains("label disagreement rate 0.15 > 0.05") == true)
        #expect(policy.record.state == .rolledBack)
        #expect(policy.record.primaryVersion == "1")
        #expect(policy.record.servingVersions == ["1"])
        // Over: later windows change nothing.
        #expect(policy.windowClosed(try F.evidence(policy.record, index: 2, rows: 200), now: F.after(window: 2, of: policy.record)) == .ignore(.notRunning))
    }

    @Test func aFailingCandidateIsRolledBack() throws {
        var policy = RolloutPolicy(record: try F.record(), deciderID: "w1")
        let bad = decide(&policy, try F.evidence(policy.record, index: 0, rows: 200, failures: 10), at: 0)
        #expect(bad?.action == .rollBack)
        #expect(bad?.reason == "outside thresholds: failure rate 0.05 > 0.01")
    }

    @Test func holdsWithTooFewRecordsWithoutBreakingTheStreak() throws {
        var policy = RolloutPolicy(record: try F.record(promoteAfter: 2, minRecords: 100), deciderID: "w1")
        _ = decide(&policy, try F.evidence(policy.record, index: 0, rows: 200), at: 0)
        // Few records, and all disagree: not judged at all.
        let thin = decide(&policy, try F.evidence(policy.record, index: 1, rows: 99, disagreeing: 99), at: 1)
        #expect(thin?.action == .hold)
        #expect(thin?.reason == "too few records: 99 candidate records, at least 100 needed")
        #expect(policy.record.consecutiveGoodWindows == 1)
        #expect(decide(&policy, try F.evidence(policy.record, index: 2, rows: 100), at: 2)?.action == .promote)
    }

    @Test func aRepeatedWindowIsDecidedOnce() throws {
        var policy = RolloutPolicy(record: try F.record(promoteAfter: 2), deciderID: "w1")
        let evidence = try F.evidence(policy.record, index: 0, rows: 200)
        #expect(decide(&policy, evidence, at: 0)?.action == .hold)
        let after = policy.record
        #expect(policy.windowClosed(evidence, now: F.after(window: 1, of: after)) == .ignore(.alreadyDecided))
        // An older window arriving late is not decided either.
        #expect(policy.windowClosed(try F.evidence(after, index: -1, rows: 200), now: F.after(window: 1, of: after)) == .ignore(.alreadyDecided))
        #expect(policy.record == after)
        // A new decider resuming from the published record does not decide it again either.
        var successor = RolloutPolicy(record: try RolloutRecord.decode(after.jsonData()), deciderID: "w2")
        #expect(successor.windowClosed(evidence, now: F.after(window: 2, of: after)) == .ignore(.alreadyDecided))
        #expect(successor.record.decisions.count == 1)
    }

    @Test func evidenceOfAnotherRolloutIsIgnored() throws {
        let record = try F.record()
        var other = record
        other.rolloutID = "fraud@2/other"
        var policy = RolloutPolicy(record: record, deciderID: "w1")
        #expect(policy.windowClosed(try F.evidence(other, index: 0, rows: 200), now: F.after(window: 0, of: record)) == .ignore(.otherRollout))
    }

    @Test func manualDecisionsAreRecordedWithReasonManual() throws {
        var policy = RolloutPolicy(record: try F.record(), deciderID: "w1")
        guard case .publish(_, let decision) = try policy.promoteManually(note: "  looks good ", by: "cli:ana", now: F.t0) else {
            Issue.record("no publish"); return
        }
        #expect(decision.reason == "manual: looks good")
        #expect(decision.manual && decision.window == nil && decision.decidedBy == "cli:ana")
        #expect(policy.record.state == .promoted && policy.record.primaryVersion == "2")
        #expect {
            _ = try policy.rollBackManually(note: nil, by: "cli:ana", now: F.t0)
        } throws: { error in
            (error as? RolloutError)?.code == .conflict
        }
    }

    @Test func theHistoryStaysBounded() throws {
        var policy = RolloutPolicy(record: try F.record(promoteAfter: 1_000, minRecords: 1_000), deciderID: "w1")
        for i in 0..<Int64(RolloutRecord.maxDecisions + 20) {
            _ = decide(&policy, try F.evidence(policy.record, index: i, rows: 1), at: i)
        }
        #expect(policy.record.decisions.count == RolloutRecord.maxDecisions)
        #expect(policy.record.decisions.last?.window?.index == policy.record.lastDecidedWindow?.index)
    }
}
