import Foundation
import InferenceCore

/// Renders the dashboard: one self-contained HTML page (inline CSS, inline SVG charts, no script and
/// no external asset, so it works offline, from a file, and in a locked-down browser) showing per
/// model version, over recent windows: live quality and label coverage (``QualityReport``), each
/// feature's drift score and the baseline-vs-current histograms of the latest window
/// (``DriftReport``), the output distribution, and the roll-out state.
///
/// Replicas' reports for the same version and the same time-closed window are merged
/// (``DriftReport/merge(_:)``, ``QualityReport/merge(_:)``) before they are shown, so the page of an
/// offline report over a topic with several writers shows the fleet's view. Elements carry `data-`
/// attributes (`data-version`, `data-feature`, `data-metric`) so that tests and scrapers can read the
/// values without parsing prose.
public enum DashboardPage {
    /// Windows shown in the quality and drift tables, per version.
    public static let tableWindows = 12

    /// The page for `snapshot`.
    ///
    /// - Parameter snapshot: what to show.
    /// - Returns: the HTML document.
    public static func render(_ snapshot: DashboardSnapshot) -> String {
        var html = HTMLBuilder()
        html.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        html.raw("<title>\(escape(snapshot.title)) · dashboard</title><style>\(stylesheet)</style></head><body>")
        html.raw("<header><h1>\(escape(snapshot.title))</h1><p class=\"generated\">Generated \(time(snapshot.generatedAtMs))")
        if let subtitle = snapshot.subtitle { html.raw(" · \(escape(subtitle))") }
        html.raw("</p></header>")

        rollout(snapshot.rollout, into: &html)

        let drift = Dictionary(grouping: snapshot.driftReports, by: \.modelVersion).mapValues(mergedDriftWindows)
        let quality = Dictionary(grouping: snapshot.qualityReports, by: \.modelVersion).mapValues(mergedQualityWindows)
        let versions = Set(drift.keys).union(quality.keys).sorted { a, b in
            let la = Swift.max(drift[a]?.last?.windowEndMs ?? 0, quality[a]?.last?.windowEndMs ?? 0)
            let lb = Swift.max(drift[b]?.last?.windowEndMs ?? 0, quality[b]?.last?.windowEndMs ?? 0)
            return la != lb ? la > lb : a < b
        }
        if versions.isEmpty {
            html.raw("<section class=\"empty-page\"><p class=\"empty\">No drift or quality reports yet: drift reports appear when the first window closes (see docs/drift.md); quality reports need a labels topic (docs/quality.md).</p></section>")
        } else {
            html.raw("<nav><span>Model versions:</span>")
            for version in versions { html.raw(" <a href=\"#version-\(slug(version))\">\(escape(version))</a>") }
            html.raw("</nav>")
        }
        for version in versions {
            let name = drift[version]?.last?.modelName ?? quality[version]?.last?.modelName ?? "model"
            html.raw("<section class=\"model-version\" id=\"version-\(slug(version))\" data-version=\"\(escape(version))\">")
            html.raw("<h2>\(escape(name)) <span class=\"version\">version \(escape(version))</span></h2>")
            qualitySection(quality[version] ?? [], version: version, into: &html)
            driftSection(drift[version] ?? [], version: version, into: &html)
            outputSection(drift[version]?.last, version: version, into: &html)
            html.raw("</section>")
        }
        html.raw("<footer>Self-contained page: no scripts, no external assets. Formats: docs/drift.md, docs/quality.md.</footer>")
        html.raw("</body></html>\n")
        return html.text
    }

    // MARK: Sections

