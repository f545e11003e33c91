public import Foundation

/// Streaming drift monitoring of one model version: summaries of every input feature and of the
/// model's output over tumbling windows, turned into a ``DriftReport`` when a window closes.
///
/// Owned and called by the pipeline's single inference thread (a value type; no locks):
/// - ``observe(row:)`` once per validly decoded row, with the raw values in schema order, before
///   preprocessing;
/// - ``observe(output:)`` once per valid prediction;
/// - ``takeReportIfDue(now:)`` once per loop iteration, publishing the report it returns;
/// - ``flush(now:)`` at shutdown or when the model version is replaced (a new version gets a new monitor).
///
/// **Windows.** A window closes when it holds at least ``DriftConfiguration/windowRecordCount`` rows
/// (at the first `takeReportIfDue` after that), or when `now` reaches the next multiple of
/// ``DriftConfiguration/windowDuration`` since the Unix epoch. Time boundaries are aligned so that the
/// time-closed windows of all replicas coincide; such a window ends exactly at the boundary (rows
/// observed between the boundary and the call belong to it). The clock is whatever `now` the caller
/// passes: tests drive it without sleeping.
///
/// **Cost.** Per numeric value on the hot path: a store into a per-feature buffer of 128 values; a
/// full buffer is then folded into the moments, the histogram (grid lookup + short scan over the
/// baseline edges) and the sketch (bit manipulation, no `log`) in tight loops. Per categorical value
/// one dictionary lookup. Nothing is allocated per row; reports (once per window) allocate freely.
public struct DriftMonitor {
    /// Where one schema position's values go.
    enum Route {
        case numeric(Int)
        case categorical(Int)
    }

    /// The model's name.
    public let modelName: String
    /// The model version.
    public let modelVersion: String
    /// This replica's identifier.
    public let workerID: String
    /// The configuration.
    public let configuration: DriftConfiguration

    private let routes: [Route]
    private var numeric: [NumericAccumulator]
    /// Buffered numeric values, `NumericAccumulator.batchCapacity` per numeric feature.
    private var pending: [Double]
    private var categorical: [CategoricalAccumulator]
    private let featureOrder: [Route]
    private var score: NumericAccumulator?
    private var outputClass: CategoricalAccumulator?
    private let task: OutputSchema.Task
    private let windowMs: Int64
    private var windowStartMs: Int64
    private var nextBoundaryMs: Int64

    /// Rows observed in the open window.
    public private(set) var rowCount = 0
    /// Predictions observed in the open window.
    public private(set) var outputCount = 0

    /// Creates a monitor for `model`, opening the first window at `now`.
    ///
    /// Features without a baseline histogram (or the whole model without a baseline) are still
    /// summarised; their distribution scores are absent and only the missing rate can be judged.
    public init(model: LoadedModel, configuration: DriftConfiguration = DriftConfiguration(), workerID: String, now: Date) {
        self.init(modelName: model.name, modelVersion: model.version, schema: model.schema, output: model.output,
                  baseline: model.baseline, configuration: configuration, workerID: workerID, now: now)
    }

    /// Creates a monitor from a model's parts (for tests and tools without a kernel).
    public init(
        modelName: String, modelVersion: String, schema: InputSchema, output: OutputSchema, baseline: ModelBaseline?,
        configuration: DriftConfiguration = DriftConfiguration(), workerID: String, now: Date
    ) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.workerID = workerID
        self.configuration = configuration
        let alpha = configuration.sketchRelativeAccuracy
        var routes: [Route] = []
        var numeric: [NumericAccumulator] = []
        var categorical: [CategoricalAccumulator] = []
        for feature in schema.features {
            let base = baseline?.features[feature.name]
            switch feature.valueType {
            case .numeric:
                routes.append(.numeric(numeric.count))
                numeric.append(NumericAccumulator(name: feature.name, reference: .numeric(base), relativeAccuracy: alpha))
            case .categorical:
                routes.append(.categorical(categorical.count))
                categorical.append(CategoricalAccumulator(name: feature.name, categories: feature.vocabulary,
                                                          reference: .categorical(feature.vocabulary, baseline: base)))
            }
        }
        self.routes = routes
        self.featureOrder = routes
        self.numeric = numeric
        self.pending = [Double](repeating: 0, count: Swift.max(1, numeric.count * NumericAccumulator.batchCapacity))
        self.categorical = categorical
        self.task = output.task
        let outputBase = baseline?.output
        switch output.task {
        case .regression:
            score = NumericAccumulator(name: "output.score", reference: .numeric(outputBase), relativeAccuracy: alpha)
        case .binary:
            score = NumericAccumulator(name: "output.score", reference: .numeric(outputBase), relativeAccuracy: alpha)
            outputClass = CategoricalAccumulator(name: "output.label", categories: output.labels,
                                                 reference: .categorical(output.labels, baseline: outputBase))
        case .multiclass:
            outputClass = CategoricalAccumulator(name: "output.class", categories: output.labels,
                                                 reference: .categorical(output.labels, baseline: outputBase))
        }
        let components = configuration.windowDuration.components
        self.windowMs = Swift.max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
        let start = Self.milliseconds(now)
        self.windowStartMs = start
        self.nextBoundaryMs = Self.boundary(after: start, windowMs: windowMs)
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    static func boundary(after ms: Int64, windowMs: Int64) -> Int64 {
        let index = ms >= 0 ? ms / windowMs : (ms - windowMs + 1) / windowMs
        return (index + 1) * windowMs
    }

