public import Foundation

/// What one evidence window showed about a candidate against its primary, from one replica or
/// merged from several.
///
/// Every field is mergeable state (counts, integer sums, a ``QuantileSketch``), so ``merge(_:)`` of
/// the replicas' reports of one window equals, field for field, the report one replica would have
/// made had it seen all the traffic. Derived numbers (rates, PSI, ratios) are computed from the merged
/// state by ``summary(thresholds:)``, never averaged across replicas. Published as JSON
/// (``jsonData()``) on the evidence topic, format in docs/rollouts.md.
public struct RolloutEvidence: Sendable, Hashable, Codable {
    /// How outputs are bucketed for the output-drift comparison; fixed per roll-out so that every
    /// replica's histograms have the same buckets.
    public enum OutputBinning: String, Sendable, Hashable, Codable {
        /// The predicted label (multiclass).
        case label
        /// Ten equal bins of the score over [0, 1], values outside clamped (binary probabilities).
        case unitInterval = "unit_interval"
        /// `sign · ⌊log2 |score|⌋`, clamped to ±64, zero apart (unbounded regression scores).
        case signedLog2 = "signed_log2"

        /// The binning suited to a model's task.
        public init(task: OutputSchema.Task) {
            switch task {
            case .binary: self = .unitInterval
            case .multiclass: self = .label
            case .regression: self = .signedLog2
            }
        }

        /// The bucket of one output; `nil` when the output has nothing this binning uses.
        public func bucket(of output: RolloutOutput) -> String? {
            switch self {
            case .label:
                return output.label
            case .unitInterval:
                guard let score = output.score, score.isFinite else { return nil }
                return "u\(Swift.min(9, Swift.max(0, Int((score * 10).rounded(.down)))))"
            case .signedLog2:
                guard let score = output.score, score.isFinite else { return nil }
                if score.magnitude < Double.leastNormalMagnitude { return "zero" }
                let exponent = Swift.min(64, Swift.max(-64, Int(score.magnitude.exponent)))
                return score < 0 ? "n\(exponent)" : "p\(exponent)"
            }
        }
    }

    /// Counts of one version in one window.
    public struct VersionEvidence: Sendable, Hashable, Codable {
        /// Rows this version scored (successfully or not).
        public var records: Int
        /// Rows whose output the version failed to produce (a model or output validation error).
        public var errors: Int
        /// Rows that became dead letters because of this version.
        public var deadLetters: Int
        /// Batches this version scored.
        public var batches: Int
        /// Their total scoring time, in whole microseconds (integers, so that merges are exact).
        public var batchMicroseconds: Int64
        /// Outputs per bucket (see ``OutputBinning``).
        public var outputs: [String: Int]
        /// This version's predictions joined with a label in this window (canary mode, classification
        /// models: ``RolloutEvidence/recordLabelled(_:correct:)``).
        public var labelled: Int
        /// Of those, predictions whose served class is the label's.
        public var correct: Int

        /// An empty count.
        public init() {
            records = 0; errors = 0; deadLetters = 0; batches = 0; batchMicroseconds = 0; outputs = [:]; labelled = 0; correct = 0
        }

        /// Decodes counts; `labelled` and `correct` are absent from reports of workers that predate
        /// them (read as 0).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            records = try c.decode(Int.self, forKey: .records)
            errors = try c.decode(Int.self, forKey: .errors)
            deadLetters = try c.decode(Int.self, forKey: .deadLetters)
            batches = try c.decode(Int.self, forKey: .batches)
            batchMicroseconds = try c.decode(Int64.self, forKey: .batchMicroseconds)
            outputs = try c.decode([String: Int].self, forKey: .outputs)
            labelled = try c.decodeIfPresent(Int.self, forKey: .labelled) ?? 0
            correct = try c.decodeIfPresent(Int.self, forKey: .correct) ?? 0
        }

        mutating func merge(_ other: VersionEvidence) {
            records += other.records
            errors += other.errors
            deadLetters += other.deadLetters
            batches += other.batches
            batchMicroseconds += other.batchMicroseconds
            outputs.merge(other.outputs, uniquingKeysWith: +)
            labelled += other.labelled
            correct += other.correct
        }

        /// `correct / labelled`; `nil` without labelled predictions.
        public var accuracy: Double? { labelled > 0 ? Double(correct) / Double(labelled) : nil }

        /// Mean batch time in microseconds; `nil` without batches.
        public var meanBatchMicroseconds: Double? { batches > 0 ? Double(batchMicroseconds) / Double(batches) : nil }

