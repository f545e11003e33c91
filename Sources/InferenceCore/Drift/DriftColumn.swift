/// What a column's live values are compared with: the baseline, reduced to the buckets the monitor counts.
public struct ColumnReference: Sendable, Hashable, Codable {
    /// Numeric: the baseline's bin edges (ascending). The monitor counts `edges.count + 1` buckets:
    /// underflow (`< edges[0]`), the bins `[e_i, e_{i+1})` (the last one closed, like numpy), overflow
    /// (`> edges.last`). `nil` when the baseline has no histogram.
    public var binEdges: [Double]?
    /// Categorical: the categories counted, in vocabulary (or label) order; the monitor counts one more
    /// bucket at the end for values not in this list ("unseen").
    public var categories: [String]?
    /// Expected share per bucket, normalised to sum 1: numeric `[0, p_1 … p_k, 0]`; categorical the
    /// baseline share of each category, then the share of baseline categories outside the list.
    /// `nil` when the baseline has no distribution.
    public var proportions: [Double]?
    /// The baseline mean and standard deviation, if known (numeric).
    public var mean: Double?
    public var std: Double?
    /// The baseline's share of missing values, if known.
    public var missingRate: Double?

    enum CodingKeys: String, CodingKey {
        case binEdges = "bin_edges", categories, proportions, mean, std, missingRate = "missing_rate"
    }

    /// Creates a reference.
    public init(binEdges: [Double]? = nil, categories: [String]? = nil, proportions: [Double]? = nil,
                mean: Double? = nil, std: Double? = nil, missingRate: Double? = nil) {
        self.binEdges = binEdges; self.categories = categories; self.proportions = proportions
        self.mean = mean; self.std = std; self.missingRate = missingRate
    }

    /// Number of buckets the monitor counts for this reference (0 = no histogram).
    public var bucketCount: Int {
        if let binEdges { return binEdges.count + 1 }
        if let categories { return categories.count + 1 }
        return 0
    }

    /// A numeric reference from a baseline distribution (`nil` baseline: summary only, no scores).
    /// Inconsistent baselines and histograms of 65,535 or more edges are ignored (summary only).
    public static func numeric(_ baseline: DistributionBaseline?) -> ColumnReference {
        var reference = ColumnReference(mean: baseline?.mean, std: baseline?.std, missingRate: baseline?.missingRate)
        if let baseline, baseline.consistencyProblem() == nil, let edges = baseline.binEdges, let shares = baseline.proportions,
           !shares.isEmpty, edges.count < Int(UInt16.max) {
            reference.binEdges = edges
            reference.proportions = normalised([0] + shares + [0])
        }
        return reference
    }

    /// A categorical reference over `categories` (vocabulary or labels) from a baseline distribution.
    public static func categorical(_ categories: [String], baseline: DistributionBaseline?) -> ColumnReference {
        var reference = ColumnReference(categories: categories, missingRate: baseline?.missingRate)
        if let shares = baseline?.categories, !shares.isEmpty {
            let known = Set(categories)
            let outside = shares.filter { !known.contains($0.key) }.values.reduce(0, +)
            reference.proportions = normalised(categories.map { shares[$0] ?? 0 } + [outside])
        }
        return reference
    }

    static func normalised(_ values: [Double]) -> [Double]? {
        let total = values.reduce(0, +)
        guard total > 0, total.isFinite, values.allSatisfy({ $0 >= 0 }) else { return nil }
        return values.map { $0 / total }
    }
}

/// One column of a window: a feature or a view of the model output, with its mergeable state, the
/// values derived from it, the drift scores and the verdict.
///
/// The *state* (`count`, `missing`, `invalid`, `moments`, `histogram`, `sketch`) is what merging adds
/// up; everything else (`std`, `quantiles`, `scores`, `verdict`) is derived from state, reference and
/// thresholds and recomputed after a merge.
public struct DriftColumn: Sendable, Hashable, Codable {
    /// The kind of values.
    public enum Kind: String, Sendable, Hashable, Codable {
        case numeric, categorical
    }

