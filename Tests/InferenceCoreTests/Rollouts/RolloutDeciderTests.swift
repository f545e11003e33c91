import Foundation
@testable import InferenceCore
import Testing

@Suite struct RolloutDeciderTests {
    typealias F = RolloutFixtures

    func decisions(_ actions: [RolloutDecider.Action]) -> [RolloutDecision] {
        actions.compactMap { if case .publish(_, let d) = $0 { d } else { nil } }
    }

    @Test func decidesOnceEveryExpectedReplicaReportedOnTheMergedEvidence() throws {
        let record = try F.record(promoteAfter: 3, minRecords: 150)
        var decider = RolloutDecider(record: record, deciderID: "w1", expectedWorkers: ["w1", "w2", "w3"])
        decider.evidenceArrived(try F.evidence(record, index: 0, worker: "w1", rows: 60))
        decider.evidenceArrived(try F.evidence(record, index: 0, worker: "w2", rows: 60))
        #expect(decider.tick(now: F.after(window: 0, of: record, extra: 1)).isEmpty)
        decider.evidenceArrived(try F.evidence(record, index: 0, worker: "w3", rows: 60))
        // Not before the window ended, even with every report in.
        #expect(decider.tick(now: F.after(window: 0, of: record, extra: -1)).isEmpty)
        let decided = decisions(decider.tick(now: F.after(window: 0, of: record, extra: 1)))
        #expect(decided.map(\.action) == [.hold])
        // 180 records merged: enough, although no replica alone had 150.
        #expect(decided.first?.evidence?.candidateRecords == 180)
        #expect(decided.first?.evidence?.workers == 3)
        #expect(decider.tick(now: F.after(window: 0, of: record, extra: 2)).isEmpty)
    }

    @Test func aMissingReplicaIsWaitedForUntilTheGracePeriodEnds() throws {
        let record = try F.record(minRecords: 50)
        var decider = RolloutDecider(record: record, deciderID: "w1", expectedWorkers: ["w1", "w2"])
        decider.evidenceArrived(try F.evidence(record, index: 0, worker: "w1", rows: 60))
        #expect(decider.tick(now: F.after(window: 0, of: record, extra: 9.999)).isEmpty)
        let decided = decisions(decider.tick(now: F.after(window: 0, of: record, extra: 10)))
        #expect(decided.first?.evidence?.workers == 1)
        // w2's report arrives after the decision: dropped, counted.
        decider.evidenceArrived(try F.evidence(record, index: 0, worker: "w2", rows: 60))
        #expect(decider.lateReports == 1)
        #expect(decider.pendingWindows.isEmpty)
    }

    @Test func aRedeliveredReportIsCountedOnce() throws {
        let record = try F.record(minRecords: 100)
        var decider = RolloutDecider(record: record, deciderID: "w1", expectedWorkers: ["w1"])
        let report = try F.evidence(record, index: 0, worker: "w1", rows: 60)
        decider.evidenceArrived(report)
        decider.evidenceArrived(report)
        let decided = decisions(decider.tick(now: F.after(window: 0, of: record)))
        #expect(decided.first?.evidence?.candidateRecords == 60)
        #expect(decided.first?.action == .hold)
    }

    @Test func windowsAreDecidedInOrder() throws {
        let record = try F.record(promoteAfter: 2, minRecords: 10)
        var decider = RolloutDecider(record: record, deciderID: "w1", expectedWorkers: ["w1", "w2"])
        // Window 1 complete, window 0 still missing w2's report: nothing is decided yet.
        for w in ["w1", "w2"] { decider.evidenceArrived(try F.evidence(record, index: 1, worker: w, rows: 20)) }
        decider.evidenceArrived(try F.evidence(record, index: 0, worker: "w1", rows: 20))
        #expect(decider.tick(now: F.after(window: 0, of: record, extra: 1)).isEmpty)
        #expect(decider.pendingWindows.count == 2)
        // Window 0's grace is over when window 1 has ended: both are decided, oldest first.
        let decided = decisions(decider.tick(now: F.after(window: 1, of: record)))
        #expect(decided.map(\.action) == [.hold, .promote])
        #expect(decided.first?.evidence?.workers == 1 && decided.last?.evidence?.workers == 2)
        #expect(decided.map { $0.window?.index } == [0, 1].map { (decided.first?.window?.index ?? 0) + Int64($0) })
        #expect(decider.record.state == .promoted)
    }

