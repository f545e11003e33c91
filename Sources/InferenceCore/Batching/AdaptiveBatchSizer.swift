/// Chooses the batch size that maximises throughput while a latency objective holds.
///
/// ## Objective
/// A record's latency in the batcher is the time its batch's *oldest* record waited (queueing) plus
/// the model time of the batch. The objective is that this stays at or below
/// ``Configuration/latencyObjective`` for every batch; a batch above it is a *miss*.
///
/// ## Algorithm (combines BentoML's cost fit with Clipper's AIMD)
/// 1. Every finished batch adds `(n, model time, queueing delay)` to a sliding window of the last
///    ``Configuration/window`` batches.
/// 2. **Miss** (queueing + model > objective): multiplicative decrease, Clipper-style:
///    `size = max(1, min(size - 1, floor(size * backoffFactor)))` (default factor 0.9: a 10 % back-off).
/// 3. **Hit**: fit the batch cost `t(n) = a*n + b` by least squares over the window (BentoML). When the
///    window holds a single batch size (steady state) the slope `a` of the last good fit is kept and only
///    `b` is re-estimated as `mean(t) - a*mean(n)`, so a steady state does not lose its model. With a fit,
///    the best size is `n* = floor((objective - mean queueing - b - margin) / a)` clamped to
///    `1...maxBatchSize`, where `margin` is the largest residual `t - (a*n + b)` in the window (noise:
///    without it, half the batches sized at the mean optimum would miss):
///    throughput `n / (a*n + b)` grows with `n`, so the largest size meeting the objective is the best.
///    The size then moves toward `n*`: up by ``Configuration/additiveIncrease`` per batch (AIMD's
///    additive probe; never past `n*`), or straight down to `n*` when the fit predicts a miss.
///    Without a usable fit (fewer than two distinct sizes ever seen, or `a <= 0`, i.e. batching is
///    free) it probes upward additively.
///
/// The result always lies in `1...maxBatchSize`. Queueing in the estimate is the window's mean
/// oldest-record wait: at low traffic batches close by deadline and that wait approaches `maxDelay`,
/// leaving less budget for the model; at high traffic batches fill quickly and the model gets most of it.
public struct AdaptiveBatchSizer: Sendable {
    /// Tuning of the controller.
    public struct Configuration: Sendable, Hashable {
        /// The latency objective for queueing of the oldest record plus model time. No default: required.
        public var latencyObjective: Duration
        /// Batches kept for the least-squares fit. Default 32.
        public var window: Int
        /// Size added after a batch that met the objective, while below the fitted optimum. Default 1.
        public var additiveIncrease: Int
        /// Factor applied to the size after a miss. Default 0.9 (Clipper's 10 % back-off).
        public var backoffFactor: Double
        /// The size to start from. Default 1 (clamped to `maxBatchSize`).
        public var initialBatchSize: Int

        /// Creates a configuration; see each property for its default.
        public init(latencyObjective: Duration, window: Int = 32, additiveIncrease: Int = 1, backoffFactor: Double = 0.9, initialBatchSize: Int = 1) {
            self.latencyObjective = latencyObjective
            self.window = window
            self.additiveIncrease = additiveIncrease
            self.backoffFactor = backoffFactor
            self.initialBatchSize = initialBatchSize
        }

        /// Rejects values the controller cannot work with.
        public func validate() throws(ConfigurationValidationError) {
            guard latencyObjective > .zero else {
                throw .init(message: "adaptive latencyObjective is \(latencyObjective); it must be positive")
            }
            guard window >= 2 else {
                throw .init(message: "adaptive window is \(window); at least 2 batches are needed to fit a*n+b")
            }
            guard additiveIncrease >= 1 else {
                throw .init(message: "adaptive additiveIncrease is \(additiveIncrease); it must be at least 1")
            }
            guard backoffFactor > 0, backoffFactor < 1 else {
                throw .init(message: "adaptive backoffFactor is \(backoffFactor); it must lie strictly between 0 and 1 (0.9 backs off 10 %)")
            }
            guard initialBatchSize >= 1 else {
                throw .init(message: "adaptive initialBatchSize is \(initialBatchSize); it must be at least 1")
            }
        }
    }

    /// The fitted batch cost `perRecord * n + fixed`.
    public struct CostModel: Sendable, Hashable {
        /// Marginal model time per record (`a`), in seconds.
        public var perRecordSeconds: Double
        /// Fixed model time per batch (`b`), in seconds.
        public var fixedSeconds: Double

        /// Predicted model time for a batch of `n` records, in seconds.
        public func predictedSeconds(batchSize n: Int) -> Double { perRecordSeconds * Double(n) + fixedSeconds }
    }

