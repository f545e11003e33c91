/// How a ``DriftMonitor`` windows its stream and judges drift.
///
/// Defaults follow the conventions users know from Evidently: PSI warns at 0.1 and alerts at 0.25
/// (< 0.1 stable, 0.1–0.25 moderate, > 0.25 significant) and the dataset drifts when at least half
/// of the features drift.
public struct DriftConfiguration: Sendable, Hashable {
    /// A window closes once it holds at least this many rows (checked at each `takeReportIfDue`,
    /// so a window may exceed it by the rows of one loop iteration). Default 500,000: below about
    /// 8,000 rows/s per replica windows close on the aligned time boundary (mergeable across
    /// replicas); at 100,000 rows/s a report every 5 s, not ten a second (each report costs a few ms).
    public var windowRecordCount: Int
    /// A window closes at the next multiple of this duration since the Unix epoch (windows are aligned
    /// to wall-clock boundaries so that replicas' windows line up and can be merged). Default 60 s.
    public var windowDuration: Duration
    /// Relative accuracy α of the quantile sketches (see ``QuantileSketch``). Default 0.01.
    public var sketchRelativeAccuracy: Double
    /// Quantiles reported in each numeric summary. Default 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99
    /// (the baselines' keys).
    public var quantiles: [Double]
    /// Whether a window in which nothing was observed still yields a report at its time boundary.
    /// Default false.
    public var reportEmptyWindows: Bool
    /// Thresholds for verdicts.
    public var thresholds: DriftThresholds

    /// Creates a configuration; every parameter has the default documented on its property.
    public init(
        windowRecordCount: Int = 500_000, windowDuration: Duration = .seconds(60), sketchRelativeAccuracy: Double = 0.01,
        quantiles: [Double] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99], reportEmptyWindows: Bool = false,
        thresholds: DriftThresholds = DriftThresholds()
    ) {
        self.windowRecordCount = windowRecordCount
        self.windowDuration = windowDuration
        self.sketchRelativeAccuracy = sketchRelativeAccuracy
        self.quantiles = quantiles
        self.reportEmptyWindows = reportEmptyWindows
        self.thresholds = thresholds
    }

    /// Rejects nonsense with a message saying what to change.
    public func validate() throws(ConfigurationValidationError) {
        func fail(_ field: String, _ message: String) -> ConfigurationValidationError {
            ConfigurationValidationError(message: "drift.\(field) \(message)")
        }
        if windowRecordCount < 1 { throw fail("windowRecordCount", "must be at least 1, got \(windowRecordCount)") }
        if windowDuration <= .zero { throw fail("windowDuration", "must be positive, got \(windowDuration)") }
        if !(sketchRelativeAccuracy > 0 && sketchRelativeAccuracy < 0.5) {
            throw fail("sketchRelativeAccuracy", "must be in (0, 0.5), got \(sketchRelativeAccuracy); 0.01 is a good choice")
        }
        if let q = quantiles.first(where: { !($0 >= 0 && $0 <= 1) }) { throw fail("quantiles", "must be in [0, 1], got \(q)") }
        if let problem = thresholds.problem() { throw fail("thresholds", problem) }
    }
}

/// A warn and an alert threshold for one statistic: the level is reached when the statistic is at
/// least the threshold. `nil` disables that level.
public struct StatisticThreshold: Sendable, Hashable, Codable {
    /// Warn when the statistic is ≥ this.
    public var warn: Double?
    /// Alert when the statistic is ≥ this.
    public var alert: Double?

    /// Creates a threshold pair.
    public init(warn: Double?, alert: Double?) { self.warn = warn; self.alert = alert }

    /// Both levels off.
    public static let disabled = StatisticThreshold(warn: nil, alert: nil)
}

