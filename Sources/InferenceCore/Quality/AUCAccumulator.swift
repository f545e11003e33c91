/// Mergeable state for the ROC AUC of one binary question ("is it class k?"): how many positives
/// and negatives received each score.
///
/// **Exact mode.** While a window holds at most ``maxExactScores`` distinct scores, each distinct
/// score (a Float32, as served) is kept with its counts, and ``auc`` equals the Mann–Whitney U
/// statistic with ties counted ½ — what scikit-learn's `roc_auc_score` computes — up to floating-point
/// rounding of the final division.
///
/// **Binned mode.** Beyond that, scores are counted in ``binCount`` equal-width bins over [0, 1]
/// (scores outside are clamped). Pairs in different bins are still ordered exactly; a positive and a
/// negative in the same bin count ½, so the error is at most ``maxError`` = Σ_b pos_b·neg_b / (2·P·N),
/// which is reported next to the AUC. With 1,024 bins and well-spread scores it is typically below 1e-3.
///
/// **Merging** adds counts. Exact + exact stays exact while the union fits; otherwise both sides are
/// binned (deterministically) and added. The merge therefore equals the accumulator of the union of
/// the streams, whatever the split between replicas.
public struct AUCAccumulator: Sendable, Hashable, Codable {
    /// How scores are kept.
    public enum Mode: String, Sendable, Hashable, Codable {
        /// One entry per distinct score.
        case exact
        /// Equal-width bins over [0, 1].
        case binned
    }

    /// How scores are kept.
    public private(set) var mode: Mode
    /// Exact mode: the distinct scores, ascending. Binned mode: empty.
    public private(set) var scores: [Float]
    /// Positives per distinct score (exact) or per bin (binned).
    public private(set) var positives: [Int]
    /// Negatives per distinct score (exact) or per bin (binned).
    public private(set) var negatives: [Int]
    /// Distinct scores kept exactly before binning.
    public let maxExactScores: Int
    /// Bins of the binned mode.
    public let binCount: Int

    enum CodingKeys: String, CodingKey {
        case mode, scores, positives, negatives, maxExactScores = "max_exact_scores", binCount = "bins"
    }

