public import Foundation

/// The group's single decider for one model's roll-out: gathers every replica's evidence per window,
/// merges it once every expected replica reported (or a grace period after the window's end passed),
/// and runs the ``RolloutPolicy`` on it. A value-type state machine: events in, actions out; the
/// owner (the replica that owns partition 0 of the roll-out topic, see docs/rollouts.md) reads the
/// topics and writes what the actions say.
///
/// **Idempotent.** Reports are kept one per worker and window (a redelivered report replaces the
/// first), and the policy ignores windows up to the record's ``RolloutRecord/lastDecidedWindow``:
/// a decider that takes over re-reads the record and the evidence and decides only what is left.
///
/// **Order.** Windows are decided in increasing order; a later window waits for an earlier one that
/// is not due yet. Evidence of a window already decided (a replica that reported after the grace
/// period) is counted as late and dropped. A window for which no replica reported anything gets no
/// decision (there is nothing to decide on).
public struct RolloutDecider: Sendable {
    /// What the owner must do.
    public enum Action: Sendable, Hashable {
        /// Write this record (key: its model name) to the roll-out topic; `decision` is new in it.
        case publish(RolloutRecord, decision: RolloutDecision)
        /// Another writer put a running version of a roll-out that is already over on the topic (a
        /// race with a command or a stale decider): write this final record again, so that the
        /// compacted topic ends with it.
        case republish(RolloutRecord)
    }

    /// The policy and the record it keeps.
    public private(set) var policy: RolloutPolicy
    /// Worker ids expected to report every window (the serving group's members), when the owner
    /// knows them; when empty, the workers that reported the last decided window are expected
    /// (``recentWorkers``), and with none of either each window waits for the grace period.
    public private(set) var expectedWorkers: Set<String>
    /// The workers whose reports made up the last decided window.
    public private(set) var recentWorkers: Set<String> = []
    /// Reports per window and worker, not yet decided.
    private var pending: [RolloutWindow: [String: RolloutEvidence]] = [:]
    /// Reports dropped because their window was decided already.
    public private(set) var lateReports = 0
    /// Reports dropped because they belong to another roll-out or cannot be merged.
    public private(set) var foreignReports = 0

    /// A decider resuming from `record`.
    public init(record: RolloutRecord, deciderID: String, expectedWorkers: Set<String> = []) {
        self.policy = RolloutPolicy(record: record, deciderID: deciderID)
        self.expectedWorkers = expectedWorkers
    }

    /// The record as the decider last left it.
    public var record: RolloutRecord { policy.record }

    /// Reports waiting for a decision, over every pending window.
    public var pendingReportCount: Int { pending.values.reduce(0) { $0 + $1.count } }

    /// Windows with evidence waiting for a decision, oldest first.
    public var pendingWindows: [RolloutWindow] { pending.keys.sorted() }

    /// The serving group's members changed (a rebalance).
    public mutating func expectWorkers(_ workers: Set<String>) { expectedWorkers = workers }

    /// A new version of the roll-out record arrived from the topic.
    ///
    /// A different roll-out replaces the current one (and its pending evidence). For the same
    /// roll-out, a newer record is taken over, except that a roll-out that is over never runs again:
    /// a running version arriving after a final one is answered with ``Action/republish(_:)``.
    public mutating func recordArrived(_ incoming: RolloutRecord) -> Action? {
        let current = policy.record
        guard incoming.rolloutID == current.rolloutID else {
            if incoming.startedAtMs >= current.startedAtMs {
                policy = RolloutPolicy(record: incoming, deciderID: policy.deciderID)
                pending = [:]
            }
            return nil
        }
        if current.state.isFinal && !incoming.state.isFinal { return .republish(current) }
        if incoming.state.isFinal && !current.state.isFinal || incoming.updatedAtMs > current.updatedAtMs
            || (incoming.decisions.count > current.decisions.count && incoming.updatedAtMs == current.updatedAtMs) {
            policy = RolloutPolicy(record: incoming, deciderID: policy.deciderID)
            if let last = incoming.lastDecidedWindow { pending = pending.filter { $0.key > last } }
        }
        return nil
    }

    /// One replica's evidence for one window arrived.
    public mutating func evidenceArrived(_ evidence: RolloutEvidence) {
        let record = policy.record
        guard evidence.rolloutID == record.rolloutID, evidence.window.durationMs == record.policy.windowMs,
              evidence.workerIDs.count == 1, let worker = evidence.workerIDs.first
        else { foreignReports += 1; return }
        if let last = record.lastDecidedWindow, evidence.window <= last { lateReports += 1; return }
        pending[evidence.window, default: [:]][worker] = evidence
    }

    /// Decides every window that is due at `now`, oldest first.
    ///
    /// A window is due when every expected worker reported it (and it has ended), or when `now` is
    /// past its end plus ``RolloutRecord/Policy/decisionGraceSeconds``.
    public mutating func tick(now: Date) -> [Action] {
        let ms = RolloutRecord.milliseconds(now)
        var actions: [Action] = []
        for window in pending.keys.sorted() {
            guard policy.record.state == .running else { pending = [:]; break }
            let reports = pending[window] ?? [:]
            // A replica that left is waited for once (the grace period), then no longer expected;
            // a new one is expected from the window after its first report.
            let expected = expectedWorkers.isEmpty ? recentWorkers : expectedWorkers
            let everyone = !expected.isEmpty && expected.isSubset(of: reports.keys)
            let graceOver = ms >= window.endMs + Int64(policy.record.policy.decisionGraceSeconds) * 1000
            guard ms >= window.endMs, everyone || graceOver else { break }
            pending[window] = nil
            recentWorkers = Set(reports.keys)
            let merged: RolloutEvidence
            do {
                merged = try RolloutEvidence.merge(reports.keys.sorted().compactMap { reports[$0] })
            } catch {
                foreignReports += reports.count
                continue
            }
            if case .publish(let record, let decision) = policy.windowClosed(merged, now: now) {
                actions.append(.publish(record, decision: decision))
            }
        }
        return actions
    }
}
