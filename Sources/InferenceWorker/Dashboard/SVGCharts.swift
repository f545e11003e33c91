import Foundation

/// One line of a line chart; `nil` values are gaps.
struct LineSeries {
    var name: String
    var cssClass: String
    var values: [Double?]
}

/// Inline SVG charts for the dashboard: plain shapes with `<title>` tooltips, no script.
enum SVGCharts {
    /// Side-by-side bars per bucket: the baseline share (grey) and the current share (blue).
    static func bars(current: [Double], baseline: [Double]?, labels: [String], width: Double = 320, height: Double = 120) -> String {
        let n = Swift.max(1, current.count)
        let top = Swift.max(current.max() ?? 0, baseline?.max() ?? 0, 1e-9)
        let plot = height - 14
        let slot = width / Double(n)
        let bar = Swift.max(1, slot / (baseline == nil ? 1.5 : 2.5))
        var svg = "<svg class=\"bars\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\">"
        for i in 0..<current.count {
            let x0 = Double(i) * slot + (slot - bar * (baseline == nil ? 1 : 2)) / 2
            let label = DashboardPage.escape(labels.indices.contains(i) ? labels[i] : "bucket \(i)")
            if let baseline {
                let h = baseline[i] / top * plot
                svg += "<rect class=\"baseline\" x=\"\(f(x0))\" y=\"\(f(plot - h))\" width=\"\(f(bar))\" height=\"\(f(h))\"><title>\(label): baseline \(DashboardPage.percent(baseline[i]))</title></rect>"
            }
            let h = current[i] / top * plot
            let x1 = baseline == nil ? x0 : x0 + bar
            svg += "<rect class=\"current\" x=\"\(f(x1))\" y=\"\(f(plot - h))\" width=\"\(f(bar))\" height=\"\(f(h))\" data-share=\"\(current[i])\"><title>\(label): current \(DashboardPage.percent(current[i]))</title></rect>"
        }
        svg += "<line class=\"axis\" x1=\"0\" y1=\"\(f(plot))\" x2=\"\(f(width))\" y2=\"\(f(plot))\"/>"
        if let first = labels.first, let last = labels.last {
            svg += "<text x=\"0\" y=\"\(f(height - 2))\">\(DashboardPage.escape(first))</text>"
            svg += "<text x=\"\(f(width))\" y=\"\(f(height - 2))\" text-anchor=\"end\">\(DashboardPage.escape(last))</text>"
        }
        return svg + "</svg>"
    }

    /// Lines over windows (x: window index). `unitRange`: the y axis is [0, 1]; otherwise [0, max].
    static func lines(_ series: [LineSeries], labels: [String], unitRange: Bool, cssClass: String, width: Double = 560, height: Double = 150) -> String {
        let left = 34.0, bottom = 16.0, right = 8.0, topPad = 8.0
        let plotW = width - left - right, plotH = height - bottom - topPad
        let all = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite)
        let low = unitRange ? Swift.min(0, all.min() ?? 0) : 0
        let high = unitRange ? 1 : Swift.max(all.max() ?? 1, 1e-9)
        let n = Swift.max(1, labels.count)
        func x(_ i: Int) -> Double { left + (n == 1 ? plotW / 2 : Double(i) / Double(n - 1) * plotW) }
        func y(_ v: Double) -> Double { topPad + plotH - (v - low) / (high - low) * plotH }
        var svg = "<svg class=\"chart \(cssClass)\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\">"
        svg += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(y(low)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(low)))\"/>"
        svg += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(y(high)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(high)))\"/>"
        svg += "<text x=\"\(f(left - 4))\" y=\"\(f(y(high) + 4))\" text-anchor=\"end\">\(DashboardPage.number(high, digits: unitRange ? 1 : 2))</text>"
        svg += "<text x=\"\(f(left - 4))\" y=\"\(f(y(low) + 4))\" text-anchor=\"end\">\(DashboardPage.number(low, digits: unitRange ? 1 : 2))</text>"
        for (k, s) in series.enumerated() {
            var points: [String] = []
            for (i, value) in s.values.enumerated() {
                guard let value, value.isFinite else { continue }
                points.append("\(f(x(i))),\(f(y(value)))")
                let label = labels.indices.contains(i) ? labels[i] : ""
                svg += "<circle class=\"\(s.cssClass)\" cx=\"\(f(x(i)))\" cy=\"\(f(y(value)))\" r=\"2.5\"><title>\(DashboardPage.escape(s.name)) \(DashboardPage.number(value)) · \(DashboardPage.escape(label))</title></circle>"
            }
            if points.count > 1 { svg += "<polyline class=\"\(s.cssClass)\" points=\"\(points.joined(separator: " "))\"/>" }
            svg += "<text class=\"\(s.cssClass)\" x=\"\(f(left + 6 + Double(k) * 120))\" y=\"\(f(height - 3))\" style=\"stroke:none\">● \(DashboardPage.escape(s.name))</text>"
        }
        return svg + "</svg>"
    }

    private static func f(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        return String(format: "%.1f", v)
    }
}
