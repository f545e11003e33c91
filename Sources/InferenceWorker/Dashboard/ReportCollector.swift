import Foundation
public import InferenceCore

/// Collects the drift and quality reports of a period from records read off their topics, for
/// `inference-worker report`: decodes each record, keeps the reports whose window overlaps the period,
/// and counts what it skipped. A plain value; the command feeds it from its consumer.
public struct ReportCollector: Sendable {
    /// The period: windows that end after `fromMs` and start before `toMs` are kept.
    public let fromMs: Int64
    /// End of the period (exclusive), ms since the epoch.
    public let toMs: Int64
    /// Drift reports kept.
    public private(set) var driftReports: [DriftReport] = []
    /// Quality reports kept.
    public private(set) var qualityReports: [QualityReport] = []
    /// Records that were not a report of their kind (wrong format, corrupt).
    public private(set) var undecodable = 0
    /// Reports whose window lies outside the period.
    public private(set) var outsidePeriod = 0

    /// Creates a collector for the period [`fromMs`, `toMs`).
    public init(fromMs: Int64, toMs: Int64) {
        self.fromMs = fromMs
        self.toMs = toMs
    }

    /// Adds a record of the drift topic.
    public mutating func addDriftRecord(_ value: [UInt8]) {
        guard let report = try? DriftReport.decode(Data(value)) else { undecodable += 1; return }
        guard overlaps(report.windowStartMs, report.windowEndMs) else { outsidePeriod += 1; return }
        driftReports.append(report)
    }

    /// Adds a record of the quality topic.
    public mutating func addQualityRecord(_ value: [UInt8]) {
        guard let report = try? QualityReport.decode(Data(value)) else { undecodable += 1; return }
        guard overlaps(report.windowStartMs, report.windowEndMs) else { outsidePeriod += 1; return }
        qualityReports.append(report)
    }

    private func overlaps(_ start: Int64, _ end: Int64) -> Bool { end > fromMs && start < toMs }

    /// The snapshot of the period (every window of it; replicas' reports of a window merged by the page).
    public func snapshot(title: String = "inference-worker report") -> DashboardSnapshot {
        let note = undecodable > 0 ? " · \(undecodable) unreadable records skipped" : ""
        return DashboardSnapshot(
            title: title, generatedAtMs: toMs,
            subtitle: "period \(DashboardPage.time(fromMs)) – \(DashboardPage.time(toMs)): \(driftReports.count) drift and \(qualityReports.count) quality reports\(note)",
            driftReports: driftReports, qualityReports: qualityReports, rollout: nil)
    }

    /// Parses a time of the command line: ISO 8601 (`2026-12-07T05:00:00Z`, fractional seconds and
    /// offsets allowed), integer epoch milliseconds, `now`, or a duration before `now` (`-90m`, `-2h`,
    /// `-1d`, `-30s`).
    ///
    /// - Returns: ms since the epoch, or `nil` when `text` is none of these.
    public static func parseTime(_ text: String, nowMs: Int64) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "now" { return nowMs }
        if let ms = Int64(t), ms >= 0 { return ms }
        if t.hasPrefix("-"), let unit = t.last, let amount = Double(t.dropFirst().dropLast()), amount >= 0 {
            let scale: Double
            switch unit {
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            default: return nil
            }
            return nowMs - Int64(amount * scale)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: t) { return Int64(date.timeIntervalSince1970 * 1000) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: t) { return Int64(date.timeIntervalSince1970 * 1000) }
        return nil
    }
}
