public import Foundation

/// The promotion policy of one roll-out as a value-type state machine: events in (a window's merged
/// evidence, a manual command), actions out (publish the changed record with its new decision).
///
/// Rules, applied to windows in increasing order:
/// - a window at or before ``RolloutRecord/lastDecidedWindow`` is ignored (decisions are keyed by
///   window, so a repeated window, a redelivered report or a new decider re-deciding is harmless);
/// - fewer candidate records than ``RolloutThresholds/minRecordsPerWindow``: **hold**, the window
///   neither counts towards a promotion nor ends the streak; unless its labels alone breach an
///   accuracy limit (enough labelled predictions, see below): **roll back**. Labels arrive late, often
///   after the traffic they judge, so a quiet window can still carry the verdict on the candidate;
///   it can never promote it;
/// - any measured number outside its threshold: **roll back** at once, the reason lists every breach;
/// - a quality limit is set and a version it compares has too few labelled predictions
///   (``RolloutThresholds/Quality/minLabelledPerWindow``): **hold**, as for too few records;
/// - otherwise the window is good: **promote** when it is the ``RolloutRecord/Policy/promoteAfterWindows``-th
///   good window in a row, else **hold**.
///
/// Time comes in as an argument (`now`): the machine never reads a clock, so tests drive it with
/// plain dates.
public struct RolloutPolicy: Sendable, Hashable {
    /// What the owner must do after an event.
    public enum Action: Sendable, Hashable {
        /// Write ``RolloutPolicy/record`` (which now ends with `decision`) to the roll-out topic.
        case publish(RolloutRecord, decision: RolloutDecision)
        /// Nothing to do; the reason says why (for a debug log line and a counter).
        case ignore(IgnoreReason)
    }

    /// Why an event changed nothing.
    public enum IgnoreReason: String, Sendable, Hashable {
        /// The roll-out is over.
        case notRunning = "not_running"
        /// The window was decided already.
        case alreadyDecided = "already_decided"
        /// The evidence belongs to another roll-out (or versions, or window length).
        case otherRollout = "other_rollout"
    }

    /// The record as the policy last left it.
    public private(set) var record: RolloutRecord
    /// Who decides automatically (the deciding replica's worker id).
    public let deciderID: String

    /// A policy continuing from `record` (read from the topic, so a new decider resumes where the
    /// last one stopped).
    public init(record: RolloutRecord, deciderID: String) {
        self.record = record
        self.deciderID = deciderID
    }

    /// Decides on one window's merged evidence.
    public mutating func windowClosed(_ evidence: RolloutEvidence, now: Date) -> Action {
        guard record.state == .running else { return .ignore(.notRunning) }
        guard evidence.rolloutID == record.rolloutID, evidence.candidateVersion == record.candidateVersion,
              evidence.primaryVersion == record.primaryVersion, evidence.window.durationMs == record.policy.windowMs
        else { return .ignore(.otherRollout) }
        if let last = record.lastDecidedWindow, evidence.window <= last { return .ignore(.alreadyDecided) }

        let thresholds = record.thresholds
        let summary = RolloutEvidenceSummary(evidence: evidence, scoreDifferenceQuantile: thresholds.scoreDifferenceQuantile)
        let action: RolloutDecision.Action
        let reason: String
        let accuracy = Self.qualityBreaches(of: summary, thresholds: thresholds)
        let breaches = Self.trafficBreaches(of: summary, thresholds: thresholds) + accuracy
        if summary.candidateRecords < thresholds.minRecordsPerWindow {
            let tooFew = "too few records: \(summary.candidateRecords) candidate records, at least \(thresholds.minRecordsPerWindow) needed"
            action = accuracy.isEmpty ? .hold : .rollBack
            reason = accuracy.isEmpty ? tooFew : "outside thresholds: " + accuracy.joined(separator: "; ") + " (judged on labels alone; \(tooFew))"
        } else if !breaches.isEmpty {
            action = .rollBack
            reason = "outside thresholds: " + breaches.joined(separator: "; ")
        } else if let missing = Self.missingLabels(in: summary, quality: thresholds.quality) {
            action = .hold
            reason = missing
        } else {
            let good = record.consecutiveGoodWindows + 1
            record.consecutiveGoodWindows = good
            if good >= record.policy.promoteAfterWindows {
                action = .promote
                reason = "within thresholds for \(good) consecutive windows"
            } else {
                action = .hold
                reason = "within thresholds: \(good) of \(record.policy.promoteAfterWindows) consecutive windows"
            }
        }
        let decision = RolloutDecision(
            action: action, reason: reason, manual: false, window: evidence.window, evidence: summary,
            decidedAtMs: RolloutRecord.milliseconds(now), decidedBy: deciderID
        )
        record.lastDecidedWindow = evidence.window
        apply(decision)
        return .publish(record, decision: decision)
    }

    /// A person promotes the candidate (`rollout promote`).
    ///
    /// - Throws: ``RolloutError`` (`conflict`) when the roll-out is not running.
    public mutating func promoteManually(note: String?, by who: String, now: Date) throws(RolloutError) -> Action {
        try manual(.promote, note: note, by: who, now: now)
    }