    private struct Sample {
        var size: Double
        var modelSeconds: Double
        var queueingSeconds: Double
    }

    /// The configuration.
    public let configuration: Configuration
    /// The upper bound of ``batchSize``.
    public let maxBatchSize: Int
    /// The current target batch size, always in `1...maxBatchSize`.
    public private(set) var batchSize: Int
    /// The latest cost fit, once one exists.
    public private(set) var costModel: CostModel?
    /// Batches that missed the objective since creation.
    public private(set) var misses: Int = 0
    /// Batches recorded since creation.
    public private(set) var observations: Int = 0

    private var samples: [Sample] = []
    private var nextSlot = 0
    private let objectiveSeconds: Double

    /// Creates a controller starting at `initialBatchSize` (clamped to `1...maxBatchSize`).
    public init(configuration: Configuration, maxBatchSize: Int) {
        self.configuration = configuration
        self.maxBatchSize = max(1, maxBatchSize)
        self.batchSize = min(max(1, configuration.initialBatchSize), self.maxBatchSize)
        self.objectiveSeconds = configuration.latencyObjective.doubleSeconds
        samples.reserveCapacity(configuration.window)
    }

    /// The optimum the current fit predicts, `nil` without a usable fit.
    public var predictedOptimalBatchSize: Int? {
        guard let model = costModel, model.perRecordSeconds > 0 else { return nil }
        let budget = objectiveSeconds - meanQueueingSeconds - model.fixedSeconds - noiseMarginSeconds
        // The tiny epsilon keeps an exactly-on-the-boundary optimum from flooring one below after the
        // rounding error of the fit.
        let raw = (budget / model.perRecordSeconds + 1e-9).rounded(.down)
        guard raw.isFinite else { return nil }
        return Int(min(max(raw, 1), Double(maxBatchSize)))
    }

    /// Records a finished batch and updates ``batchSize`` (see the type's documentation).
    public mutating func record(batchSize n: Int, queueingDelay: Duration, modelLatency: Duration) {
        guard n >= 1 else { return }
        observations += 1
        let sample = Sample(size: Double(n), modelSeconds: modelLatency.doubleSeconds, queueingSeconds: max(0, queueingDelay.doubleSeconds))
        if samples.count < configuration.window {
            samples.append(sample)
        } else {
            samples[nextSlot] = sample
            nextSlot = (nextSlot + 1) % configuration.window
        }
        refit()

        if sample.queueingSeconds + sample.modelSeconds > objectiveSeconds {
            misses += 1
            let decreased = Int((Double(batchSize) * configuration.backoffFactor).rounded(.down))
            batchSize = max(1, min(batchSize - 1, decreased))
            return
        }
        if let optimum = predictedOptimalBatchSize {
            if optimum > batchSize {
                batchSize = min(optimum, batchSize + configuration.additiveIncrease)
            } else {
                batchSize = optimum
            }
        } else {
            batchSize = min(maxBatchSize, batchSize + configuration.additiveIncrease)
        }
    }

    /// The largest amount by which a batch in the window took longer than the fit predicts: a safety
    /// margin so that batches sized at the optimum still meet the objective despite noise (with a
    /// window of 32 this is roughly the 97th percentile of the residuals).
    private var noiseMarginSeconds: Double {
        guard let model = costModel else { return 0 }
        var margin = 0.0
        for s in samples { margin = max(margin, s.modelSeconds - model.predictedSeconds(batchSize: Int(s.size))) }
        return margin
    }

    private var meanQueueingSeconds: Double {
        guard !samples.isEmpty else { return 0 }
        var total = 0.0
        for s in samples { total += s.queueingSeconds }
        return total / Double(samples.count)
    }

    private mutating func refit() {
        let count = Double(samples.count)
        var sumN = 0.0, sumT = 0.0
        for s in samples { sumN += s.size; sumT += s.modelSeconds }
        let meanN = sumN / count, meanT = sumT / count
        var sxx = 0.0, sxy = 0.0
        for s in samples {
            let dx = s.size - meanN
            sxx += dx * dx
            sxy += dx * (s.modelSeconds - meanT)
        }
        // Relative threshold: sizes are integers, so any two distinct sizes give sxx >= 0.5.
        if sxx > 1e-9 {
            let a = sxy / sxx
            costModel = CostModel(perRecordSeconds: a, fixedSeconds: meanT - a * meanN)
        } else if let previous = costModel {
            // One size in the window (steady state): keep the slope, re-estimate the intercept.
            costModel = CostModel(perRecordSeconds: previous.perRecordSeconds, fixedSeconds: meanT - previous.perRecordSeconds * meanN)
        }
    }
}
