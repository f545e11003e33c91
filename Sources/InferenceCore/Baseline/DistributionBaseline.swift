/// Training-time distribution of one feature or of the model's output, for drift detection.
///
/// Numeric distributions carry a histogram (`binEdges`, `proportions`) and summary statistics;
/// categorical ones carry `categories` (value -> share of non-missing rows). Every field is optional
/// so that exporters can start small.
public struct DistributionBaseline: Sendable, Hashable, Codable {
    /// Histogram bin edges, ascending (`proportions.count + 1` values).
    public var binEdges: [Double]?
    /// Share of non-missing training values in each bin; sums to 1.
    public var proportions: [Double]?
    /// Training rows.
    public var count: Int?
    public var mean: Double?
    public var std: Double?
    public var min: Double?
    public var max: Double?
    /// Quantile (as a string, e.g. "0.5") -> value.
    public var quantiles: [String: Double]?
    /// Category -> share of non-missing rows (categorical features; predicted class distribution).
    public var categories: [String: Double]?
    /// Share of training rows where the value was missing.
    public var missingRate: Double?

    enum CodingKeys: String, CodingKey {
        case binEdges = "bin_edges", proportions, count, mean, std, min, max, quantiles, categories
        case missingRate = "missing_rate"
    }

    /// Checks internal consistency: edges ascending and one more than proportions.
    public func consistencyProblem() -> String? {
        switch (binEdges, proportions) {
        case (nil, nil): return nil
        case (let edges?, let shares?):
            if edges.count != shares.count + 1 { return "bin_edges must have one more value than proportions (\(edges.count) vs \(shares.count))" }
            if zip(edges, edges.dropFirst()).contains(where: { $0 >= $1 }) { return "bin_edges must be strictly ascending" }
            return nil
        default: return "bin_edges and proportions go together"
        }
    }
}
