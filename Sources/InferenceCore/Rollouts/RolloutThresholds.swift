/// The limits one window's evidence must keep for the candidate to count as good.
///
/// A limit that is `nil` is not checked. Limits that need a row-by-row comparison with the primary
/// (label disagreement, score difference) can only be measured in shadow mode, where both versions
/// score the same rows; in canary mode they are reported as "not measured" and do not block a
/// promotion. Defaults are deliberately strict; the record carries whatever the operator chose.
public struct RolloutThresholds: Sendable, Hashable, Codable {
    /// Most rows (of those both versions scored) whose labels may differ; default 0.05.
    public var maxLabelDisagreementRate: Double?
    /// The quantile of `|candidate score − primary score|` compared with ``maxScoreDifference``; default 0.95.
    public var scoreDifferenceQuantile: Double
    /// Largest allowed value of that quantile; default 0.1.
    public var maxScoreDifference: Double?
    /// Most (errors + dead letters) / records of the candidate; default 0.01.
    public var maxFailureRate: Double?
    /// Largest population stability index of the candidate's outputs against the primary's; default 0.2.
    public var maxOutputPSI: Double?
    /// Largest ratio of the candidate's mean batch latency to the primary's; default 2.
    public var maxLatencyRatio: Double?
    /// Fewest candidate records a window needs to be judged at all; fewer means hold; default 100.
    public var minRecordsPerWindow: Int
    /// Limits on accuracy against ground truth (the labels topic, docs/quality.md): canary mode and
    /// classification models only. See ``Quality``.
    public var quality: Quality?

    /// Limits on accuracy against ground truth, judged per window on the labelled predictions of
    /// each version: a label joined with its prediction (docs/quality.md) counts in the window in
    /// which it arrives, for the version that made the prediction.
    ///
    /// Measured in canary mode, where each version serves its own keys and both versions'
    /// predictions are joined with labels; in shadow mode the candidate's predictions go to the
    /// shadow topic and are never joined, so a shadow record with quality limits is refused
    /// (``RolloutRecord/validate()``). Accuracy is the share of labelled predictions whose served
    /// class is the label's, so it applies to binary and multiclass models; a regression model's
    /// roll-out reports it as not measured and the limits are not checked.
    ///
    /// While a limit is set, a window in which a version it needs has fewer than
    /// ``minLabelledPerWindow`` labelled predictions is a **hold** (it neither counts towards a
    /// promotion nor rolls back): a candidate is not promoted on no evidence of its accuracy.
    public struct Quality: Sendable, Hashable, Codable {
        /// Lowest accuracy the candidate may show in a window.
        public var minAccuracy: Double?
        /// Largest drop of the candidate's accuracy below the primary's in the same window.
        public var maxAccuracyDrop: Double?
        /// Fewest labelled predictions of each version (the candidate's; the primary's too when
        /// ``maxAccuracyDrop`` is set) a window needs for accuracy to be judged; default 100. The
        /// accuracy of n labelled predictions is uncertain by about `sqrt(p(1 - p) / n)`: choose it
        /// so that this is well below ``maxAccuracyDrop``.
        public var minLabelledPerWindow: Int

        /// Creates quality limits.
        public init(minAccuracy: Double? = nil, maxAccuracyDrop: Double? = nil, minLabelledPerWindow: Int = Quality.defaultMinLabelledPerWindow) {
            self.minAccuracy = minAccuracy
            self.maxAccuracyDrop = maxAccuracyDrop
            self.minLabelledPerWindow = minLabelledPerWindow
        }

        /// ``minLabelledPerWindow`` when not given.
        public static let defaultMinLabelledPerWindow = 100

        /// Whether any limit is set (else the quality block changes nothing).
        public var isSet: Bool { minAccuracy != nil || maxAccuracyDrop != nil }

        /// Decodes limits; an absent `min_labelled_per_window` takes its default (records written
        /// before it existed have none).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            minAccuracy = try c.decodeIfPresent(Double.self, forKey: .minAccuracy)
            maxAccuracyDrop = try c.decodeIfPresent(Double.self, forKey: .maxAccuracyDrop)
            minLabelledPerWindow = try c.decodeIfPresent(Int.self, forKey: .minLabelledPerWindow) ?? Self.defaultMinLabelledPerWindow
        }

