public import Foundation

/// One replica's evidence of the running roll-out, cut into aligned windows: the scoring thread
/// records into it, and publishes what ``takeClosedReports(now:)`` returns.
///
/// Windows follow ``RolloutWindow``'s identity rule, so every replica's report for a window has the
/// same index. A window is reported once it has ended, even when it saw no traffic (the decider then
/// knows this replica is done with it); windows skipped entirely (the thread was stalled for longer
/// than a window) are reported empty, at most ``maxCatchUpWindows`` of them.
public struct RolloutEvidenceRecorder: Sendable {
    /// The roll-out recorded for.
    public let record: RolloutRecord
    /// This replica's id.
    public let workerID: String
    /// The open window's evidence.
    public private(set) var open: RolloutEvidence
    private var closed: [RolloutEvidence] = []

    /// Most empty windows reported after a stall.
    public static let maxCatchUpWindows = 16

    /// A recorder for `record`'s roll-out opening the window containing `now`.
    ///
    /// - Throws: ``RolloutError`` (`conflict`) when the roll-out is not running.
    public init(record: RolloutRecord, workerID: String, outputBinning: RolloutEvidence.OutputBinning, now: Date) throws(RolloutError) {
        guard record.state == .running else {
            throw RolloutError(.conflict, field: "state", "the roll-out of \(record.modelName) is \(record.state.rawValue): there is no evidence to record")
        }
        self.record = record
        self.workerID = workerID
        let window = RolloutWindow(containing: RolloutRecord.milliseconds(now), durationMs: record.policy.windowMs)
        self.open = try RolloutEvidence(record: record, window: window, workerID: workerID, outputBinning: outputBinning)
    }

    /// Closes the open window if `now` is past it; call before recording at `now`, and regularly
    /// (the scoring thread's pass) so that quiet windows are reported too.
    public mutating func advance(now: Date) {
        let ms = RolloutRecord.milliseconds(now)
        guard ms >= open.window.endMs else { return }
        let current = RolloutWindow(containing: ms, durationMs: open.window.durationMs)
        closed.append(open)
        var next = open
        next.primary = .init()
        next.candidate = .init()
        next.labelComparisons = 0
        next.labelAgreements = 0
        next.scoreDifference.reset()
        // Empty reports for skipped windows, the most recent ones only.
        var skipped = Swift.max(current.index - Swift.max(open.window.index + 1, current.index - Int64(Self.maxCatchUpWindows)), 0)
        while skipped > 0 {
            next.window = RolloutWindow(index: current.index - skipped, durationMs: current.durationMs)
            closed.append(next)
            skipped -= 1
        }
        next.window = current
        open = next
    }

    /// Applies `body` to the evidence of the window containing `now` (closing the open one first if
    /// it has ended): `recorder.record(now: t) { $0.recordBatch(.candidate, rows: 64, duration: d) }`.
    public mutating func record(now: Date, _ body: (inout RolloutEvidence) -> Void) {
        advance(now: now)
        body(&open)
    }

    /// The reports of every window that ended by `now`, oldest first; each is returned once.
    public mutating func takeClosedReports(now: Date) -> [RolloutEvidence] {
        advance(now: now)
        defer { closed = [] }
        return closed
    }
}