/// The thresholds that turn drift scores into verdicts. Carried in every report, so a merged report is
/// judged by the same rules as its parts.
public struct DriftThresholds: Sendable, Hashable, Codable {
    /// Population stability index (numeric and categorical). Default warn 0.1, alert 0.25.
    public var psi: StatisticThreshold
    /// Jensen–Shannon distance (natural log, in [0, √ln 2 ≈ 0.833]). Default warn 0.1, alert 0.2.
    public var jensenShannon: StatisticThreshold
    /// Wasserstein-1 distance divided by the baseline standard deviation (numeric). Default disabled:
    /// computed from a binned baseline, its sampling noise is dominated by wide tail bins (measured: on
    /// windows of 2,000 rows drawn from the fraud model's own baseline, `amount`, whose last bin spans
    /// 150–4,333 with std 118, scored 0.1–0.42). Enable it (Evidently uses 0.1) for features with
    /// narrow bins.
    public var wassersteinNormed: StatisticThreshold
    /// Binned Kolmogorov–Smirnov statistic (numeric). Default disabled: at large windows it flags
    /// differences too small to matter.
    public var kolmogorovSmirnov: StatisticThreshold
    /// Absolute change of the missing rate vs the baseline. Default warn 0.05, alert 0.15.
    public var missingRateChange: StatisticThreshold
    /// Chi-square p-value (categorical): warn/alert when the p-value is *at most* the threshold.
    /// Default disabled: with thousands of rows per window it rejects for negligible differences;
    /// it is reported for information.
    public var chiSquarePValue: StatisticThreshold
    /// Distribution statistics are judged only when the window has at least this many non-missing
    /// values; below it the column's verdict is `insufficient_data`. Default 100.
    public var minimumSampleSize: Int
    /// A feature counts as drifted for the dataset verdict at this level or above. Default `.warn`.
    public var featureDriftLevel: DriftLevel
    /// The dataset drifts when at least this share of the judged features drifted. Default 0.5.
    public var datasetDriftShare: Double

    /// Creates thresholds; every parameter has the default documented on its property.
    public init(
        psi: StatisticThreshold = .init(warn: 0.1, alert: 0.25),
        jensenShannon: StatisticThreshold = .init(warn: 0.1, alert: 0.2),
        wassersteinNormed: StatisticThreshold = .disabled,
        kolmogorovSmirnov: StatisticThreshold = .disabled,
        missingRateChange: StatisticThreshold = .init(warn: 0.05, alert: 0.15),
        chiSquarePValue: StatisticThreshold = .disabled,
        minimumSampleSize: Int = 100,
        featureDriftLevel: DriftLevel = .warn,
        datasetDriftShare: Double = 0.5
    ) {
        self.psi = psi
        self.jensenShannon = jensenShannon
        self.wassersteinNormed = wassersteinNormed
        self.kolmogorovSmirnov = kolmogorovSmirnov
        self.missingRateChange = missingRateChange
        self.chiSquarePValue = chiSquarePValue
        self.minimumSampleSize = minimumSampleSize
        self.featureDriftLevel = featureDriftLevel
        self.datasetDriftShare = datasetDriftShare
    }

    enum CodingKeys: String, CodingKey {
        case psi, jensenShannon = "jensen_shannon", wassersteinNormed = "wasserstein_normed"
        case kolmogorovSmirnov = "kolmogorov_smirnov", missingRateChange = "missing_rate_change"
        case chiSquarePValue = "chi_square_p_value", minimumSampleSize = "minimum_sample_size"
        case featureDriftLevel = "feature_drift_level", datasetDriftShare = "dataset_drift_share"
    }

    func problem() -> String? {
        let pairs: [(String, StatisticThreshold)] = [
            ("psi", psi), ("jensenShannon", jensenShannon), ("wassersteinNormed", wassersteinNormed),
            ("kolmogorovSmirnov", kolmogorovSmirnov), ("missingRateChange", missingRateChange),
        ]
        for (name, pair) in pairs {
            if let w = pair.warn, let a = pair.alert, w > a { return "\(name): warn \(w) is above alert \(a)" }
        }
        if let w = chiSquarePValue.warn, let a = chiSquarePValue.alert, a > w {
            return "chiSquarePValue: alert p-value \(a) must be at most the warn p-value \(w)"
        }
        if minimumSampleSize < 1 { return "minimumSampleSize must be at least 1" }
        if !(datasetDriftShare > 0 && datasetDriftShare <= 1) { return "datasetDriftShare must be in (0, 1]" }
        if featureDriftLevel == .ok || featureDriftLevel == .insufficientData { return "featureDriftLevel must be warn or alert" }
        return nil
    }
}