    static func rollout(_ rollout: DashboardRollout?, into html: inout HTMLBuilder) {
        html.raw("<section id=\"rollout\" class=\"rollout\"><h2>Roll-out</h2>")
        if let rollout {
            html.raw("<p class=\"rollout-state\" data-rollout-state=\"\(escape(rollout.state))\">State: <strong>\(escape(rollout.state))</strong></p>")
            if !rollout.details.isEmpty {
                html.raw("<table class=\"rollout-details\"><tbody>")
                for detail in rollout.details { html.raw("<tr><th>\(escape(detail.name))</th><td>\(escape(detail.value))</td></tr>") }
                html.raw("</tbody></table>")
            }
        } else {
            html.raw("<p class=\"empty\" data-rollout-state=\"none\">No roll-out record for this model: one version serves all traffic (start one with <code>inference-worker rollout start</code>).</p>")
        }
        html.raw("</section>")
    }

    static func qualitySection(_ reports: [QualityReport], version: String, into html: inout HTMLBuilder) {
        html.raw("<section class=\"quality\" data-version=\"\(escape(version))\"><h3>Live quality</h3>")
        guard let latest = reports.last else {
            html.raw("<p class=\"empty\">No quality reports for this version: labels join predictions when the worker reads a labels topic (docs/quality.md).</p></section>")
            return
        }
        let shown = Array(reports.suffix(tableWindows))
        let isRegression = latest.task == .regression
        html.raw("<div class=\"cards\">")
        let m = latest.metrics
        if isRegression {
            card("MAE", m.meanAbsoluteError, metric: "mae", into: &html)
            card("RMSE", m.rootMeanSquaredError, metric: "rmse", into: &html)
            card("Mean error", m.meanError, metric: "mean_error", into: &html)
        } else {
            card("Accuracy", m.accuracy, metric: "accuracy", into: &html)
            card("ROC AUC", m.rocAUC, metric: "roc_auc", into: &html)
            card("Log loss", m.logLoss, metric: "log_loss", into: &html)
            card("Brier", m.brierScore, metric: "brier_score", into: &html)
            if latest.task == .binary {
                card("Precision", m.precision, metric: "precision", into: &html)
                card("Recall", m.recall, metric: "recall", into: &html)
            }
        }
        card("Label coverage", m.labelCoverage, metric: "label_coverage", percent: true, into: &html)
        card("Labelled", Double(latest.counts.labelled), metric: "labelled", digits: 0, into: &html)
        html.raw("</div>")

        var series: [LineSeries] = []
        if isRegression {
            series.append(LineSeries(name: "MAE", cssClass: "s1", values: shown.map(\.metrics.meanAbsoluteError)))
            series.append(LineSeries(name: "RMSE", cssClass: "s2", values: shown.map(\.metrics.rootMeanSquaredError)))
        } else {
            series.append(LineSeries(name: "accuracy", cssClass: "s1", values: shown.map(\.metrics.accuracy)))
            series.append(LineSeries(name: "ROC AUC", cssClass: "s2", values: shown.map(\.metrics.rocAUC)))
        }
        series.append(LineSeries(name: "label coverage", cssClass: "s3", values: shown.map(\.metrics.labelCoverage)))
        html.raw(SVGCharts.lines(series, labels: shown.map { time($0.windowEndMs) }, unitRange: !isRegression, cssClass: "quality-trend"))

        html.raw("<table class=\"windows\"><thead><tr><th>Window end</th><th>Labelled</th><th>Coverage</th>")
        if isRegression {
            html.raw("<th>MAE</th><th>RMSE</th><th>Mean error</th>")
        } else {
            html.raw("<th>Accuracy</th><th>ROC AUC</th><th>Log loss</th><th>Brier</th>")
            if latest.task == .binary { html.raw("<th>Precision</th><th>Recall</th>") }
        }
        html.raw("<th>Delay p50</th><th>Delay p90</th><th>Rejected labels</th></tr></thead><tbody>")
        for (i, report) in shown.enumerated() {
            let r = report.metrics
            html.raw("<tr\(i == shown.count - 1 ? " class=\"latest\"" : "") data-window-end=\"\(report.windowEndMs)\">")
            html.raw("<td>\(time(report.windowEndMs))</td><td>\(report.counts.labelled)</td><td>\(percent(r.labelCoverage))</td>")
            if isRegression {
                html.raw("<td>\(number(r.meanAbsoluteError))</td><td>\(number(r.rootMeanSquaredError))</td><td>\(number(r.meanError))</td>")
            } else {
                let auc = number(r.rocAUC) + ((r.rocAUCMaxError ?? 0) > 0 ? " ±\(number(r.rocAUCMaxError))" : "")
                html.raw("<td>\(number(r.accuracy))</td><td>\(auc)</td><td>\(number(r.logLoss))</td><td>\(number(r.brierScore))</td>")
                if latest.task == .binary { html.raw("<td>\(number(r.precision))</td><td>\(number(r.recall))</td>") }
            }
            html.raw("<td>\(seconds(r.labelDelaySeconds?["0.5"]))</td><td>\(seconds(r.labelDelaySeconds?["0.9"]))</td>")
            html.raw("<td>\(report.counts.rejectedLabels.values.reduce(0, +))</td></tr>")
        }
        html.raw("</tbody></table></section>")
    }

    static func driftSection(_ reports: [DriftReport], version: String, into html: inout HTMLBuilder) {
        html.raw("<section class=\"drift\" data-version=\"\(escape(version))\"><h3>Input drift</h3>")
        guard let latest = reports.last else {
            html.raw("<p class=\"empty\">No drift reports for this version yet.</p></section>")
            return
        }
        let d = latest.dataset
        html.raw("<p class=\"verdict level-\(d.level.rawValue)\" data-dataset-level=\"\(d.level.rawValue)\">Latest window (\(time(latest.windowStartMs)) – \(time(latest.windowEndMs)), \(latest.rowCount) rows): <strong>\(d.level.rawValue)</strong>")
        html.raw(d.driftedFeatures.isEmpty ? ", no feature drifted" : ", drifted: \(escape(d.driftedFeatures.joined(separator: ", ")))")
        html.raw(" (\(d.judgedFeatures) judged).</p>")

        let shown = Array(reports.suffix(8))
        html.raw("<table class=\"drift-scores\"><thead><tr><th>Feature (PSI)</th>")
        for report in shown { html.raw("<th>\(time(report.windowEndMs, short: true))</th>") }
        html.raw("</tr></thead><tbody>")
        for (index, feature) in latest.features.enumerated() {
            html.raw("<tr data-feature=\"\(escape(feature.name))\"><th>\(escape(feature.name))</th>")
            for report in shown {
                let column = report.features.indices.contains(index) && report.features[index].name == feature.name ? report.features[index] : report.column(feature.name)
                let level = column?.verdict.level.rawValue ?? "insufficient_data"
                let psi = column?.scores.psi
                html.raw("<td class=\"level-\(level)\" data-psi=\"\(psi.map { "\($0)" } ?? "")\" title=\"\(level)\">\(number(psi, digits: 3))</td>")
            }
            html.raw("</tr>")
        }
        html.raw("</tbody></table>")
        html.raw("<p class=\"legend\"><span class=\"swatch baseline\"></span> baseline <span class=\"swatch current\"></span> current window</p><div class=\"histograms\">")
        for feature in latest.features { histogram(feature, into: &html) }
        html.raw("</div></section>")
    }

    static func outputSection(_ latest: DriftReport?, version: String, into html: inout HTMLBuilder) {
        html.raw("<section class=\"outputs\" data-version=\"\(escape(version))\"><h3>Output distribution</h3>")
        guard let latest, !latest.outputs.isEmpty else {
            html.raw("<p class=\"empty\">No output summary for this version yet.</p></section>")
            return
        }
        html.raw("<div class=\"histograms\">")
        for column in latest.outputs { histogram(column, into: &html) }
        html.raw("</div></section>")
    }

    static func histogram(_ column: DriftColumn, into html: inout HTMLBuilder) {
        let level = column.verdict.level.rawValue
        html.raw("<figure class=\"histogram level-\(level)\" data-feature=\"\(escape(column.name))\">")
        if let counts = column.histogram, counts.reduce(0, +) > 0 {
            let total = Double(counts.reduce(0, +))
            let current = counts.map { Double($0) / total }
            let baseline = column.reference.proportions
            var labels = bucketLabels(column.reference, count: counts.count)
            var bars = Array(zip(current, baseline ?? Array(repeating: 0, count: counts.count)))
            // Under- and overflow buckets of a numeric column are shown only when something fell there.
            if column.kind == .numeric, bars.count >= 3 {
                if bars[bars.count - 1] == (0, 0) { bars.removeLast(); labels.removeLast() }
                if bars[0] == (0, 0) { bars.removeFirst(); labels.removeFirst() }
            }
            html.raw(SVGCharts.bars(current: bars.map(\.0), baseline: baseline == nil ? nil : bars.map(\.1), labels: labels))
        } else if let quantiles = column.quantiles, !quantiles.isEmpty {
            let text = quantiles.sorted { Double($0.key) ?? 0 < Double($1.key) ?? 0 }.map { "q\($0.key)=\(number($0.value, digits: 3))" }.joined(separator: " ")
            html.raw("<p class=\"no-baseline\">No baseline histogram; quantiles: \(escape(text))</p>")
        } else {
            html.raw("<p class=\"no-baseline\">No values in this window.</p>")
        }
        let psi = column.scores.psi.map { "PSI \(number($0, digits: 3))" } ?? "no PSI"
        let missing = column.scores.missingRate.map { ", missing \(percent($0))" } ?? ""
        html.raw("<figcaption><strong>\(escape(column.name))</strong> · \(psi)\(missing) · <span class=\"level\">\(level)</span></figcaption></figure>")
    }

    static func bucketLabels(_ reference: ColumnReference, count: Int) -> [String] {
        if let categories = reference.categories { return categories + ["(unseen)"] }
        if let edges = reference.binEdges, edges.count + 1 == count {
            var labels = ["< \(number(edges[0], digits: 3))"]
            for i in 0..<(edges.count - 1) { labels.append("[\(number(edges[i], digits: 3)), \(number(edges[i + 1], digits: 3)))") }
            labels.append("> \(number(edges[edges.count - 1], digits: 3))")
            return labels
        }
        return (0..<count).map { "bucket \($0)" }
    }

    static func card(_ title: String, _ value: Double?, metric: String, percent asPercent: Bool = false, digits: Int = 4, into html: inout HTMLBuilder) {
        let text = asPercent ? percent(value) : number(value, digits: digits)
        html.raw("<div class=\"card\"><div class=\"card-title\">\(escape(title))</div><div class=\"card-value\" data-metric=\"\(metric)\" data-value=\"\(value.map { "\($0)" } ?? "")\">\(text)</div></div>")
    }

    // MARK: Windows across replicas

    /// Reports by window, oldest first; reports of one time-closed window from several replicas merged.
    static func mergedDriftWindows(_ reports: [DriftReport]) -> [DriftReport] {
        var byWindow: [String: [DriftReport]] = [:]
        for report in reports {
            let key = report.closedBy == .time ? "t\(report.windowEndMs)" : "\(report.windowEndMs)/\(report.workerIDs.joined(separator: ","))/\(report.windowStartMs)"
            byWindow[key, default: []].append(report)
        }
        return byWindow.values.map { group in (try? DriftReport.merge(group)) ?? group[0] }
            .sorted { ($0.windowEndMs, $0.windowStartMs) < ($1.windowEndMs, $1.windowStartMs) }
    }

    /// Reports by window, oldest first; reports of one time-closed window from several replicas merged.
    static func mergedQualityWindows(_ reports: [QualityReport]) -> [QualityReport] {
        var byWindow: [String: [QualityReport]] = [:]
        for report in reports {
            let key = report.closedBy == .time ? "t\(report.windowEndMs)" : "\(report.windowEndMs)/\(report.workerIDs.joined(separator: ","))/\(report.windowStartMs)"
            byWindow[key, default: []].append(report)
        }
        return byWindow.values.map { group in (try? QualityReport.merge(group)) ?? group[0] }
            .sorted { ($0.windowEndMs, $0.windowStartMs) < ($1.windowEndMs, $1.windowStartMs) }
    }

    // MARK: Formatting

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func slug(_ text: String) -> String {
        String(text.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" ? Character($0) : "_" })
    }

    static func number(_ value: Double?, digits: Int = 4) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%.\(digits)f", value)
    }

    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%.1f%%", value * 100)
    }

    static func seconds(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "—" }
        if abs(value) < 120 { return String(format: "%.1f s", value) }
        if abs(value) < 7200 { return String(format: "%.1f min", value / 60) }
        return String(format: "%.1f h", value / 3600)
    }

    static func time(_ ms: Int64, short: Bool = false) -> String {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let clock = String(format: "%02d:%02d:%02d", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        return short ? clock : String(format: "%04d-%02d-%02d ", c.year ?? 0, c.month ?? 0, c.day ?? 0) + clock + "Z"
    }

    static let stylesheet = """
    :root{--fg:#1d2330;--muted:#5b6475;--line:#d8dde6;--bg:#f6f7f9;--card:#fff;--cur:#2563eb;--base:#9aa3b2;--ok:#e7f6ec;--warn:#fff4d6;--alert:#fde2e1;--na:#eef0f3}
    *{box-sizing:border-box}body{margin:0;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
    header h1{margin:0 0 4px;font-size:22px}.generated{margin:0 0 16px;color:var(--muted)}
    section.model-version,section.rollout,section.empty-page{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:0 0 20px}
    h2{margin:0 0 12px;font-size:18px}h2 .version{color:var(--muted);font-weight:normal}h3{margin:20px 0 8px;font-size:15px}
    nav{margin:0 0 16px;color:var(--muted)}nav a{margin-left:8px}
    .empty{color:var(--muted);font-style:italic}
    .cards{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 10px}.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:110px}
    .card-title{color:var(--muted);font-size:12px}.card-value{font-size:20px;font-variant-numeric:tabular-nums}
    table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:right}
    th:first-child,td:first-child{text-align:left}tr.latest td{font-weight:600}
    td.level-ok{background:var(--ok)}td.level-warn{background:var(--warn)}td.level-alert{background:var(--alert)}td.level-insufficient_data{background:var(--na);color:var(--muted)}
    .verdict strong{padding:1px 6px;border-radius:4px}.verdict.level-ok strong{background:var(--ok)}.verdict.level-warn strong{background:var(--warn)}.verdict.level-alert strong{background:var(--alert)}
    .histograms{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
    figure.histogram{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}figure.level-warn{border-color:#e9b949}figure.level-alert{border-color:#e5534b}
    figcaption{font-size:12px;color:var(--muted)}figcaption .level{font-weight:600}
    svg{display:block;max-width:100%}svg .baseline{fill:var(--base)}svg .current{fill:var(--cur)}svg .axis{stroke:var(--line)}
    svg text{font-size:10px;fill:var(--muted)}svg polyline{fill:none;stroke-width:2}svg .s1{stroke:#2563eb;fill:#2563eb}svg .s2{stroke:#16a34a;fill:#16a34a}svg .s3{stroke:#d97706;fill:#d97706}
    .legend{font-size:12px;color:var(--muted)}.swatch{display:inline-block;width:10px;height:10px;margin:0 2px 0 8px}.swatch.baseline{background:var(--base)}.swatch.current{background:var(--cur)}
    footer{color:var(--muted);font-size:12px}
    """
}

/// Appends HTML text.
struct HTMLBuilder {
    var text = ""
    mutating func raw(_ s: String) { text += s }
}