    /// A person rolls the candidate back (`rollout rollback`).
    ///
    /// - Throws: ``RolloutError`` (`conflict`) when the roll-out is not running.
    public mutating func rollBackManually(note: String?, by who: String, now: Date) throws(RolloutError) -> Action {
        try manual(.rollBack, note: note, by: who, now: now)
    }

    /// A person stops the roll-out without a verdict (`rollout abort`).
    ///
    /// - Throws: ``RolloutError`` (`conflict`) when the roll-out is not running.
    public mutating func abort(note: String?, by who: String, now: Date) throws(RolloutError) -> Action {
        try manual(.abort, note: note, by: who, now: now)
    }

    private mutating func manual(_ action: RolloutDecision.Action, note: String?, by who: String, now: Date) throws(RolloutError) -> Action {
        guard record.state == .running else {
            throw RolloutError(.conflict, field: "state", "the roll-out of \(record.modelName) is \(record.state.rawValue), not running: nothing to \(action.rawValue.replacingOccurrences(of: "_", with: " "))")
        }
        let text = note.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        let decision = RolloutDecision(
            action: action, reason: text.map { "manual: \($0)" } ?? "manual", manual: true, window: nil, evidence: nil,
            decidedAtMs: RolloutRecord.milliseconds(now), decidedBy: who
        )
        apply(decision)
        return .publish(record, decision: decision)
    }

    /// Appends the decision and moves the state.
    private mutating func apply(_ decision: RolloutDecision) {
        switch decision.action {
        case .hold:
            break
        case .promote:
            record.previousPrimaryVersion = record.primaryVersion
            if let candidate = record.candidateVersion { record.primaryVersion = candidate }
            record.state = .promoted
        case .rollBack:
            record.state = .rolledBack
        case .abort:
            record.state = .aborted
        }
        record.decisions.append(decision)
        if record.decisions.count > RolloutRecord.maxDecisions,
           let oldestHold = record.decisions.firstIndex(where: { $0.action == .hold }) {
            record.decisions.remove(at: oldestHold)
        }
        record.updatedAtMs = Swift.max(record.updatedAtMs, decision.decidedAtMs)
    }

    /// Every number measured on the traffic (not the labels) outside its threshold, in words.
    static func trafficBreaches(of s: RolloutEvidenceSummary, thresholds t: RolloutThresholds) -> [String] {
        var out: [String] = []
        func check(_ value: Double?, _ limit: Double?, _ name: String) {
            guard let value, let limit else { return }
            // NaN never passes.
            if !(value <= limit) {
                out.append("\(name) \(RolloutFormatting.decimal(value)) > \(RolloutFormatting.decimal(limit))")
            }
        }
        check(s.labelDisagreementRate, t.maxLabelDisagreementRate, "label disagreement rate")
        check(s.scoreDifference, t.maxScoreDifference, "score difference p\(RolloutFormatting.decimal(t.scoreDifferenceQuantile * 100, digits: 1))")
        check(s.candidateFailureRate, t.maxFailureRate, "failure rate")
        check(s.outputPSI, t.maxOutputPSI, "output PSI")
        check(s.latencyRatio, t.maxLatencyRatio, "latency ratio")
        return out
    }

    /// The accuracy limits breached, in words; none while a version they compare has too few labels.
    static func qualityBreaches(of s: RolloutEvidenceSummary, thresholds t: RolloutThresholds) -> [String] {
        guard let q = t.quality, missingLabels(in: s, quality: q) == nil else { return [] }
        var out: [String] = []
        if let accuracy = s.candidateAccuracy, let limit = q.minAccuracy, !(accuracy >= limit) {
            out.append("accuracy \(RolloutFormatting.decimal(accuracy)) < \(RolloutFormatting.decimal(limit)) (\(s.candidateLabelled ?? 0) labelled)")
        }
        if let drop = s.accuracyDrop, let limit = q.maxAccuracyDrop, !(drop <= limit) {
            out.append("accuracy drop \(RolloutFormatting.decimal(drop)) > \(RolloutFormatting.decimal(limit))")
        }
        return out
    }

    /// Why accuracy cannot be judged yet although a quality limit needs it (also `rollout status`'s verdict): a version it compares has
    /// fewer labelled predictions in the window than ``RolloutThresholds/Quality/minLabelledPerWindow``.
    /// `nil` when it can be judged, when no quality limit is set, or when accuracy does not apply
    /// (a regression model: ``RolloutEvidenceSummary/candidateLabelled`` is nil).
    public static func missingLabels(in s: RolloutEvidenceSummary, quality q: RolloutThresholds.Quality?) -> String? {
        guard let q, q.isSet, let candidate = s.candidateLabelled else { return nil }
        let primary = s.primaryLabelled ?? 0
        let needsPrimary = q.maxAccuracyDrop != nil
        guard candidate < q.minLabelledPerWindow || (needsPrimary && primary < q.minLabelledPerWindow) else { return nil }
        let counts = needsPrimary ? "\(candidate) candidate and \(primary) primary predictions" : "\(candidate) candidate predictions"
        return "too few labels to judge accuracy: \(counts) labelled, at least \(q.minLabelledPerWindow)\(needsPrimary ? " each" : "") needed"
    }
}