    /// Decodes and checks an accumulator: a report from the wire must never trap later.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decode(Mode.self, forKey: .mode)
        scores = try c.decode([Float].self, forKey: .scores)
        positives = try c.decode([Int].self, forKey: .positives)
        negatives = try c.decode([Int].self, forKey: .negatives)
        maxExactScores = try c.decode(Int.self, forKey: .maxExactScores)
        binCount = try c.decode(Int.self, forKey: .binCount)
        func corrupt(_ message: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: .positives, in: c, debugDescription: "ROC AUC accumulator: \(message)")
        }
        guard binCount >= 2, maxExactScores >= 0 else { throw corrupt("bins must be at least 2 and max_exact_scores not negative") }
        guard positives.count == negatives.count else { throw corrupt("positives and negatives differ in length") }
        guard (positives + negatives).allSatisfy({ $0 >= 0 }) else { throw corrupt("negative count") }
        switch mode {
        case .exact:
            guard scores.count == positives.count else { throw corrupt("scores and counts differ in length") }
            guard zip(scores, scores.dropFirst()).allSatisfy({ $0 < $1 }), scores.allSatisfy(\.isFinite) else {
                throw corrupt("scores must be finite and strictly ascending")
            }
        case .binned:
            guard scores.isEmpty, positives.count == binCount else { throw corrupt("a binned accumulator has one count per bin and no scores") }
        }
    }

    /// Creates an empty accumulator.
    ///
    /// - Parameters:
    ///   - maxExactScores: distinct scores kept exactly; default 2,048.
    ///   - binCount: bins over [0, 1] once binned; default 1,024.
    public init(maxExactScores: Int = 2048, binCount: Int = 1024) {
        self.mode = .exact
        self.scores = []
        self.positives = []
        self.negatives = []
        self.maxExactScores = Swift.max(0, maxExactScores)
        self.binCount = Swift.max(2, binCount)
    }

    /// Builds the accumulator from per-score counts (`score bits -> (positives, negatives)`), as a
    /// monitor collects them during a window.
    init(counts: [Float: (positives: Int, negatives: Int)], maxExactScores: Int, binCount: Int) {
        self.init(maxExactScores: maxExactScores, binCount: binCount)
        let sorted = counts.sorted { $0.key < $1.key }
        scores = sorted.map(\.key)
        positives = sorted.map(\.value.positives)
        negatives = sorted.map(\.value.negatives)
        if scores.count > self.maxExactScores { bin() }
    }

    /// Positives counted.
    public var positiveCount: Int { positives.reduce(0, +) }
    /// Negatives counted.
    public var negativeCount: Int { negatives.reduce(0, +) }

    /// The bin of `score`: `⌊score·binCount⌋`, clamped to the bins.
    func bin(of score: Float) -> Int {
        let x = Double(score)
        guard x > 0 else { return 0 }
        return Swift.min(Int(x * Double(binCount)), binCount - 1)
    }

    /// Switches to binned mode (no-op when binned).
    mutating func bin() {
        guard mode == .exact else { return }
        var p = [Int](repeating: 0, count: binCount), n = [Int](repeating: 0, count: binCount)
        for (i, score) in scores.enumerated() {
            let b = bin(of: score)
            p[b] += positives[i]
            n[b] += negatives[i]
        }
        mode = .binned
        scores = []
        positives = p
        negatives = n
    }

    /// Adds `other`'s counts.
    ///
    /// - Throws: ``QualityReportMergeError`` when the two were made with different settings.
    public mutating func merge(_ other: AUCAccumulator) throws(QualityReportMergeError) {
        guard maxExactScores == other.maxExactScores, binCount == other.binCount else {
            throw QualityReportMergeError(message: "ROC AUC accumulators were made with different settings (max exact scores, bins): configure all replicas alike")
        }
        if mode == .exact && other.mode == .exact {
            var merged: [Float] = [], p: [Int] = [], n: [Int] = []
            var i = 0, j = 0
            while i < scores.count || j < other.scores.count {
                if j == other.scores.count || (i < scores.count && scores[i] < other.scores[j]) {
                    merged.append(scores[i]); p.append(positives[i]); n.append(negatives[i]); i += 1
                } else if i == scores.count || other.scores[j] < scores[i] {
                    merged.append(other.scores[j]); p.append(other.positives[j]); n.append(other.negatives[j]); j += 1
                } else {
                    merged.append(scores[i]); p.append(positives[i] + other.positives[j]); n.append(negatives[i] + other.negatives[j])
                    i += 1; j += 1
                }
            }
            scores = merged; positives = p; negatives = n
            if scores.count > maxExactScores { bin() }
            return
        }
        var right = other
        bin()
        right.bin()
        for b in 0..<binCount {
            positives[b] += right.positives[b]
            negatives[b] += right.negatives[b]
        }
    }

    /// The ROC AUC: the probability that a random positive scores above a random negative (ties ½);
    /// `nil` without at least one positive and one negative.
    public var auc: Double? {
        let p = positiveCount, n = negativeCount
        guard p > 0, n > 0 else { return nil }
        var below = 0.0, sum = 0.0
        for i in positives.indices {
            let pos = Double(positives[i]), neg = Double(negatives[i])
            sum += pos * below + 0.5 * pos * neg
            below += neg
        }
        return sum / (Double(p) * Double(n))
    }

    /// The largest possible difference between ``auc`` and the exact AUC: 0 in exact mode; in binned
    /// mode half the share of positive–negative pairs that fall in one bin. `nil` when ``auc`` is.
    public var maxError: Double? {
        let p = positiveCount, n = negativeCount
        guard p > 0, n > 0 else { return nil }
        guard mode == .binned else { return 0 }
        var tied = 0.0
        for i in positives.indices { tied += Double(positives[i]) * Double(negatives[i]) }
        return tied / (2 * Double(p) * Double(n))
    }
}
