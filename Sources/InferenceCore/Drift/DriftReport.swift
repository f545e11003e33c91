public import Foundation

/// The drift report of one model version for one window, from one replica or merged from several.
///
/// Published as JSON (``jsonData()``; format in docs/drift.md), keyed by ``modelName``. It carries each
/// column's mergeable state, so ``merge(_:)`` can combine replicas' reports for the same model version
/// and window and recompute scores and verdicts as if one replica had seen all the traffic.
public struct DriftReport: Sendable, Hashable, Codable {
    /// Why a window closed.
    public enum CloseReason: String, Sendable, Hashable, Codable {
        /// It reached ``DriftConfiguration/windowRecordCount`` rows.
        case count
        /// It reached its time boundary.
        case time
        /// The monitor was flushed (shutdown, model version replaced).
        case flush
        /// Merged from several reports.
        case merged
    }

    /// Format identifier; bumped on incompatible changes.
    public var format: String
    /// The model's name (the Kafka key of the published report).
    public var modelName: String
    /// The model version.
    public var modelVersion: String
    /// The replica(s) whose traffic this covers, sorted.
    public var workerIDs: [String]
    /// Window start, milliseconds since the Unix epoch (inclusive).
    public var windowStartMs: Int64
    /// Window end, milliseconds since the Unix epoch (exclusive).
    public var windowEndMs: Int64
    /// Why the window closed.
    public var closedBy: CloseReason
    /// Rows observed (`observe(row:)` calls).
    public var rowCount: Int
    /// Predictions observed (`observe(output:)` calls).
    public var outputCount: Int
    /// Quantile levels reported in numeric columns.
    public var quantileLevels: [Double]
    /// The thresholds the verdicts were computed with.
    public var thresholds: DriftThresholds
    /// One column per input feature, in schema order.
    public var features: [DriftColumn]
    /// The output columns: `output.score` (regression, binary), `output.label` (binary), `output.class` (multiclass).
    public var outputs: [DriftColumn]
    /// The verdict on the whole window.
    public var dataset: DatasetVerdict

    /// The current format identifier.
    public static let currentFormat = "drift-report/1"

    enum CodingKeys: String, CodingKey {
        case format, modelName = "model_name", modelVersion = "model_version", workerIDs = "worker_ids"
        case windowStartMs = "window_start_ms", windowEndMs = "window_end_ms", closedBy = "closed_by"
        case rowCount = "row_count", outputCount = "output_count", quantileLevels = "quantile_levels"
        case thresholds, features, outputs, dataset
    }

    /// Creates a report from column state, computing every derived field (quantiles, scores, verdicts).
    public init(
        modelName: String, modelVersion: String, workerIDs: [String], windowStartMs: Int64, windowEndMs: Int64,
        closedBy: CloseReason, rowCount: Int, outputCount: Int, quantileLevels: [Double], thresholds: DriftThresholds,
        features: [DriftColumn], outputs: [DriftColumn]
    ) {
        self.format = Self.currentFormat
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.workerIDs = workerIDs.sorted()
        self.windowStartMs = windowStartMs
        self.windowEndMs = windowEndMs
        self.closedBy = closedBy
        self.rowCount = rowCount
        self.outputCount = outputCount
        self.quantileLevels = quantileLevels
        self.thresholds = thresholds
        self.features = features.map { $0.evaluated(thresholds: thresholds, quantileLevels: quantileLevels) }
        self.outputs = outputs.map { $0.evaluated(thresholds: thresholds, quantileLevels: quantileLevels) }
        self.dataset = DriftStatistics.datasetVerdict(features: self.features, outputs: self.outputs, thresholds: thresholds)
    }

    /// The feature or output column named `name`.
    public func column(_ name: String) -> DriftColumn? {
        features.first { $0.name == name } ?? outputs.first { $0.name == name }
    }

    /// The report as JSON (UTF-8, keys sorted so that equal reports give equal bytes).
    public func jsonData(prettyPrinted: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(self)
    }

    /// Decodes a report written by ``jsonData(prettyPrinted:)``.
    public static func decode(_ data: Data) throws -> DriftReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(DriftReport.self, from: data)
    }
}

/// Reports that cannot be merged: different models or versions, or different baselines or settings.
public struct DriftReportMergeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What differs, and what to do.
    public var message: String

    /// Creates an error.
    public init(message: String) { self.message = message }

    public var description: String { message }
}

extension DriftReport {
    /// Combines reports of the same model version (typically one per replica for the same aligned
    /// time window) into one: state is added up (counts, histograms, sketches; moments with Chan's
    /// formula), then quantiles, scores and verdicts are recomputed. The window spans the earliest
    /// start to the latest end; `workerIDs` is the union.
    ///
    /// - Throws: ``DriftReportMergeError`` when `reports` is empty or the reports differ in model name,
    ///   version, baseline, columns, quantile levels, thresholds or sketch accuracy.
    public static func merge(_ reports: [DriftReport]) throws(DriftReportMergeError) -> DriftReport {
        guard var first = reports.first else { throw DriftReportMergeError(message: "nothing to merge: pass at least one report") }
        var features = first.features
        var outputs = first.outputs
        var workers = Set(first.workerIDs)
        for report in reports.dropFirst() {
            guard report.modelName == first.modelName, report.modelVersion == first.modelVersion else {
                throw DriftReportMergeError(message: "reports are for \(first.modelName) \(first.modelVersion) and \(report.modelName) \(report.modelVersion): merge one model version at a time")
            }
            guard report.quantileLevels == first.quantileLevels, report.thresholds == first.thresholds else {
                throw DriftReportMergeError(message: "reports were made with different drift configurations: configure all replicas alike")
            }
            guard report.features.map(\.name) == features.map(\.name), report.outputs.map(\.name) == outputs.map(\.name) else {
                throw DriftReportMergeError(message: "reports have different columns")
            }
            for i in features.indices { features[i] = try features[i].mergedState(with: report.features[i]) }
            for i in outputs.indices { outputs[i] = try outputs[i].mergedState(with: report.outputs[i]) }
            workers.formUnion(report.workerIDs)
            first.windowStartMs = Swift.min(first.windowStartMs, report.windowStartMs)
            first.windowEndMs = Swift.max(first.windowEndMs, report.windowEndMs)
            first.rowCount += report.rowCount
            first.outputCount += report.outputCount
        }
        return DriftReport(
            modelName: first.modelName, modelVersion: first.modelVersion, workerIDs: Array(workers),
            windowStartMs: first.windowStartMs, windowEndMs: first.windowEndMs,
            closedBy: reports.count == 1 ? first.closedBy : .merged,
            rowCount: first.rowCount, outputCount: first.outputCount, quantileLevels: first.quantileLevels,
            thresholds: first.thresholds, features: features, outputs: outputs
        )
    }
}