    @Test func aDeciderTakingOverDecidesOnlyWhatIsLeft() throws {
        let record = try F.record(promoteAfter: 3, minRecords: 10)
        var first = RolloutDecider(record: record, deciderID: "w1", expectedWorkers: ["w1", "w2"])
        let reports = try (0..<2).flatMap { i in try ["w1", "w2"].map { try F.evidence(record, index: Int64(i), worker: $0, rows: 20) } }
        reports.filter { $0.window.index == reports[0].window.index }.forEach { first.evidenceArrived($0) }
        let published = first.tick(now: F.after(window: 0, of: record))
        guard case .publish(let afterFirst, _)? = published.first else { Issue.record("no decision"); return }
        // w1 dies; w2 owns partition 0 now, reads the record and re-reads every report.
        var second = RolloutDecider(record: try RolloutRecord.decode(afterFirst.jsonData()), deciderID: "w2", expectedWorkers: ["w2"])
        reports.forEach { second.evidenceArrived($0) }
        #expect(second.lateReports == 2)
        let decided = decisions(second.tick(now: F.after(window: 1, of: record)))
        #expect(decided.count == 1)
        #expect(decided.first?.window?.index == reports[2].window.index)
        #expect(second.record.decisions.count == 2)
        #expect(second.record.consecutiveGoodWindows == 2)
    }

    @Test func aStaleRunningRecordAfterAFinalOneIsAnsweredWithTheFinalOne() throws {
        let record = try F.record()
        var decider = RolloutDecider(record: record, deciderID: "w1")
        var manual = RolloutPolicy(record: record, deciderID: "cli")
        _ = try manual.rollBackManually(note: nil, by: "cli:ana", now: F.t0.addingTimeInterval(5))
        #expect(decider.recordArrived(manual.record) == nil)
        #expect(decider.record.state == .rolledBack)
        // A hold written concurrently by a decider that had not seen the roll-back yet.
        var stale = record
        stale.updatedAtMs += 10_000
        #expect(decider.recordArrived(stale) == .republish(manual.record))
        #expect(decider.record.state == .rolledBack)
        // Nothing is decided on a finished roll-out.
        decider.evidenceArrived(try F.evidence(record, index: 0, rows: 500))
        #expect(decider.tick(now: F.after(window: 0, of: record, extra: 60)).isEmpty)
    }

    @Test func aNewRolloutReplacesTheOldOneAndItsPendingEvidence() throws {
        let old = try F.record()
        var decider = RolloutDecider(record: old, deciderID: "w1")
        decider.evidenceArrived(try F.evidence(old, index: 0, rows: 500))
        let new = try RolloutRecord(modelName: "fraud", primaryVersion: "1", candidateVersion: "3", mode: .canary(fraction: 0.1),
                                    policy: old.policy, now: F.t0.addingTimeInterval(1))
        #expect(decider.recordArrived(new) == nil)
        #expect(decider.record.rolloutID == new.rolloutID)
        #expect(decider.pendingWindows.isEmpty)
        decider.evidenceArrived(try F.evidence(old, index: 1, rows: 500))
        #expect(decider.foreignReports == 1)
    }

    @Test func withoutAMemberListTheReplicasOfTheLastWindowAreExpected() throws {
        let record = try F.record(promoteAfter: 5, minRecords: 10)
        var decider = RolloutDecider(record: record, deciderID: "w1")
        // First window: nobody is known, so it waits for the grace period.
        for w in ["w1", "w2"] { decider.evidenceArrived(try F.evidence(record, index: 0, worker: w, rows: 20)) }
        #expect(decider.tick(now: F.after(window: 0, of: record, extra: 1)).isEmpty)
        #expect(decisions(decider.tick(now: F.after(window: 0, of: record, extra: 10))).count == 1)
        #expect(decider.recentWorkers == ["w1", "w2"])
        // Second window: decided as soon as w1 and w2 reported, without waiting.
        decider.evidenceArrived(try F.evidence(record, index: 1, worker: "w1", rows: 20))
        #expect(decider.tick(now: F.after(window: 1, of: record, extra: 1)).isEmpty)
        decider.evidenceArrived(try F.evidence(record, index: 1, worker: "w2", rows: 20))
        #expect(decisions(decider.tick(now: F.after(window: 1, of: record, extra: 1))).first?.evidence?.workers == 2)
    }
}
