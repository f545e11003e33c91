public import InferenceCore
import Synchronization

/// What the live-quality path (``QualityPath``, on the scoring thread) shares with the other
/// threads: its counts for `/metrics` and the pipeline's readers, and the partitions the consumer's
/// rebalance events took away, which the scoring thread applies to its join store.
///
/// Exists only when a labels topic is configured (``InferencePipeline/quality``).
public final class LiveQuality: Sendable {
    /// Counts of the quality path, cumulative since start.
    public struct Snapshot: Sendable, Hashable {
        /// Label records read from the labels topic (decoded or not).
        public var labelsRead = 0
        /// Label records skipped because they could not be decoded, by ``LabelDecodingError/Code`` raw value.
        public var labelDecodingErrors: [String: Int] = [:]
        /// Label records without a value (tombstones), skipped.
        public var emptyLabels = 0
        /// The join store's counts (``QualityTracker/statistics``).
        public var store = PendingPredictions.Statistics()
        /// Examples or predictions of a version that had no monitor (``QualityTracker/unmonitoredExamples``).
        public var unmonitoredExamples = 0
        /// Predictions waiting for a label now.
        public var pendingPredictions = 0
        /// Quality reports handed to the producer, acknowledged by the broker, and refused.
        public var reportsSent = 0
        public var reportsDelivered = 0
        public var reportsFailed = 0
        /// The latest report of each monitored version (the source of the per-version gauges).
        public var latest: [String: QualityReport] = [:]
    }

    /// Rebalance events for the scoring thread, in the order they happened.
    enum PartitionEvent: Sendable, Hashable {
        /// Request partitions revoked or lost (their pending predictions belong to the next owner).
        case revoked([Int32])
        /// Request partitions assigned.
        case assigned([Int32])
    }

    private struct State {
        var snapshot = Snapshot()
        var events: [PartitionEvent] = []
    }

    private let state = Mutex(State())

    init() {}

    /// The current counts.
    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0.snapshot) }
    }

    func post(_ event: PartitionEvent) {
        state.withLock { $0.events.append(event) }
    }

    func takeEvents() -> [PartitionEvent] {
        state.withLock { state in
            defer { state.events = [] }
            return state.events
        }
    }
}
