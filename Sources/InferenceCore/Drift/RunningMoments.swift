/// Count, mean, sum of squared deviations (M2), minimum and maximum of a stream of numbers: the
/// mergeable core of a numeric summary.
///
/// Two summaries combine exactly (up to rounding) with Chan, Golub & LeVeque's parallel formula:
/// `n = nA + nB`, `δ = meanB − meanA`, `mean = meanA + δ·nB/n`, `M2 = M2A + M2B + δ²·nA·nB/n`.
public struct RunningMoments: Sendable, Hashable, Codable {
    /// Values summarised.
    public var n: Int
    /// Their mean (0 when `n == 0`).
    public var mean: Double
    /// Sum of squared deviations from the mean.
    public var m2: Double
    /// Smallest value (`nil` when `n == 0`).
    public var min: Double?
    /// Largest value (`nil` when `n == 0`).
    public var max: Double?

    /// An empty summary.
    public init() { n = 0; mean = 0; m2 = 0; min = nil; max = nil }

    /// A summary from its parts.
    public init(n: Int, mean: Double, m2: Double, min: Double?, max: Double?) {
        self.n = n; self.mean = mean; self.m2 = m2; self.min = min; self.max = max
    }

    /// The population standard deviation `sqrt(M2 / n)` (numpy's default `ddof=0`, as in the baselines);
    /// `nil` when empty.
    public var standardDeviation: Double? { n > 0 ? (Swift.max(m2, 0) / Double(n)).squareRoot() : nil }

    /// The sample variance `M2 / (n − 1)`; `nil` when `n < 2`.
    public var sampleVariance: Double? { n > 1 ? Swift.max(m2, 0) / Double(n - 1) : nil }

    /// Adds one value (Welford's update; the monitor's hot path uses shifted sums instead, see
    /// `NumericAccumulator`).
    public mutating func add(_ x: Double) {
        n += 1
        let delta = x - mean
        mean += delta / Double(n)
        m2 += delta * (x - mean)
        min = Swift.min(min ?? x, x)
        max = Swift.max(max ?? x, x)
    }

    /// The summary of both streams (Chan et al.).
    public func merged(with other: RunningMoments) -> RunningMoments {
        if other.n == 0 { return self }
        if n == 0 { return other }
        let total = n + other.n
        let delta = other.mean - mean
        let weight = Double(other.n) / Double(total)
        return RunningMoments(
            n: total,
            mean: mean + delta * weight,
            m2: m2 + other.m2 + delta * delta * Double(n) * weight,
            min: Swift.min(min!, other.min!),
            max: Swift.max(max!, other.max!)
        )
    }

    enum CodingKeys: String, CodingKey { case n, mean, m2, min, max }
}
