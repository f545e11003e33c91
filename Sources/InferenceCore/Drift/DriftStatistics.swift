import Foundation

/// Drift statistics computed from bucket counts and a binned baseline.
///
/// The baseline is a histogram, so every statistic is defined on buckets. With `p` the baseline shares
/// and `q` the live shares over the same buckets (numeric: underflow, the k bins, overflow; the
/// baseline has no mass outside its edges; categorical: the categories then "unseen"):
///
/// - **PSI** `Σ (q'ᵢ − p'ᵢ)·ln(q'ᵢ / p'ᵢ)` with `x' = max(x, ε)`, ε = ``psiEpsilon`` = 1e-4 (Evidently's
///   replacement for empty bins), not renormalised.
/// - **Kolmogorov–Smirnov** `max_j |Q_j − P_j|` over the cumulative shares at the k + 1 bin edges
///   (`Q_j` = live share in the buckets up to edge j, so `Q_0` is the underflow share). It is the
///   exact KS statistic between the two distributions when both are taken as uniform within bins,
///   and a lower bound on the KS statistic of the raw samples.
/// - **Jensen–Shannon distance** `sqrt(½ KL(p‖m) + ½ KL(q‖m))`, `m = (p + q)/2`, natural log, in
///   [0, √ln 2] (scipy `jensenshannon(p, q)`).
/// - **Wasserstein-1** `∫ |G(x) − F(x)| dx` where F and G are the piecewise-linear CDFs (mass uniform
///   within each bin); live underflow mass is spread uniformly over `[min, e_0]` and overflow mass over
///   `[e_k, max]` (window min/max), the integral over each piece computed exactly (also where the
///   difference changes sign). Normed: divided by the baseline standard deviation.
/// - **Chi-square** `Σ (Oᵢ − Eᵢ)² / Eᵢ`, `Eᵢ = N·p'ᵢ` with `p'` = shares floored at ε and renormalised,
///   df = buckets − 1, p-value `Q(df/2, χ²/2)` (scipy `chi2.sf`).
public enum DriftStatistics {
    /// The floor for empty shares in PSI and chi-square.
    public static let psiEpsilon = 1e-4

    /// Population stability index of `live` against `expected` (both shares over the same buckets).
    public static func psi(expected: [Double], live: [Double]) -> Double {
        var total = 0.0
        for i in expected.indices {
            let p = Swift.max(expected[i], psiEpsilon)
            let q = Swift.max(live[i], psiEpsilon)
            total += (q - p) * log(q / p)
        }
        return total
    }

    /// Max difference of cumulative shares after each bucket but the last.
    public static func kolmogorovSmirnov(expected: [Double], live: [Double]) -> Double {
        var cp = 0.0, cq = 0.0, d = 0.0
        for i in 0..<(expected.count - 1) {
            cp += expected[i]
            cq += live[i]
            d = Swift.max(d, abs(cq - cp))
        }
        return d
    }

    /// Jensen–Shannon distance (natural log).
    public static func jensenShannon(expected: [Double], live: [Double]) -> Double {
        var divergence = 0.0
        for i in expected.indices {
            let p = expected[i], q = live[i]
            let m = (p + q) / 2
            if p > 0 { divergence += 0.5 * p * log(p / m) }
            if q > 0 { divergence += 0.5 * q * log(q / m) }
        }
        return Swift.max(divergence, 0).squareRoot()
    }

    /// Wasserstein-1 between the piecewise-linear CDFs; `expected`/`live` are shares over
    /// `edges.count + 1` buckets (underflow, bins, overflow); `liveMin`/`liveMax` bound the live
    /// under/overflow mass.
    public static func wasserstein(edges: [Double], expected: [Double], live: [Double], liveMin: Double, liveMax: Double) -> Double {
        let k = edges.count - 1
        var total = 0.0
        // Underflow: live CDF rises linearly from 0 at liveMin to live[0] at e_0; baseline is 0 there.
        if live[0] > 0, liveMin < edges[0] { total += live[0] * (edges[0] - liveMin) / 2 }
        var cp = expected[0], cq = live[0]
        for bin in 0..<k {
            let width = edges[bin + 1] - edges[bin]
            let d0 = cq - cp
            cp += expected[bin + 1]
            cq += live[bin + 1]
            let d1 = cq - cp
            total += integralOfAbsoluteLinear(d0, d1, width: width)
        }
        // Overflow: live CDF rises from 1 − live[k+1] at e_k to 1 at liveMax; baseline is 1.
        if live[k + 1] > 0, liveMax > edges[k] { total += live[k + 1] * (liveMax - edges[k]) / 2 }
        return total
    }

    /// `∫₀ʷ |d0 + (d1 − d0)·t/w| dt`, exact.
    static func integralOfAbsoluteLinear(_ d0: Double, _ d1: Double, width: Double) -> Double {
        if (d0 >= 0) == (d1 >= 0) || d0 == 0 || d1 == 0 { return width * (abs(d0) + abs(d1)) / 2 }
        return width * (d0 * d0 + d1 * d1) / (2 * (abs(d0) + abs(d1)))
    }