        enum CodingKeys: String, CodingKey {
            case records, errors, deadLetters = "dead_letters", batches, batchMicroseconds = "batch_microseconds", outputs, labelled, correct
        }
    }

    /// Format identifier; bumped on incompatible changes.
    public var format: String
    /// The model's name.
    public var modelName: String
    /// The roll-out this is evidence for (``RolloutRecord/rolloutID``).
    public var rolloutID: String
    /// The primary version compared with.
    public var primaryVersion: String
    /// The candidate version judged.
    public var candidateVersion: String
    /// Shadow or canary (decides which comparisons exist).
    public var modeKind: RolloutMode.Kind
    /// The window.
    public var window: RolloutWindow
    /// The replicas whose traffic this covers, sorted.
    public var workerIDs: [String]
    /// How outputs are bucketed.
    public var outputBinning: OutputBinning
    /// The primary's counts (in shadow mode: over the sampled rows only, so that both sides cover the
    /// same rows; in canary mode: over the rows it served).
    public var primary: VersionEvidence
    /// The candidate's counts.
    public var candidate: VersionEvidence
    /// Rows both versions scored with a label each (shadow only).
    public var labelComparisons: Int
    /// Of those, rows whose labels agree.
    public var labelAgreements: Int
    /// `|candidate score − primary score|` of rows both versions scored with a score (shadow only).
    public var scoreDifference: QuantileSketch

    /// The current format identifier.
    public static let currentFormat = "rollout-evidence/1"

    /// Empty evidence of `record`'s roll-out for `window` from replica `workerID`.
    ///
    /// - Throws: ``RolloutError`` (`conflict`) when the record has no candidate.
    public init(record: RolloutRecord, window: RolloutWindow, workerID: String, outputBinning: OutputBinning) throws(RolloutError) {
        guard let candidate = record.candidateVersion else {
            throw RolloutError(.conflict, field: "candidate_version", "the roll-out of \(record.modelName) has no candidate: there is no evidence to gather")
        }
        self.format = Self.currentFormat
        self.modelName = record.modelName
        self.rolloutID = record.rolloutID
        self.primaryVersion = record.primaryVersion
        self.candidateVersion = candidate
        self.modeKind = record.mode.kind
        self.window = window
        self.workerIDs = [workerID]
        self.outputBinning = outputBinning
        self.primary = VersionEvidence()
        self.candidate = VersionEvidence()
        self.labelComparisons = 0
        self.labelAgreements = 0
        self.scoreDifference = QuantileSketch()
    }

    enum CodingKeys: String, CodingKey {
        case format, modelName = "model_name", rolloutID = "rollout_id", primaryVersion = "primary_version"
        case candidateVersion = "candidate_version", modeKind = "mode", window, workerIDs = "worker_ids"
        case outputBinning = "output_binning", primary, candidate, labelComparisons = "label_comparisons"
        case labelAgreements = "label_agreements", scoreDifference = "score_difference"
    }

    // MARK: Recording

    /// Which version an observation is about.
    public enum Role: String, Sendable, Hashable, Codable {
        /// The primary version.
        case primary
        /// The candidate version.
        case candidate
    }

    /// Counts one scored batch of `rows` rows that took `duration`.
    public mutating func recordBatch(_ role: Role, rows: Int, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let micros = seconds &* 1_000_000 &+ attoseconds / 1_000_000_000_000
        update(role) {
            $0.batches += 1
            $0.records += Swift.max(0, rows)
            $0.batchMicroseconds += Swift.max(0, micros)
        }
    }

    /// Counts one output of `role` in its bucket.
    public mutating func recordOutput(_ role: Role, _ output: RolloutOutput) {
        guard let bucket = outputBinning.bucket(of: output) else { return }
        update(role) { $0.outputs[bucket, default: 0] += 1 }
    }

    /// Counts a row `role` failed to score (model or output error).
    public mutating func recordError(_ role: Role) { update(role) { $0.errors += 1 } }

    /// Counts a row that became a dead letter because of `role`.
    public mutating func recordDeadLetter(_ role: Role) { update(role) { $0.deadLetters += 1 } }

    /// Counts one prediction of `role` joined with its label (canary mode): whether its served class
    /// was the label's.
    public mutating func recordLabelled(_ role: Role, correct: Bool) {
        update(role) {
            $0.labelled += 1
            if correct { $0.correct += 1 }
        }
    }

    /// Compares the two versions' outputs of one row both scored (shadow mode). Non-finite scores
    /// are not compared (an output validation error counts them already).
    public mutating func recordComparison(primary p: RolloutOutput, candidate c: RolloutOutput) {
        if let a = p.label, let b = c.label {
            labelComparisons += 1
            if a == b { labelAgreements += 1 }
        }
        if let a = p.score, let b = c.score, a.isFinite, b.isFinite {
            scoreDifference.add((b - a).magnitude)
        }
    }

    private mutating func update(_ role: Role, _ body: (inout VersionEvidence) -> Void) {
        switch role {
        case .primary: body(&primary)
        case .candidate: body(&candidate)
        }
    }

    // MARK: Merging

    /// Combines reports of the same roll-out and window (typically one per replica) into one: counts
    /// and sketches are added, `workerIDs` is the union. A replica's report that appears twice (an
    /// at-least-once redelivery) must be removed before: the decider keeps one report per worker.
    ///
    /// - Throws: ``RolloutError`` (`mismatch`) when `reports` is empty or they differ in roll-out,
    ///   versions, window, binning or sketch accuracy.
    public static func merge(_ reports: [RolloutEvidence]) throws(RolloutError) -> RolloutEvidence {
        guard var merged = reports.first else { throw RolloutError(.mismatch, "nothing to merge: pass at least one evidence report") }
        var workers = Set(merged.workerIDs)
        for report in reports.dropFirst() {
            guard report.rolloutID == merged.rolloutID, report.modelName == merged.modelName,
                  report.primaryVersion == merged.primaryVersion, report.candidateVersion == merged.candidateVersion,
                  report.modeKind == merged.modeKind
            else {
                throw RolloutError(.mismatch, field: "rollout_id", "evidence of roll-outs \(merged.rolloutID) and \(report.rolloutID) cannot be merged: merge one roll-out at a time")
            }
            guard report.window == merged.window else {
                throw RolloutError(.mismatch, field: "window", "evidence of \(merged.window) and \(report.window) cannot be merged: merge one window at a time")
            }
            guard report.outputBinning == merged.outputBinning, report.scoreDifference.relativeAccuracy == merged.scoreDifference.relativeAccuracy else {
                throw RolloutError(.mismatch, field: "output_binning", "evidence was gathered with different settings: run one worker build across the group")
            }
            merged.primary.merge(report.primary)
            merged.candidate.merge(report.candidate)
            merged.labelComparisons += report.labelComparisons
            merged.labelAgreements += report.labelAgreements
            merged.scoreDifference.merge(report.scoreDifference)
            workers.formUnion(report.workerIDs)
        }
        merged.workerIDs = workers.sorted()
        return merged
    }

    // MARK: JSON

    /// The report as JSON (UTF-8, sorted keys).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Decodes a report written by ``jsonData()``.
    ///
    /// - Throws: ``RolloutError`` (`malformed`) when the bytes are not an evidence report of this format.
    public static func decode(_ data: Data) throws(RolloutError) -> RolloutEvidence {
        let evidence: RolloutEvidence
        do {
            evidence = try JSONDecoder().decode(RolloutEvidence.self, from: data)
        } catch {
            throw RolloutError(.malformed, "not a roll-out evidence report (\(RolloutRecord.describe(error)))")
        }
        guard evidence.format == currentFormat else {
            throw RolloutError(.malformed, field: "format", "is \(evidence.format); this worker reads \(currentFormat)")
        }
        let counts = [evidence.primary, evidence.candidate].flatMap { [$0.records, $0.errors, $0.deadLetters, $0.batches, $0.labelled, $0.correct] }
        guard counts.allSatisfy({ $0 >= 0 }), evidence.labelAgreements >= 0, evidence.labelAgreements <= evidence.labelComparisons,
              evidence.primary.correct <= evidence.primary.labelled, evidence.candidate.correct <= evidence.candidate.labelled,
              evidence.window.durationMs > 0
        else {
            throw RolloutError(.malformed, "evidence report with negative or inconsistent counts")
        }
        return evidence
    }
}

/// One version's output of one row, as the evidence needs it.
public struct RolloutOutput: Sendable, Hashable {
    /// The predicted label (binary and multiclass), if any.
    public var label: String?
    /// The score: the positive-class probability (binary), the top-class probability (multiclass) or
    /// the value (regression), if any.
    public var score: Double?

    /// Creates an output.
    public init(label: String? = nil, score: Double? = nil) {
        self.label = label
        self.score = score
    }
}
