/// The mergeable state of a classifier's quality in one window: everything the metrics are computed
/// from, and nothing that cannot be added up across replicas.
public struct ClassificationQuality: Sendable, Hashable, Codable {
    /// The model's class labels, in its order (binary: negative, positive).
    public var labels: [String]
    /// The served decision threshold on the positive probability (binary only).
    public var threshold: Double?
    /// `confusion[true][predicted]`: examples per true class and served class.
    public var confusion: [[Int]]
    /// Σ −ln(clip(p_true, ε, 1 − ε)), ε = 2.22e-16 (float64 machine epsilon, as scikit-learn clips).
    public var logLossSum: Double
    /// Σ (p − y)² (binary, positive probability) or Σ_k (p_k − y_k)² (multiclass).
    public var brierSum: Double
    /// ROC AUC state: binary one accumulator (is it the positive class?); multiclass one per class,
    /// one-vs-rest, in label order.
    public var auc: [AUCAccumulator]

    enum CodingKeys: String, CodingKey {
        case labels, threshold, confusion, logLossSum = "log_loss_sum", brierSum = "brier_sum", auc = "roc_auc_state"
    }

    /// Empty state for `labels`.
    init(labels: [String], threshold: Double?, auc: AUCAccumulator) {
        self.labels = labels
        self.threshold = threshold
        self.confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        self.logLossSum = 0
        self.brierSum = 0
        self.auc = Array(repeating: auc, count: labels.count == 2 ? 1 : labels.count)
    }

    /// Examples counted.
    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

    /// The problem that makes this state unusable (from a corrupt report), or `nil`.
    func consistencyProblem() -> String? {
        let k = labels.count
        if k < 2 { return "a classifier has at least two labels" }
        if confusion.count != k || confusion.contains(where: { $0.count != k }) { return "the confusion matrix is not \(k)×\(k)" }
        if confusion.contains(where: { $0.contains { $0 < 0 } }) { return "negative count in the confusion matrix" }
        if auc.count != (k == 2 ? 1 : k) { return "expected \(k == 2 ? 1 : k) ROC AUC accumulators, got \(auc.count)" }
        return nil
    }

    func merged(with other: ClassificationQuality) throws(QualityReportMergeError) -> ClassificationQuality {
        guard labels == other.labels, threshold == other.threshold else {
            throw QualityReportMergeError(message: "reports have different labels or thresholds: merge one model version at a time")
        }
        var merged = self
        for t in confusion.indices { for p in confusion[t].indices { merged.confusion[t][p] += other.confusion[t][p] } }
        merged.logLossSum += other.logLossSum
        merged.brierSum += other.brierSum
        for i in auc.indices { try merged.auc[i].merge(other.auc[i]) }
        return merged
    }
}

/// The mergeable state of a regressor's quality in one window (error = prediction − target).
public struct RegressionQuality: Sendable, Hashable, Codable {
    /// Examples counted.
    public var count: Int
    /// Σ error.
    public var errorSum: Double
    /// Σ |error|.
    public var absoluteErrorSum: Double
    /// Σ error².
    public var squaredErrorSum: Double

    enum CodingKeys: String, CodingKey {
        case count, errorSum = "error_sum", absoluteErrorSum = "absolute_error_sum", squaredErrorSum = "squared_error_sum"
    }

    /// Empty state.
    public init() { count = 0; errorSum = 0; absoluteErrorSum = 0; squaredErrorSum = 0 }

    func merged(with other: RegressionQuality) -> RegressionQuality {
        var merged = self
        merged.count += other.count
        merged.errorSum += other.errorSum
        merged.absoluteErrorSum += other.absoluteErrorSum
        merged.squaredErrorSum += other.squaredErrorSum
        return merged
    }
}

/// What happened to predictions and labels in one window.
public struct QualityCounts: Sendable, Hashable, Codable {
    /// Predictions of this version put in the join store (made in the window).
    public var predictions: Int
    /// Labelled examples scored (labels joined with a prediction of this version and accepted).
    public var labelled: Int
    /// Predictions of this version that left the join store without a label in the window (evicted
    /// by age, count or bytes).
    public var unlabelledExpired: Int
    /// Labels joined with a prediction of this version but unusable for it, by reason:
    /// `unknown_class` (a class name the model does not have), `not_a_class_index` (a non-integral
    /// number or a boolean for a multiclass model), `class_index_out_of_range`, `not_a_number`
    /// (text for a regressor), `output_mismatch` (the stored prediction does not fit the model's labels).
    public var rejectedLabels: [String: Int]

    enum CodingKeys: String, CodingKey {
        case predictions, labelled, unlabelledExpired = "unlabelled_expired", rejectedLabels = "rejected_labels"
    }

    /// Zero counts.
    public init() { predictions = 0; labelled = 0; unlabelledExpired = 0; rejectedLabels = [:] }

    func merged(with other: QualityCounts) -> QualityCounts {
        var merged = self
        merged.predictions += other.predictions
        merged.labelled += other.labelled
        merged.unlabelledExpired += other.unlabelledExpired
        merged.rejectedLabels.merge(other.rejectedLabels, uniquingKeysWith: +)
        return merged
    }
}

/// Quality metrics derived from the state of a window; `nil` where a metric does not apply to the
/// task or is undefined (no examples; AUC without both classes; precision without positive decisions).
public struct QualityMetrics: Sendable, Hashable, Codable {
    /// Share of examples whose served class is the true class.
    public var accuracy: Double?
    /// Mean cross-entropy, natural log, probabilities clipped to [ε, 1 − ε] (scikit-learn's `log_loss`).
    public var logLoss: Double?
    /// Binary: mean (p − y)², scikit-learn's `brier_score_loss`. Multiclass: mean Σ_k (p_k − y_k)²
    /// (Brier's original definition; scikit-learn's multiclass `brier_score_loss` without `scale_by_half`).
    public var brierScore: Double?
    /// Binary ROC AUC; multiclass: the unweighted mean of the one-vs-rest AUCs of the classes that had
    /// both positives and negatives (scikit-learn `multi_class="ovr", average="macro"` when every class did).
    public var rocAUC: Double?
    /// Bound on |rocAUC − exact|: 0 while every accumulator is exact (see ``AUCAccumulator``).
    public var rocAUCMaxError: Double?
    /// Multiclass: the one-vs-rest AUC per class (classes without both positives and negatives absent).
    public var rocAUCPerClass: [String: Double]?
    /// Binary: TP / (TP + FP) at the served threshold.
    public var precision: Double?
    /// Binary: TP / (TP + FN) at the served threshold.
    public var recall: Double?
    /// Regression: mean |prediction − target|.
    public var meanAbsoluteError: Double?
    /// Regression: √(mean (prediction − target)²).
    public var rootMeanSquaredError: Double?
    /// Regression: mean (prediction − target): the bias.
    public var meanError: Double?
    /// labelled / (labelled + unlabelled_expired): the share of the predictions settled in the window
    /// (labelled, or given up on) that got a label.
    public var labelCoverage: Double?
    /// Label delay quantiles in seconds, by level ("0.5").
    public var labelDelaySeconds: [String: Double]?

    enum CodingKeys: String, CodingKey {
        case accuracy, logLoss = "log_loss", brierScore = "brier_score", rocAUC = "roc_auc", rocAUCMaxError = "roc_auc_max_error"
        case rocAUCPerClass = "roc_auc_per_class", precision, recall, meanAbsoluteError = "mae", rootMeanSquaredError = "rmse"
        case meanError = "mean_error", labelCoverage = "label_coverage", labelDelaySeconds = "label_delay_seconds"
    }

    /// No metrics.
    public init() {}
}
