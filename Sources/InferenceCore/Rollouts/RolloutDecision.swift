/// One decision about a roll-out: automatic (one per evidence window) or manual (from a command).
public struct RolloutDecision: Sendable, Hashable, Codable {
    /// What was decided.
    public enum Action: String, Sendable, Hashable, Codable {
        /// Keep going: the window was good but not yet the N-th in a row, or had too few records.
        case hold
        /// The candidate becomes the primary.
        case promote
        /// The candidate is dropped; the primary stays.
        case rollBack = "roll_back"
        /// The roll-out was stopped by hand without a verdict; the primary stays.
        case abort
    }

    /// What was decided.
    public var action: Action
    /// Why, in words (`manual` for command decisions, followed by the operator's note if any).
    public var reason: String
    /// Whether a person decided (a command) rather than the policy.
    public var manual: Bool
    /// The evidence window decided on (absent for manual decisions).
    public var window: RolloutWindow?
    /// The merged evidence the decision was made on (absent for manual decisions).
    public var evidence: RolloutEvidenceSummary?
    /// When it was decided, ms since the Unix epoch.
    public var decidedAtMs: Int64
    /// Who decided: the deciding replica's worker id, or `cli:<user>` for a command.
    public var decidedBy: String

    /// Creates a decision.
    public init(
        action: Action, reason: String, manual: Bool, window: RolloutWindow?, evidence: RolloutEvidenceSummary?,
        decidedAtMs: Int64, decidedBy: String
    ) {
        self.action = action
        self.reason = reason
        self.manual = manual
        self.window = window
        self.evidence = evidence
        self.decidedAtMs = decidedAtMs
        self.decidedBy = decidedBy
    }

    enum CodingKeys: String, CodingKey {
        case action, reason, manual, window, evidence, decidedAtMs = "decided_at_ms", decidedBy = "decided_by"
    }
}

/// An evidence window: a tumbling interval aligned to multiples of its duration since the Unix epoch.
///
/// **Identity rule.** The window holding instant `t` (ms since the epoch) for a duration of `d` ms
/// has index `⌊t / d⌋` and covers `[index·d, (index + 1)·d)`. Every replica computes the same index
/// from its own clock without talking to the others (as DriftMonitor's time windows do), so evidence
/// of the same window from several replicas merges, and a decision keyed by the index is made once.
/// Clock skew between replicas only moves records near a boundary into the neighbouring window.
public struct RolloutWindow: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// `⌊start / duration⌋`.
    public var index: Int64
    /// The window's length in milliseconds.
    public var durationMs: Int64

    /// Creates the window of index `index`.
    public init(index: Int64, durationMs: Int64) {
        self.index = index
        self.durationMs = durationMs
    }

    /// The window containing `ms` (ms since the epoch; negative instants round down too).
    public init(containing ms: Int64, durationMs: Int64) {
        let d = Swift.max(1, durationMs)
        self.index = ms >= 0 ? ms / d : (ms - d + 1) / d
        self.durationMs = d
    }

    /// First millisecond (inclusive).
    public var startMs: Int64 { index * durationMs }
    /// Last millisecond (exclusive).
    public var endMs: Int64 { (index + 1) * durationMs }
    /// The window after this one.
    public var next: RolloutWindow { RolloutWindow(index: index + 1, durationMs: durationMs) }

    public static func < (lhs: RolloutWindow, rhs: RolloutWindow) -> Bool { lhs.startMs < rhs.startMs }

    public var description: String { "window \(index) [\(startMs), \(endMs)) ms" }

    enum CodingKeys: String, CodingKey { case index, durationMs = "duration_ms" }
}
