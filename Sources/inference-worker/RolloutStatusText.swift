import Foundation
import InferenceCore

/// The text `rollout status` prints: the record's state, the latest evidence table against the
/// thresholds, and the latest decisions.
enum RolloutStatusText {
    static func render(_ record: RolloutRecord, decisions limit: Int = 10) -> String {
        var lines: [String] = []
        lines.append("model \(record.modelName): \(record.state.rawValue)  (roll-out \(record.rolloutID), started \(time(record.startedAtMs)), updated \(time(record.updatedAtMs)))")
        let candidate = record.candidateVersion ?? "none"
        switch record.state {
        case .promoted:
            lines.append("  primary \(record.primaryVersion) (promoted; was \(record.previousPrimaryVersion ?? "?")), \(record.mode)")
        default:
            lines.append("  primary \(record.primaryVersion), candidate \(candidate), \(record.mode)")
        }
        let p = record.policy
        lines.append("  policy: promote after \(p.promoteAfterWindows) good windows of \(p.windowSeconds) s in a row (\(record.consecutiveGoodWindows) so far); decision grace \(p.decisionGraceSeconds) s")
        let t = record.thresholds
        if let q = t.quality, q.isSet {
            lines.append("  quality thresholds: accuracy against labels, at least \(q.minLabelledPerWindow) labelled predictions per version and window (canary mode, classification models)")
        } else {
            lines.append("  quality thresholds: none")
        }
        if let decision = record.latestEvidenceDecision, let e = decision.evidence, let window = decision.window {
            lines.append("latest evidence: \(window) from \(time(window.startMs)) to \(time(window.endMs)), \(e.workers) replica(s)")
            var rows: [[String]] = [["measure", "value", "limit", "verdict"]]
            rows.append(["candidate records", "\(e.candidateRecords)", ">= \(t.minRecordsPerWindow)", e.candidateRecords >= t.minRecordsPerWindow ? "ok" : "too few"])
            rows.append(["primary records", "\(e.primaryRecords)", "-", "-"])
            rows.append(measure("label disagreement rate", e.labelDisagreementRate, t.maxLabelDisagreementRate))
            rows.append(measure("score difference p\(number(e.scoreDifferenceQuantile * 100))", e.scoreDifference, t.maxScoreDifference))
            rows.append(measure("candidate failure rate", e.candidateFailureRate, t.maxFailureRate))
            rows.append(["primary failure rate", e.primaryFailureRate.map(number) ?? "n/a", "-", "-"])
            rows.append(measure("output PSI", e.outputPSI, t.maxOutputPSI))
            rows.append(measure("batch latency ratio", e.latencyRatio, t.maxLatencyRatio))
            if let candidateLabelled = e.candidateLabelled {
                let primaryLabelled = e.primaryLabelled ?? 0
                var labelled = ["labelled (candidate / primary)", "\(candidateLabelled) / \(primaryLabelled)", "-", "-"]
                if let q = t.quality, q.isSet {
                    // The policy's own rule (the primary's labels matter only for the drop).
                    let enough = RolloutPolicy.missingLabels(in: e, quality: q) == nil
                    labelled[2...3] = [">= \(q.minLabelledPerWindow)", enough ? "ok" : "too few"]
                }
                rows.append(labelled)
                rows.append(measure("candidate accuracy", e.candidateAccuracy, t.quality?.minAccuracy, atLeast: true))
                rows.append(["primary accuracy", e.primaryAccuracy.map(number) ?? "n/a", "-", "-"])
                rows.append(measure("accuracy drop", e.accuracyDrop, t.quality?.maxAccuracyDrop))
            }
            lines.append(contentsOf: table(rows).map { "  " + $0 })
        } else {
            lines.append("latest evidence: none yet")
        }
        let shown = record.decisions.suffix(limit)
        lines.append("decisions (\(shown.count) of \(record.decisions.count)):")
        if shown.isEmpty { lines.append("  none") }
        for d in shown {
            let window = d.window.map { " window \($0.index)" } ?? ""
            lines.append("  \(time(d.decidedAtMs))  \(d.action.rawValue)\(window)  \(d.reason)  (by \(d.decidedBy))")
        }
        return lines.joined(separator: "\n")
    }

    /// A row of the evidence table: the value, its limit (an upper one, or a lower one with
    /// `atLeast`) and the verdict.
    static func measure(_ name: String, _ value: Double?, _ limit: Double?, atLeast: Bool = false) -> [String] {
        let verdict: String
        switch (value, limit) {
        case (nil, _): verdict = "not measured"
        case (_, nil): verdict = "not checked"
        case (let v?, let l?): verdict = (atLeast ? v >= l : v <= l) ? "ok" : "OUTSIDE"
        }
        return [name, value.map(number) ?? "n/a", limit.map { "\(atLeast ? ">=" : "<=") \(number($0))" } ?? "none", verdict]
    }

    static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let rounded = (value * 10_000).rounded() / 10_000
        return rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
    }

    static func time(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
