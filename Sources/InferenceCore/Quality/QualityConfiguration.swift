/// How a ``QualityMonitor`` windows its stream of labelled examples and summarises it.
public struct QualityConfiguration: Sendable, Hashable {
    /// A window closes once it holds at least this many labelled examples. Default 10,000.
    public var windowRecordCount: Int
    /// A window closes at the next multiple of this duration since the Unix epoch (aligned like drift
    /// windows, so replicas' windows coincide and merge). Default 60 s.
    public var windowDuration: Duration
    /// Whether a window in which nothing happened still yields a report at its time boundary. Default false.
    public var reportEmptyWindows: Bool
    /// Relative accuracy α of the label-delay sketch (``QuantileSketch``). Default 0.01.
    public var delaySketchRelativeAccuracy: Double
    /// Label-delay quantiles reported. Default 0.5, 0.9, 0.99.
    public var delayQuantiles: [Double]
    /// Distinct scores a ROC AUC accumulator keeps exactly before it falls back to fixed bins
    /// (``AUCAccumulator``). Default 2,048.
    public var aucMaxExactScores: Int
    /// Equal-width bins over [0, 1] of a binned ROC AUC accumulator. Default 1,024 (the AUC is then
    /// within the reported `roc_auc_max_error` of the exact value).
    public var aucBins: Int

    /// Creates a configuration; every parameter has the default documented on its property.
    public init(
        windowRecordCount: Int = 10_000, windowDuration: Duration = .seconds(60), reportEmptyWindows: Bool = false,
        delaySketchRelativeAccuracy: Double = 0.01, delayQuantiles: [Double] = [0.5, 0.9, 0.99],
        aucMaxExactScores: Int = 2048, aucBins: Int = 1024
    ) {
        self.windowRecordCount = windowRecordCount
        self.windowDuration = windowDuration
        self.reportEmptyWindows = reportEmptyWindows
        self.delaySketchRelativeAccuracy = delaySketchRelativeAccuracy
        self.delayQuantiles = delayQuantiles
        self.aucMaxExactScores = aucMaxExactScores
        self.aucBins = aucBins
    }

    /// Rejects nonsense with a message saying what to change.
    public func validate() throws(ConfigurationValidationError) {
        func fail(_ field: String, _ message: String) -> ConfigurationValidationError {
            ConfigurationValidationError(message: "quality.\(field) \(message)")
        }
        if windowRecordCount < 1 { throw fail("windowRecordCount", "must be at least 1, got \(windowRecordCount)") }
        if windowDuration <= .zero { throw fail("windowDuration", "must be positive, got \(windowDuration)") }
        if !(delaySketchRelativeAccuracy > 0 && delaySketchRelativeAccuracy < 0.5) {
            throw fail("delaySketchRelativeAccuracy", "must be in (0, 0.5), got \(delaySketchRelativeAccuracy); 0.01 is a good choice")
        }
        if let q = delayQuantiles.first(where: { !($0 >= 0 && $0 <= 1) }) { throw fail("delayQuantiles", "must be in [0, 1], got \(q)") }
        if aucMaxExactScores < 0 { throw fail("aucMaxExactScores", "must not be negative, got \(aucMaxExactScores)") }
        if aucBins < 2 || aucBins > 1_000_000 { throw fail("aucBins", "must be in [2, 1000000], got \(aucBins)") }
    }
}