    /// The feature name, or `output.score`, `output.label`, `output.class`.
    public var name: String
    /// Numeric or categorical.
    public var kind: Kind
    /// The baseline it is compared with.
    public var reference: ColumnReference
    /// Values seen: `moments.n` (or histogram total) + `missing` + `invalid`.
    public var count: Int
    /// Missing or `null` values.
    public var missing: Int
    /// Values of the wrong JSON kind or non-finite numbers (excluded from the distribution).
    public var invalid: Int
    /// Numeric: n, mean, M2, min, max of the valid values.
    public var moments: RunningMoments?
    /// Bucket counts (see ``ColumnReference``); `nil` for a numeric column without baseline edges.
    public var histogram: [Int]?
    /// Numeric: the quantile sketch.
    public var sketch: QuantileSketch?
    /// Derived: population standard deviation.
    public var std: Double?
    /// Derived: quantile level (e.g. "0.5") -> estimate from the sketch.
    public var quantiles: [String: Double]?
    /// Derived: drift scores.
    public var scores: DriftScores
    /// Derived: the verdict.
    public var verdict: ColumnVerdict

    enum CodingKeys: String, CodingKey {
        case name, kind, reference, count, missing, invalid, moments, histogram, sketch, std, quantiles, scores, verdict
    }

    /// Creates a column from its state; call ``evaluated(thresholds:quantileLevels:)`` to fill the derived fields.
    public init(name: String, kind: Kind, reference: ColumnReference, count: Int, missing: Int, invalid: Int,
                moments: RunningMoments?, histogram: [Int]?, sketch: QuantileSketch?) {
        self.name = name; self.kind = kind; self.reference = reference
        self.count = count; self.missing = missing; self.invalid = invalid
        self.moments = moments; self.histogram = histogram; self.sketch = sketch
        self.std = nil; self.quantiles = nil
        self.scores = DriftScores()
        self.verdict = ColumnVerdict(level: .insufficientData, triggers: [])
    }

    /// Valid values in the distribution.
    public var validCount: Int {
        if let moments { return moments.n }
        return histogram?.reduce(0, +) ?? 0
    }

    /// The column with `std`, `quantiles`, `scores` and `verdict` recomputed from its state.
    public func evaluated(thresholds: DriftThresholds, quantileLevels: [Double]) -> DriftColumn {
        var column = self
        column.std = moments?.standardDeviation
        if let sketch, sketch.count > 0 {
            var quantiles: [String: Double] = [:]
            for level in quantileLevels {
                if var value = sketch.quantile(level) {
                    // Clamping to the exact range only moves the estimate towards the true value.
                    if let lo = moments?.min, let hi = moments?.max { value = Swift.min(Swift.max(value, lo), hi) }
                    quantiles[DriftColumn.quantileKey(level)] = value
                }
            }
            column.quantiles = quantiles
        } else {
            column.quantiles = nil
        }
        column.scores = DriftStatistics.scores(for: column)
        column.verdict = DriftStatistics.verdict(for: column, thresholds: thresholds)
        return column
    }

    /// The key of a quantile level: the shortest decimal form ("0.5", "0.99").
    static func quantileKey(_ level: Double) -> String { "\(level)" }

    /// The state of both columns added together (same name, kind and reference required).
    func mergedState(with other: DriftColumn) throws(DriftReportMergeError) -> DriftColumn {
        guard name == other.name, kind == other.kind else {
            throw DriftReportMergeError(message: "columns differ: \(name) (\(kind)) vs \(other.name) (\(other.kind))")
        }
        guard reference == other.reference else {
            throw DriftReportMergeError(message: "column \(name): the reports were made against different baselines")
        }
        var merged = self
        merged.count += other.count
        merged.missing += other.missing
        merged.invalid += other.invalid
        switch (moments, other.moments) {
        case (let a?, let b?): merged.moments = a.merged(with: b)
        case (nil, nil): break
        default: throw DriftReportMergeError(message: "column \(name): moments present in only one report")
        }
        switch (histogram, other.histogram) {
        case (let a?, let b?):
            guard a.count == b.count else { throw DriftReportMergeError(message: "column \(name): histograms have different bucket counts") }
            merged.histogram = zip(a, b).map { $0 + $1 }
        case (nil, nil): break
        default: throw DriftReportMergeError(message: "column \(name): histogram present in only one report")
        }
        switch (sketch, other.sketch) {
        case (var a?, let b?):
            guard a.relativeAccuracy == b.relativeAccuracy else {
                throw DriftReportMergeError(message: "column \(name): sketches have different relative accuracies")
            }
            a.merge(b)
            merged.sketch = a
        case (nil, nil): break
        default: throw DriftReportMergeError(message: "column \(name): sketch present in only one report")
        }
        return merged
    }
}
