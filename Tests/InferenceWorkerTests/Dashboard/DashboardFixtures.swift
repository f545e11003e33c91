import Foundation
import InferenceCore

/// Reports with known values for the dashboard tests: a binary model "fraud" version "7" with a
/// numeric feature `amount` (drifting in the last window) and a categorical `country` (stable).
enum DashboardFixtures {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000) // a multiple of 60 s
    static let t0Ms: Int64 = 1_800_000_000_000

    static let baseline: ModelBaseline = {
        let json = #"""
        {"features": {
            "amount": {"bin_edges": [0, 10, 20, 30, 40], "proportions": [0.25, 0.25, 0.25, 0.25], "mean": 20, "std": 11.5, "missing_rate": 0},
            "country": {"categories": {"DE": 0.5, "FR": 0.3, "US": 0.2}, "missing_rate": 0}
         },
         "output": {"bin_edges": [0, 0.5, 1], "proportions": [0.8, 0.2], "categories": {"legit": 0.8, "fraud": 0.2}}}
        """#
        return try! JSONDecoder().decode(ModelBaseline.self, from: Data(json.utf8))
    }()

    static let output = OutputSchema(task: .binary, labels: ["legit", "fraud"], threshold: 0.5)

    /// Three drift windows of 400 rows; in the third `amount` moves up by 25.
    static func driftReports(workerID: String = "w1") -> [DriftReport] {
        let schema = InputSchema(features: [.numeric("amount"), .categorical("country", vocabulary: ["DE", "FR", "US"])])
        var monitor = DriftMonitor(modelName: "fraud", modelVersion: "7", schema: schema, output: output, baseline: baseline,
                                   workerID: workerID, now: t0)
        var reports: [DriftReport] = []
        var state: UInt64 = 7
        func uniform() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) }
        for window in 0..<3 {
            for i in 0..<400 {
                let shift = window == 2 ? 25.0 : 0
                let country = ["DE", "DE", "FR", "US", "DE", "FR", "DE", "US", "FR", "DE"][i % 10]
                monitor.observe(row: [.number(uniform() * 40 + shift), .string(country)])
                let score = Float(uniform() < 0.8 ? uniform() * 0.5 : 0.5 + uniform() * 0.5)
                monitor.observe(output: .binary(score: score, label: score >= 0.5 ? "fraud" : "legit", isPositive: score >= 0.5))
            }
            reports.append(monitor.takeReportIfDue(now: t0.addingTimeInterval(Double(window + 1) * 60 + 0.5))!)
        }
        return reports
    }

    /// Two quality windows: the first 18/20 correct, the second 12/20 correct, 4 predictions expired unlabelled.
    static func qualityReports(workerID: String = "w1") -> [QualityReport] {
        var monitor = QualityMonitor(modelName: "fraud", modelVersion: "7", output: output, workerID: workerID, now: t0)
        var reports: [QualityReport] = []
        for (window, correct) in [18, 12].enumerated() {
            for i in 0..<20 {
                let truth = i % 2
                let right = i < correct
                let score: Float = (truth == 1) == right ? 0.9 - Float(i) * 0.01 : 0.1 + Float(i) * 0.01
                let prediction = PendingPrediction(id: "r\(window)-\(i)", modelVersion: "7", output: .binary(score: score, predictedPositive: score >= 0.5),
                                                   predictionTimeMs: t0Ms + Int64(window) * 60_000)
                monitor.countPrediction()
                monitor.observe(LabelledExample(prediction: prediction, label: .number(Double(truth)), labelTimeMs: t0Ms + Int64(window) * 60_000 + 30_000))
            }
            if window == 1 { monitor.countUnlabelled(4) }
            reports.append(monitor.takeReportIfDue(now: t0.addingTimeInterval(Double(window + 1) * 60 + 0.5))!)
        }
        return reports
    }
}