        enum CodingKeys: String, CodingKey {
            case minAccuracy = "min_accuracy", maxAccuracyDrop = "max_accuracy_drop", minLabelledPerWindow = "min_labelled_per_window"
        }
    }

    /// Creates thresholds; every argument has the documented default.
    public init(
        maxLabelDisagreementRate: Double? = 0.05, scoreDifferenceQuantile: Double = 0.95, maxScoreDifference: Double? = 0.1,
        maxFailureRate: Double? = 0.01, maxOutputPSI: Double? = 0.2, maxLatencyRatio: Double? = 2,
        minRecordsPerWindow: Int = 100, quality: Quality? = nil
    ) {
        self.maxLabelDisagreementRate = maxLabelDisagreementRate
        self.scoreDifferenceQuantile = scoreDifferenceQuantile
        self.maxScoreDifference = maxScoreDifference
        self.maxFailureRate = maxFailureRate
        self.maxOutputPSI = maxOutputPSI
        self.maxLatencyRatio = maxLatencyRatio
        self.minRecordsPerWindow = minRecordsPerWindow
        self.quality = quality
    }

    enum CodingKeys: String, CodingKey {
        case maxLabelDisagreementRate = "max_label_disagreement_rate", scoreDifferenceQuantile = "score_difference_quantile"
        case maxScoreDifference = "max_score_difference", maxFailureRate = "max_failure_rate", maxOutputPSI = "max_output_psi"
        case maxLatencyRatio = "max_latency_ratio", minRecordsPerWindow = "min_records_per_window", quality
    }

    /// Decodes thresholds; absent fields take their defaults, so a record may name only what it changes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RolloutThresholds()
        func optional(_ key: CodingKeys, _ fallback: Double?) throws -> Double? {
            // An explicit null switches a limit off; an absent key keeps the default.
            c.contains(key) ? try c.decodeIfPresent(Double.self, forKey: key) : fallback
        }
        maxLabelDisagreementRate = try optional(.maxLabelDisagreementRate, d.maxLabelDisagreementRate)
        scoreDifferenceQuantile = try c.decodeIfPresent(Double.self, forKey: .scoreDifferenceQuantile) ?? d.scoreDifferenceQuantile
        maxScoreDifference = try optional(.maxScoreDifference, d.maxScoreDifference)
        maxFailureRate = try optional(.maxFailureRate, d.maxFailureRate)
        maxOutputPSI = try optional(.maxOutputPSI, d.maxOutputPSI)
        maxLatencyRatio = try optional(.maxLatencyRatio, d.maxLatencyRatio)
        minRecordsPerWindow = try c.decodeIfPresent(Int.self, forKey: .minRecordsPerWindow) ?? d.minRecordsPerWindow
        quality = try c.decodeIfPresent(Quality.self, forKey: .quality)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Limits that are off are written as null, so that decoding does not bring the default back.
        try c.encode(maxLabelDisagreementRate, forKey: .maxLabelDisagreementRate)
        try c.encode(scoreDifferenceQuantile, forKey: .scoreDifferenceQuantile)
        try c.encode(maxScoreDifference, forKey: .maxScoreDifference)
        try c.encode(maxFailureRate, forKey: .maxFailureRate)
        try c.encode(maxOutputPSI, forKey: .maxOutputPSI)
        try c.encode(maxLatencyRatio, forKey: .maxLatencyRatio)
        try c.encode(minRecordsPerWindow, forKey: .minRecordsPerWindow)
        try c.encodeIfPresent(quality, forKey: .quality)
    }

    /// - Throws: ``RolloutError`` naming the first limit that cannot work.
    public func validate() throws(RolloutError) {
        func rate(_ value: Double?, _ field: String) throws(RolloutError) {
            guard let value else { return }
            guard value.isFinite, (0...1).contains(value) else {
                throw RolloutError(.invalidField, field: "thresholds.\(field)", "must be a rate within 0...1, got \(value)")
            }
        }
        func positive(_ value: Double?, _ field: String) throws(RolloutError) {
            guard let value else { return }
            guard value.isFinite, value > 0 else {
                throw RolloutError(.invalidField, field: "thresholds.\(field)", "must be a positive number, got \(value)")
            }
        }
        try rate(maxLabelDisagreementRate, "max_label_disagreement_rate")
        try rate(maxFailureRate, "max_failure_rate")
        guard scoreDifferenceQuantile.isFinite, (0...1).contains(scoreDifferenceQuantile) else {
            throw RolloutError(.invalidField, field: "thresholds.score_difference_quantile", "must be within 0...1 (0.95 is the 95th percentile), got \(scoreDifferenceQuantile)")
        }
        try positive(maxScoreDifference, "max_score_difference")
        try positive(maxOutputPSI, "max_output_psi")
        try positive(maxLatencyRatio, "max_latency_ratio")
        guard minRecordsPerWindow >= 1 else {
            throw RolloutError(.invalidField, field: "thresholds.min_records_per_window", "must be at least 1, got \(minRecordsPerWindow)")
        }
        try rate(quality?.minAccuracy, "quality.min_accuracy")
        try rate(quality?.maxAccuracyDrop, "quality.max_accuracy_drop")
        if let quality, quality.minLabelledPerWindow < 1 {
            throw RolloutError(.invalidField, field: "thresholds.quality.min_labelled_per_window", "must be at least 1, got \(quality.minLabelledPerWindow)")
        }
    }

    /// ``validate()``, and that every limit set can be measured in `mode`: accuracy limits cannot
    /// in shadow mode (a shadow's predictions are never joined with labels).
    ///
    /// - Throws: ``RolloutError`` naming the first limit that cannot work.
    public func validate(for mode: RolloutMode.Kind) throws(RolloutError) {
        try validate()
        if mode == .shadow, quality?.isSet == true {
            throw RolloutError(.invalidField, field: "thresholds.quality", "is judged in canary mode only: a shadow's predictions are never joined with labels, so its accuracy cannot be measured; roll out as a canary, or remove the accuracy limits")
        }
    }
}
