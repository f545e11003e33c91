public import Foundation

/// The state of one model's roll-out, shared by every replica through the compacted topic
/// `inference-rollouts` (key: the model name; format in docs/rollouts.md).
///
/// The record is the single source of truth: replicas read it before serving and follow every new
/// version of it; the decider and the `rollout` commands change it only by writing a whole new
/// version. With no record for a model, the worker behaves as before roll-outs existed (the latest
/// or pinned version). Changes go through ``RolloutPolicy`` (automatic decisions) or its manual
/// events, so that the history always explains the state.
public struct RolloutRecord: Sendable, Hashable, Codable {
    /// Where a roll-out stands.
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        /// The candidate is being tried; the policy decides each window.
        case running
        /// The candidate became the primary (``RolloutRecord/primaryVersion`` now names it).
        case promoted
        /// The candidate was dropped; the primary stays.
        case rolledBack = "rolled_back"
        /// Stopped by hand without a verdict; the primary stays.
        case aborted

        /// Whether the roll-out is over (no candidate is served any more).
        public var isFinal: Bool { self != .running }
    }

    /// When the policy decides, and how windows are cut.
    public struct Policy: Sendable, Hashable, Codable {
        /// Consecutive good windows after which the candidate is promoted; default 3.
        public var promoteAfterWindows: Int
        /// The evidence window's length in seconds (windows are aligned to multiples of it since the
        /// epoch, see ``RolloutWindow``); default 300.
        public var windowSeconds: Int
        /// How long after a window's end the decider waits for replicas that have not reported yet
        /// before it decides on the evidence it has; default 30.
        public var decisionGraceSeconds: Int

        /// Creates a policy; every argument has the documented default.
        public init(promoteAfterWindows: Int = 3, windowSeconds: Int = 300, decisionGraceSeconds: Int = 30) {
            self.promoteAfterWindows = promoteAfterWindows
            self.windowSeconds = windowSeconds
            self.decisionGraceSeconds = decisionGraceSeconds
        }

        /// The window length in milliseconds.
        public var windowMs: Int64 { Int64(windowSeconds) * 1000 }

        enum CodingKeys: String, CodingKey {
            case promoteAfterWindows = "promote_after_windows", windowSeconds = "window_seconds"
            case decisionGraceSeconds = "decision_grace_seconds"
        }

        /// - Throws: ``RolloutError`` naming the first setting that cannot work.
        public func validate() throws(RolloutError) {
            guard promoteAfterWindows >= 1 else {
                throw RolloutError(.invalidField, field: "policy.promote_after_windows", "must be at least 1, got \(promoteAfterWindows)")
            }
            guard (1...86_400).contains(windowSeconds) else {
                throw RolloutError(.invalidField, field: "policy.window_seconds", "must be within 1...86400 seconds, got \(windowSeconds)")
            }
            guard decisionGraceSeconds >= 0, decisionGraceSeconds < windowSeconds else {
                throw RolloutError(.invalidField, field: "policy.decision_grace_seconds", "must be within 0..<window_seconds (\(windowSeconds)), got \(decisionGraceSeconds)")
            }
        }
    }

    /// Format identifier; bumped on incompatible changes.
    public var format: String
    /// The model's name (the record's Kafka key).
    public var modelName: String
    /// Identifies this roll-out among the model's roll-outs (evidence of another one is refused);
    /// also salts the key router, so each roll-out samples its own keys.
    public var rolloutID: String
    /// The version serving (all traffic when no roll-out runs; the rest otherwise).
    public var primaryVersion: String
    /// The version being tried; it stays named after the roll-out ends, for the history.
    public var candidateVersion: String?
    /// The version that was primary before a promotion (`nil` until then).
    public var previousPrimaryVersion: String?
    /// Shadow or canary, and the fraction of keys.
    public var mode: RolloutMode
    /// The limits a window must keep.
    public var thresholds: RolloutThresholds
    /// When to promote and how windows are cut.
    public var policy: Policy
    /// Where the roll-out stands.
    public var state: State
    /// Good windows in a row so far (reset by nothing but a roll-back: a bad window ends the roll-out).
    public var consecutiveGoodWindows: Int
    /// The last window the policy decided on; windows up to it are never decided again.
    public var lastDecidedWindow: RolloutWindow?
    /// Every decision, oldest first.
    public var decisions: [RolloutDecision]
    /// When the roll-out started, ms since the epoch.
    public var startedAtMs: Int64
    /// When the record last changed, ms since the epoch.
    public var updatedAtMs: Int64

    /// The current format identifier.
    public static let currentFormat = "rollout/1"
    /// The history keeps at most this many decisions (the oldest holds go first), so that the record
    /// stays small on a compacted topic however long a roll-out runs.
    public static let maxDecisions = 200

    /// Starts a roll-out of `candidateVersion` against `primaryVersion`.
    ///
    /// - Throws: ``RolloutError`` when a field cannot work (see ``validate()``).
    public init(
        modelName: String, primaryVersion: String, candidateVersion: String, mode: RolloutMode,
        thresholds: RolloutThresholds = RolloutThresholds(), policy: Policy = Policy(), now: Date
    ) throws(RolloutError) {
        let ms = Self.milliseconds(now)
        self.format = Self.currentFormat
        self.modelName = modelName
        self.rolloutID = "\(modelName)@\(candidateVersion)/\(ms)"
        self.primaryVersion = primaryVersion
        self.candidateVersion = candidateVersion
        self.previousPrimaryVersion = nil
        self.mode = mode
        self.thresholds = thresholds
        self.policy = policy
        self.state = .running
        self.consecutiveGoodWindows = 0
        self.lastDecidedWindow = nil
        self.decisions = []
        self.startedAtMs = ms
        self.updatedAtMs = ms
        try validate()
    }

    enum CodingKeys: String, CodingKey {
        case format, modelName = "model_name", rolloutID = "rollout_id", primaryVersion = "primary_version"
        case candidateVersion = "candidate_version", previousPrimaryVersion = "previous_primary_version"
        case mode, thresholds, policy, state, consecutiveGoodWindows = "consecutive_good_windows"
        case lastDecidedWindow = "last_decided_window", decisions, startedAtMs = "started_at_ms", updatedAtMs = "updated_at_ms"
    }

    /// The versions to serve: both while running, only the primary once the roll-out is over.
    public var servingVersions: [String] {
        if state == .running, let candidateVersion { return [primaryVersion, candidateVersion] }
        return [primaryVersion]
    }

    /// The latest decision made on evidence (not by hand), if any.
    public var latestEvidenceDecision: RolloutDecision? { decisions.last { $0.evidence != nil } }

    /// - Throws: ``RolloutError`` naming the first field that cannot work.
    public func validate() throws(RolloutError) {
        guard format == Self.currentFormat else {
            throw RolloutError(.malformed, field: "format", "is \(format); this worker reads \(Self.currentFormat): upgrade the worker")
        }
        guard Self.isValidName(modelName) else {
            throw RolloutError(.invalidField, field: "model_name", "must be 1...200 characters without control characters, got '\(modelName)'")
        }
        guard Self.isValidName(primaryVersion) else {
            throw RolloutError(.invalidField, field: "primary_version", "must be a non-empty version name, got '\(primaryVersion)'")
        }
        if let candidateVersion {
            guard Self.isValidName(candidateVersion) else {
                throw RolloutError(.invalidField, field: "candidate_version", "must be a non-empty version name, got '\(candidateVersion)'")
            }
            guard candidateVersion != primaryVersion || state == .promoted else {
                throw RolloutError(.invalidField, field: "candidate_version", "is the primary version \(primaryVersion): roll out a different version")
            }
        } else if state == .running {
            throw RolloutError(.invalidField, field: "candidate_version", "is required while the roll-out is running")
        }
        try mode.validate()
        try thresholds.validate(for: mode.kind)
        try policy.validate()
        guard consecutiveGoodWindows >= 0 else {
            throw RolloutError(.invalidField, field: "consecutive_good_windows", "must not be negative")
        }
    }

    /// The record as JSON (UTF-8, sorted keys: equal records give equal bytes).
    public func jsonData(prettyPrinted: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Decodes and validates a record read from the roll-out topic.
    ///
    /// - Throws: ``RolloutError`` (`malformed` or `invalidField`) when the bytes are not a valid record.
    public static func decode(_ data: Data) throws(RolloutError) -> RolloutRecord {
        let record: RolloutRecord
        do {
            record = try JSONDecoder().decode(RolloutRecord.self, from: data)
        } catch {
            throw RolloutError(.malformed, "not a roll-out record (\(Self.describe(error))); the format is in docs/rollouts.md")
        }
        try record.validate()
        return record
    }

    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 200 && !s.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default:
            return "\(error)"
        }
    }
}
