/// The result of replaying a bundle's reference rows.
public struct SelfTestReport: Sendable, CustomStringConvertible {
    /// One row that did not reproduce.
    public struct Failure: Sendable {
        /// Row index in the reference file.
        public var row: Int
        /// What went wrong: the prediction error, or the values that differ.
        public var reason: String
    }

    /// Rows replayed.
    public var rowCount: Int
    /// Rows that failed.
    public var failureCount: Int
    /// The first few failures (at most 10).
    public var failures: [Failure]
    /// Largest `|actual - expected|` over all values of successful rows.
    public var maxAbsoluteError: Double
    /// Largest `|actual - expected| / max(|expected|, absoluteFloor)`.
    public var maxScaledError: Double
    /// The tolerance applied.
    public var tolerance: ModelManifest.Tolerance

    /// Every row reproduced within tolerance.
    public var passed: Bool { failureCount == 0 }

    /// One line: counts and error figures, and the first failure.
    public var summary: String {
        var text = "\(rowCount - failureCount)/\(rowCount) rows within \(tolerance.relative) x max(|expected|, \(tolerance.absoluteFloor)); max abs error \(maxAbsoluteError), max scaled error \(maxScaledError)"
        if let first = failures.first { text += "; first failure: row \(first.row): \(first.reason)" }
        return text
    }

    public var description: String { "SelfTestReport(\(summary))" }
}