    /// Pearson chi-square statistic, degrees of freedom and p-value of `observed` counts against `expected` shares.
    public static func chiSquare(expected: [Double], observed: [Int]) -> (statistic: Double, degreesOfFreedom: Int, pValue: Double) {
        let n = Double(observed.reduce(0, +))
        let floored = expected.map { Swift.max($0, psiEpsilon) }
        let total = floored.reduce(0, +)
        var statistic = 0.0
        for i in observed.indices {
            let e = n * floored[i] / total
            let diff = Double(observed[i]) - e
            statistic += diff * diff / e
        }
        let df = observed.count - 1
        return (statistic, df, SpecialFunctions.regularizedGammaQ(Double(df) / 2, statistic / 2))
    }

    /// All scores of a column from its state and reference.
    static func scores(for column: DriftColumn) -> DriftScores {
        var scores = DriftScores()
        let reference = column.reference
        if column.count > 0 {
            scores.missingRate = Double(column.missing) / Double(column.count)
        }
        scores.baselineMissingRate = reference.missingRate
        if let live = scores.missingRate, let base = reference.missingRate { scores.missingRateChange = live - base }

        guard let expected = reference.proportions, let counts = column.histogram, counts.count == expected.count else { return scores }
        let n = counts.reduce(0, +)
        guard n > 0 else { return scores }
        let live = counts.map { Double($0) / Double(n) }
        scores.psi = psi(expected: expected, live: live)
        scores.jensenShannon = jensenShannon(expected: expected, live: live)
        switch column.kind {
        case .numeric:
            scores.kolmogorovSmirnov = kolmogorovSmirnov(expected: expected, live: live)
            if let edges = reference.binEdges, let lo = column.moments?.min, let hi = column.moments?.max {
                let w = wasserstein(edges: edges, expected: expected, live: live, liveMin: lo, liveMax: hi)
                scores.wasserstein = w
                if let std = reference.std, std > 0 { scores.wassersteinNormed = w / std }
            }
        case .categorical:
            let result = chiSquare(expected: expected, observed: counts)
            scores.chiSquare = result.statistic
            scores.chiSquareDegreesOfFreedom = result.degreesOfFreedom
            scores.chiSquarePValue = result.pValue
        }
        return scores
    }

    /// The verdict of a column whose scores are computed.
    static func verdict(for column: DriftColumn, thresholds: DriftThresholds) -> ColumnVerdict {
        var triggers: [DriftTrigger] = []
        var judged = false
        func judge(_ name: String, _ value: Double?, _ threshold: StatisticThreshold, lowerIsWorse: Bool = false) {
            guard let value, value.isFinite || value == .infinity else { return }
            judged = true
            for (level, limit) in [(DriftLevel.alert, threshold.alert), (.warn, threshold.warn)] {
                guard let limit else { continue }
                if lowerIsWorse ? value <= limit : value >= limit {
                    triggers.append(DriftTrigger(statistic: name, value: value, threshold: limit, level: level))
                    return
                }
            }
        }
        let scores = column.scores
        if column.validCount >= thresholds.minimumSampleSize {
            judge("psi", scores.psi, thresholds.psi)
            judge("jensen_shannon", scores.jensenShannon, thresholds.jensenShannon)
            judge("wasserstein_normed", scores.wassersteinNormed, thresholds.wassersteinNormed)
            judge("kolmogorov_smirnov", scores.kolmogorovSmirnov, thresholds.kolmogorovSmirnov)
            judge("chi_square_p_value", scores.chiSquarePValue, thresholds.chiSquarePValue, lowerIsWorse: true)
        }
        if column.count >= thresholds.minimumSampleSize, let change = scores.missingRateChange {
            judge("missing_rate_change", abs(change), thresholds.missingRateChange)
        }
        guard judged else { return ColumnVerdict(level: .insufficientData, triggers: []) }
        triggers.sort { $0.level > $1.level }
        return ColumnVerdict(level: triggers.first?.level ?? .ok, triggers: triggers)
    }

    /// The dataset verdict from evaluated feature and output columns.
    static func datasetVerdict(features: [DriftColumn], outputs: [DriftColumn], thresholds: DriftThresholds) -> DatasetVerdict {
        let judged = features.filter { $0.verdict.level != .insufficientData }
        let drifted = judged.filter { $0.verdict.level >= thresholds.featureDriftLevel }.map(\.name)
        let share = judged.isEmpty ? 0 : Double(drifted.count) / Double(judged.count)
        let drift = !judged.isEmpty && share >= thresholds.datasetDriftShare
        let outputLevel = outputs.map(\.verdict.level).max() ?? .insufficientData
        let level: DriftLevel
        if drift { level = .alert }
        else if !drifted.isEmpty || outputLevel >= thresholds.featureDriftLevel { level = .warn }
        else if judged.isEmpty { level = .insufficientData }
        else { level = .ok }
        return DatasetVerdict(drift: drift, level: level, judgedFeatures: judged.count, driftedFeatures: drifted,
                              driftedShare: share, outputLevel: outputLevel)
    }
}
