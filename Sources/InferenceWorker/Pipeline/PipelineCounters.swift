import Synchronization

/// What the pipeline has done so far, for progress lines, tests and metrics. Thread-safe.
///
/// With a ``WorkerMetrics``, every update is also forwarded to the Prometheus instruments: the
/// change between the snapshot before and after the update is added (so the pipeline's call sites
/// stay as they are), dead letters by their bounded reason, end-to-end latencies as recorded.
public final class PipelineCounters: Sendable {
    public struct Snapshot: Sendable, Hashable {
        public var consumed = 0
        public var predicted = 0
        public var deadLettered = 0
        public var deadLetteredByReason: [String: Int] = [:]
        public var retried = 0
        public var batches = 0
        public var batchedRecords = 0
        public var modelNanoseconds: Int64 = 0
        public var pauses = 0
        public var rebalances = 0
        public var commitFailures = 0
        /// Outputs held back because their topic could not be written (each counted once).
        public var blocked = 0
        /// Dead letters written truncated (cut to a budget, or in their minimal form) because the
        /// broker or the client refused them as they were.
        public var truncatedDeadLetters = 0
        /// Dead letters given up because not even their minimal form could be written (their inputs
        /// acknowledged without an output).
        public var droppedDeadLetters = 0
        /// A shadow candidate's predictions that could not be written (dropped: they are roll-out
        /// evidence, never outputs, and never hold the primary path back).
        public var shadowPredictionsDropped = 0
        /// Producers recreated after a fatal error.
        public var producerRecoveries = 0
        /// Outputs sent again by a recreated producer (each may duplicate one already written).
        public var resent = 0
        /// Outputs not sent again (after a failed write or a producer's recreation) because their
        /// input's partition was revoked or lost since: its next owner reads the input again from
        /// the committed offset, so sending them would only duplicate.
        public var discardedOutputs = 0

        public var outcomes: Int { predicted + deadLettered + droppedDeadLetters }
        public var meanBatchSize: Double { batches == 0 ? 0 : Double(batchedRecords) / Double(batches) }
    }

    private let state = Mutex(Snapshot())
    /// Predictions counted by ``predicted(endToEndMicroseconds:)``: an atomic, so that the delivery
    /// thread takes no lock per prediction; ``snapshot`` adds it to `state.predicted` (which
    /// ``update(_:)`` may still change).
    private let predictedCount = Atomic<Int>(0)
    /// End-to-end latency: request timestamp to the prediction's acknowledgement.
    public let endToEndLatency: LatencyHistogram
    /// The worker's own part of it: the consumer handing a record over to its batch's outputs
    /// being handed to the producer (queueing, batching, decoding, the model, encoding). What is
    /// left of the end-to-end latency is the broker's and the Kafka clients' (produce, fetch).
    public let processingLatency: LatencyHistogram
    /// Where updates are forwarded, if anywhere.
    public let metrics: WorkerMetrics?

    public init(metrics: WorkerMetrics? = nil) {
        self.metrics = metrics
        if let metrics {
            endToEndLatency = LatencyHistogram(observer: { microseconds in metrics.recordEndToEnd(microseconds: microseconds) })
            processingLatency = LatencyHistogram(observer: { microseconds in metrics.recordProcessing(microseconds: microseconds) })
        } else {
            endToEndLatency = LatencyHistogram()
            processingLatency = LatencyHistogram()
        }
    }

    public var snapshot: Snapshot {
        var snapshot = state.withLock { $0 }
        snapshot.predicted += predictedCount.load(ordering: .relaxed)
        return snapshot
    }

    /// One prediction acknowledged, with its end-to-end latency when the input had a timestamp.
    /// The delivery thread's per-record path: no lock (an atomic add, and the histogram's own
    /// atomic add), and with metrics one counter increment instead of two snapshot copies.
    func predicted(endToEndMicroseconds: Int64?) {
        predictedCount.wrappingAdd(1, ordering: .relaxed)
        metrics?.recordPrediction()
        if let endToEndMicroseconds { endToEndLatency.record(microseconds: endToEndMicroseconds) }
    }

    func update(_ body: (inout Snapshot) -> Void) {
        guard let metrics else {
            state.withLock { body(&$0) }
            return
        }
        // The body never touches the reason dictionary, so the copy shares its storage.
        let (before, after) = state.withLock { current -> (Snapshot, Snapshot) in
            let before = current
            body(&current)
            return (before, current)
        }
        metrics.record(from: before, to: after)
    }

    func deadLettered(reason: String) {
        state.withLock {
            $0.deadLettered += 1
            $0.deadLetteredByReason[reason, default: 0] += 1
        }
        metrics?.deadLettered(reason: reason)
    }
}

/// A log-linear histogram of latencies (8 sub-buckets per power of two: about 9% resolution),
/// from 1 microsecond to about 70 minutes. Thread-safe; cheap enough to record every record.
///
/// `@unchecked Sendable`: the buckets are atomics in memory the histogram allocates in `init`,
/// frees in `deinit` and never reallocates. Recording is one relaxed atomic add (no lock);
/// readers see each bucket's count, not a snapshot of all buckets at one instant, which is all a
/// quantile of a live histogram needs.
public final class LatencyHistogram: @unchecked Sendable {
    private static let subBuckets = 8
    private static let bucketCount = 33 * subBuckets
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let observer: (@Sendable (Int64) -> Void)?

    /// - Parameter observer: also receives every recorded latency, in microseconds (metrics).
    public init(observer: (@Sendable (Int64) -> Void)? = nil) {
        self.observer = observer
        counts = .allocate(capacity: Self.bucketCount)
        for i in 0..<Self.bucketCount { (counts + i).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: Self.bucketCount)
        counts.deallocate()
    }

    private func loadCounts() -> [Int] {
        (0..<Self.bucketCount).map { counts[$0].load(ordering: .relaxed) }
    }

    private static func index(microseconds: Int64) -> Int {
        let v = UInt64(max(1, microseconds))
        let exponent = 63 - v.leadingZeroBitCount
        let mantissa = exponent >= 3 ? Int((v >> (exponent - 3)) & 7) : Int((v << (3 - exponent)) & 7)
        return min(bucketCount - 1, exponent * subBuckets + mantissa)
    }

    /// The upper bound of a bucket, in microseconds.
    private static func upperBound(_ index: Int) -> Double {
        let exponent = index / subBuckets
        let mantissa = index % subBuckets
        return Double(1 << exponent) * (1 + Double(mantissa + 1) / Double(subBuckets))
    }

    public func record(microseconds: Int64) {
        let i = Self.index(microseconds: microseconds)
        counts[i].wrappingAdd(1, ordering: .relaxed)
        observer?(microseconds)
    }

    public var count: Int { loadCounts().reduce(0, +) }

    /// The `q` quantile (0...1) in milliseconds, or nil when empty; an upper bound within one bucket.
    public func quantile(_ q: Double) -> Double? {
        let snapshot = loadCounts()
        let total = snapshot.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var seen = 0
        for (i, c) in snapshot.enumerated() {
            seen += c
            if seen >= rank { return Self.upperBound(i) / 1000 }
        }
        return Self.upperBound(Self.bucketCount - 1) / 1000
    }

    /// Forgets everything recorded (for per-interval figures).
    public func reset() { for i in 0..<Self.bucketCount { counts[i].store(0, ordering: .relaxed) } }
}