    /// Start of the open window, ms since the epoch.
    public var openWindowStartMs: Int64 { windowStartMs }
    /// The time boundary at which the open window will close, ms since the epoch.
    public var openWindowDeadlineMs: Int64 { nextBoundaryMs }

    /// Counts one row's raw feature values (schema order, as decoded, before preprocessing).
    /// Values past the schema's features are ignored.
    @inline(__always)
    public mutating func observe(row: [RawFeatureValue]) {
        rowCount &+= 1
        let width = Swift.min(row.count, routes.count)
        // One uniqueness check per array per row instead of one per value.
        let capacity = NumericAccumulator.batchCapacity
        routes.withUnsafeBufferPointer { routes in
            pending.withUnsafeMutableBufferPointer { pending in
                numeric.withUnsafeMutableBufferPointer { numeric in
                    categorical.withUnsafeMutableBufferPointer { categorical in
                        for position in 0..<width {
                            switch routes[position] {
                            case .numeric(let slot): numeric[slot].add(row[position], pending: pending.baseAddress! + slot &* capacity)
                            case .categorical(let slot): categorical[slot].add(row[position])
                            }
                        }
                    }
                }
            }
        }
    }

    /// Counts one valid prediction.
    @inline(__always)
    public mutating func observe(output: PredictionOutput) {
        outputCount &+= 1
        switch output {
        case .regression(let value):
            let x = Double(value)
            if x.isFinite { score?.add(x) } else { score?.invalid &+= 1 }
        case .multiOutputRegression(let scores):
            // Drift follows the first output (`score` in the prediction event).
            let x = Double(scores[scores.startIndex])
            if x.isFinite { score?.add(x) } else { score?.invalid &+= 1 }
        case .binary(let value, _, let isPositive):
            let x = Double(value)
            if x.isFinite { score?.add(x) } else { score?.invalid &+= 1 }
            outputClass?.add(index: isPositive ? 1 : 0)
        case .multiclass(_, let classIndex, _):
            outputClass?.add(index: classIndex)
        }
    }

    /// Closes the open window and returns its report when it is due (by row count or time boundary);
    /// otherwise `nil`. Call once per loop iteration.
    public mutating func takeReportIfDue(now: Date) -> DriftReport? {
        let t = Self.milliseconds(now)
        if rowCount >= configuration.windowRecordCount {
            let report = close(endMs: t, reason: .count)
            windowStartMs = t
            if t >= nextBoundaryMs { nextBoundaryMs = Self.boundary(after: t, windowMs: windowMs) }
            return report
        }
        guard t >= nextBoundaryMs else { return nil }
        let end = nextBoundaryMs
        let empty = rowCount == 0 && outputCount == 0
        let report = empty && !configuration.reportEmptyWindows ? nil : close(endMs: end, reason: .time)
        windowStartMs = end
        nextBoundaryMs = Self.boundary(after: t, windowMs: windowMs)
        if t >= end + windowMs { windowStartMs = nextBoundaryMs - windowMs }
        return report
    }

    /// Closes the open window now (shutdown, version replaced); `nil` when nothing was observed.
    public mutating func flush(now: Date) -> DriftReport? {
        let t = Self.milliseconds(now)
        guard rowCount > 0 || outputCount > 0 else { return nil }
        let report = close(endMs: Swift.max(t, windowStartMs), reason: .flush)
        windowStartMs = t
        if t >= nextBoundaryMs { nextBoundaryMs = Self.boundary(after: t, windowMs: windowMs) }
        return report
    }

    /// Builds the report of the open window and resets every accumulator.
    private mutating func close(endMs: Int64, reason: DriftReport.CloseReason) -> DriftReport {
        let capacity = NumericAccumulator.batchCapacity
        pending.withUnsafeMutableBufferPointer { pending in
            for slot in numeric.indices { numeric[slot].drain(pending.baseAddress! + slot * capacity) }
        }
        let features: [DriftColumn] = featureOrder.map { route in
            switch route {
            case .numeric(let slot): numeric[slot].column()
            case .categorical(let slot): categorical[slot].column()
            }
        }
        var outputs: [DriftColumn] = []
        if let score { outputs.append(score.column()) }
        if let outputClass { outputs.append(outputClass.column()) }
        let report = DriftReport(
            modelName: modelName, modelVersion: modelVersion, workerIDs: [workerID], windowStartMs: windowStartMs, windowEndMs: endMs,
            closedBy: reason, rowCount: rowCount, outputCount: outputCount, quantileLevels: configuration.quantiles,
            thresholds: configuration.thresholds, features: features, outputs: outputs
        )
        for i in numeric.indices { numeric[i].reset() }
        for i in categorical.indices { categorical[i].reset() }
        score?.reset()
        outputClass?.reset()
        rowCount = 0
        outputCount = 0
        return report
    }
}
