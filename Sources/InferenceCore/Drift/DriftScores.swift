/// Drift statistics of one column in one window against its baseline; `nil` where a statistic does
/// not apply or cannot be computed (no baseline histogram, empty window). How each is computed from
/// binned data is defined in ``DriftStatistics`` and docs/drift.md.
public struct DriftScores: Sendable, Hashable, Codable {
    /// Population stability index over the buckets, both shares floored at ``DriftStatistics/psiEpsilon``.
    public var psi: Double?
    /// Binned Kolmogorov–Smirnov statistic: max CDF difference at the baseline bin edges (numeric).
    public var kolmogorovSmirnov: Double?
    /// Jensen–Shannon distance over the buckets, natural log (scipy's `jensenshannon` default).
    public var jensenShannon: Double?
    /// Wasserstein-1 distance between the piecewise-linear CDFs (numeric; in the feature's units).
    public var wasserstein: Double?
    /// ``wasserstein`` divided by the baseline standard deviation.
    public var wassersteinNormed: Double?
    /// Pearson chi-square goodness-of-fit statistic against the baseline shares (categorical).
    public var chiSquare: Double?
    /// Its degrees of freedom (buckets − 1).
    public var chiSquareDegreesOfFreedom: Int?
    /// Its p-value, `Q(df/2, χ²/2)` (regularised upper incomplete gamma).
    public var chiSquarePValue: Double?
    /// Missing values / values seen in the window.
    public var missingRate: Double?
    /// The baseline's missing rate, if known.
    public var baselineMissingRate: Double?
    /// `missingRate − baselineMissingRate`.
    public var missingRateChange: Double?

    /// No scores.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case psi, kolmogorovSmirnov = "kolmogorov_smirnov", jensenShannon = "jensen_shannon", wasserstein
        case wassersteinNormed = "wasserstein_normed", chiSquare = "chi_square"
        case chiSquareDegreesOfFreedom = "chi_square_df", chiSquarePValue = "chi_square_p_value"
        case missingRate = "missing_rate", baselineMissingRate = "baseline_missing_rate", missingRateChange = "missing_rate_change"
    }
}
