/// The numbers a decision is made on, derived from one window's (merged) ``RolloutEvidence``.
///
/// A number that could not be measured (no comparisons in canary mode, no batches) is `nil`, and a
/// threshold on it is not checked. Stored with every automatic decision, so `rollout status` can show
/// the evidence table without reading the evidence topic.
public struct RolloutEvidenceSummary: Sendable, Hashable, Codable {
    /// Replicas that contributed.
    public var workers: Int
    /// Rows the primary scored (shadow: the sampled rows; canary: the rows it served).
    public var primaryRecords: Int
    /// Rows the candidate scored.
    public var candidateRecords: Int
    /// Rows both versions labelled.
    public var labelComparisons: Int
    /// Share of those whose labels differ.
    public var labelDisagreementRate: Double?
    /// The quantile level of ``scoreDifference``.
    public var scoreDifferenceQuantile: Double
    /// That quantile of `|candidate − primary|` over rows both scored.
    public var scoreDifference: Double?
    /// (errors + dead letters) / records of the candidate.
    public var candidateFailureRate: Double?
    /// The same for the primary, for comparison.
    public var primaryFailureRate: Double?
    /// PSI of the candidate's output buckets against the primary's.
    public var outputPSI: Double?
    /// Candidate mean batch time / primary mean batch time.
    public var latencyRatio: Double?
    /// Predictions of each version joined with a label in the window; `nil` where accuracy does not
    /// apply (a regression model, or a summary written before it was measured).
    public var primaryLabelled: Int?
    public var candidateLabelled: Int?
    /// Share of those whose served class is the label's; `nil` without labelled predictions.
    public var primaryAccuracy: Double?
    public var candidateAccuracy: Double?
    /// Primary accuracy minus candidate accuracy (positive: the candidate is worse).
    public var accuracyDrop: Double?

    /// Derives the numbers of `evidence`, the score-difference quantile at `quantile`.
    public init(evidence e: RolloutEvidence, scoreDifferenceQuantile quantile: Double) {
        workers = e.workerIDs.count
        primaryRecords = e.primary.records
        candidateRecords = e.candidate.records
        labelComparisons = e.labelComparisons
        labelDisagreementRate = e.labelComparisons > 0 ? Double(e.labelComparisons - e.labelAgreements) / Double(e.labelComparisons) : nil
        scoreDifferenceQuantile = quantile
        scoreDifference = e.scoreDifference.quantile(quantile)
        func failureRate(_ v: RolloutEvidence.VersionEvidence) -> Double? {
            v.records > 0 ? Double(v.errors + v.deadLetters) / Double(v.records) : nil
        }
        candidateFailureRate = failureRate(e.candidate)
        primaryFailureRate = failureRate(e.primary)
        outputPSI = Self.psi(expected: e.primary.outputs, live: e.candidate.outputs)
        if let c = e.candidate.meanBatchMicroseconds, let p = e.primary.meanBatchMicroseconds, p > 0 {
            latencyRatio = c / p
        } else {
            latencyRatio = nil
        }
        // Accuracy is a classification measure: the served class against the label's.
        if e.outputBinning != .signedLog2 {
            primaryLabelled = e.primary.labelled
            candidateLabelled = e.candidate.labelled
            primaryAccuracy = e.primary.accuracy
            candidateAccuracy = e.candidate.accuracy
            if let p = primaryAccuracy, let c = candidateAccuracy { accuracyDrop = p - c }
        }
    }

    /// PSI over the union of both histograms' buckets (``DriftStatistics/psi(expected:live:)``, so
    /// empty buckets are floored the same way as in drift reports); `nil` when either is empty.
    static func psi(expected: [String: Int], live: [String: Int]) -> Double? {
        let e = expected.values.reduce(0, +), l = live.values.reduce(0, +)
        guard e > 0, l > 0 else { return nil }
        let buckets = Set(expected.keys).union(live.keys).sorted()
        return DriftStatistics.psi(
            expected: buckets.map { Double(expected[$0, default: 0]) / Double(e) },
            live: buckets.map { Double(live[$0, default: 0]) / Double(l) }
        )
    }

    enum CodingKeys: String, CodingKey {
        case workers, primaryRecords = "primary_records", candidateRecords = "candidate_records"
        case labelComparisons = "label_comparisons", labelDisagreementRate = "label_disagreement_rate"
        case scoreDifferenceQuantile = "score_difference_quantile", scoreDifference = "score_difference"
        case candidateFailureRate = "candidate_failure_rate", primaryFailureRate = "primary_failure_rate"
        case outputPSI = "output_psi", latencyRatio = "latency_ratio"
        case primaryLabelled = "primary_labelled", candidateLabelled = "candidate_labelled"
        case primaryAccuracy = "primary_accuracy", candidateAccuracy = "candidate_accuracy", accuracyDrop = "accuracy_drop"
    }
}
