import ArgumentParser
import Foundation
import InferenceWorker
import Logging

/// `inference-worker report --from TIME --to TIME > report.html`: the dashboard page for a past
/// period, rendered from the drift topic (and the quality topic when given) instead of a live worker.
///
/// How the topics are read (whole, with a throw-away group, until idle) is ``ReportReader``'s.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render the dashboard page for a past period from the drift and quality topics (HTML on stdout)."
    )

    @Option(help: "Bootstrap brokers, comma-separated host:port (env INFERENCE_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?
    // `.unconditional`: `--from -2h` takes the value, not another option.
    @Option(parsing: .unconditional, help: "Start of the period: ISO 8601 (2026-12-07T05:00:00Z), epoch ms, 'now', or a duration before now (-2h, -90m, -1d).")
    var from: String
    @Option(parsing: .unconditional, help: "End of the period (same forms as --from). Default: now.")
    var to: String = "now"
    @Option(help: "The drift report topic.")
    var driftTopic: String = "inference-drift"
    @Option(help: "The quality report topic; omit to show drift only.")
    var qualityTopic: String?
    @Option(help: "Stop once no record arrived for this many seconds after assignment.")
    var idle: Double = 3
    @Option(help: "Stop after this many seconds in any case.")
    var maxWait: Double = 120
    @Option(help: "The page title.")
    var title: String = "inference-worker report"
    @Option(help: "Write the page to this file instead of stdout.")
    var output: String?

    func validate() throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard let start = ReportCollector.parseTime(from, nowMs: now) else { throw ValidationError("--from: cannot read \(from); use ISO 8601, epoch ms, now, or -2h") }
        guard let end = ReportCollector.parseTime(to, nowMs: now) else { throw ValidationError("--to: cannot read \(to); use ISO 8601, epoch ms, now, or -2h") }
        guard start < end else { throw ValidationError("--from must be before --to") }
        guard idle > 0, maxWait > 0 else { throw ValidationError("--idle and --max-wait must be positive") }
    }

    func run() async throws {
        let servers = (bootstrapServers ?? ProcessInfo.processInfo.environment["INFERENCE_WORKER_BOOTSTRAP_SERVERS"] ?? "").split(separator: ",").map(String.init)
        guard !servers.isEmpty else { throw ValidationError("--bootstrap-servers is required") }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = ReportCollector.parseTime(from, nowMs: now)!, end = ReportCollector.parseTime(to, nowMs: now)!
        let logger = makeLogger(label: "report", level: "warning")
        let collector = try await ReportReader.read(
            bootstrapServers: servers, driftTopic: driftTopic, qualityTopic: qualityTopic, fromMs: start, toMs: end,
            idle: .milliseconds(Int64(idle * 1000)), maxWait: .milliseconds(Int64(maxWait * 1000)), logger: logger)
        let page = DashboardPage.render(collector.snapshot(title: title))
        if let output {
            try Data(page.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(page.utf8))
        }
        FileHandle.standardError.write(Data("report: \(collector.driftReports.count) drift and \(collector.qualityReports.count) quality reports in the period (\(collector.outsidePeriod) outside it, \(collector.undecodable) unreadable)\n".utf8))
    }
}
