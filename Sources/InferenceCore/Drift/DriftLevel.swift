/// The verdict level of a column, of the outputs or of the whole dataset.
public enum DriftLevel: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
    /// Too few values in the window to judge (see ``DriftThresholds/minimumSampleSize``).
    case insufficientData = "insufficient_data"
    /// No statistic reached its warn threshold.
    case ok
    /// Some statistic reached its warn threshold: moderate drift, worth a look.
    case warn
    /// Some statistic reached its alert threshold: significant drift, act on it.
    case alert

    private var rank: Int {
        switch self {
        case .insufficientData: 0
        case .ok: 1
        case .warn: 2
        case .alert: 3
        }
    }

    public static func < (lhs: DriftLevel, rhs: DriftLevel) -> Bool { lhs.rank < rhs.rank }
}

/// One statistic that reached a threshold.
public struct DriftTrigger: Sendable, Hashable, Codable {
    /// The statistic's key as in ``DriftScores`` (`psi`, `jensen_shannon`, `wasserstein_normed`,
    /// `kolmogorov_smirnov`, `chi_square_p_value`, `missing_rate_change`).
    public var statistic: String
    /// Its value (for `missing_rate_change`, the absolute change).
    public var value: Double
    /// The threshold it reached.
    public var threshold: Double
    /// `warn` or `alert`.
    public var level: DriftLevel

    /// Creates a trigger.
    public init(statistic: String, value: Double, threshold: Double, level: DriftLevel) {
        self.statistic = statistic; self.value = value; self.threshold = threshold; self.level = level
    }
}

/// The verdict on one column: its level and the statistics that set it.
public struct ColumnVerdict: Sendable, Hashable, Codable {
    /// The highest level any statistic reached (`ok` when none did; `insufficient_data` when nothing was judged).
    public var level: DriftLevel
    /// Every statistic that reached warn or alert, highest level first.
    public var triggers: [DriftTrigger]

    /// Creates a verdict.
    public init(level: DriftLevel, triggers: [DriftTrigger]) { self.level = level; self.triggers = triggers }
}

/// The verdict on the whole window.
public struct DatasetVerdict: Sendable, Hashable, Codable {
    /// Whether at least ``DriftThresholds/datasetDriftShare`` of the judged features drifted.
    public var drift: Bool
    /// `alert` when the dataset drifts; `warn` when some feature or output column drifted; otherwise
    /// `insufficient_data` when no feature could be judged, else `ok`.
    public var level: DriftLevel
    /// Features judged (not `insufficient_data`).
    public var judgedFeatures: Int
    /// Names of the features at or above ``DriftThresholds/featureDriftLevel``, in schema order.
    public var driftedFeatures: [String]
    /// `driftedFeatures.count / judgedFeatures` (0 when none judged).
    public var driftedShare: Double
    /// The highest level among the output columns.
    public var outputLevel: DriftLevel

    enum CodingKeys: String, CodingKey {
        case drift, level, judgedFeatures = "judged_features", driftedFeatures = "drifted_features"
        case driftedShare = "drifted_share", outputLevel = "output_level"
    }

    /// Creates a dataset verdict.
    public init(drift: Bool, level: DriftLevel, judgedFeatures: Int, driftedFeatures: [String], driftedShare: Double, outputLevel: DriftLevel) {
        self.drift = drift; self.level = level; self.judgedFeatures = judgedFeatures
        self.driftedFeatures = driftedFeatures; self.driftedShare = driftedShare; self.outputLevel = outputLevel
    }
}
