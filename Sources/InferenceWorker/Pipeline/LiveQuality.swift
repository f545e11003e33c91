import Foundation
public import InferenceCore
import Kafka
import Synchronization

/// What the live-quality path (``QualityPath``, on the scoring thread) shares with the other
/// threads: its counts for `/metrics` and the pipeline's readers, and the consumer's rebalance
/// events (partitions taken away; partitions assigned, with what to rebuild the stores of those new
/// to this replica from), which the scoring thread applies to its join store; and the
/// labels-topic commit rule: checkpoints of committable label offsets (``LabelCommitGate``) wait
/// here until the quality reports sent before them are delivered, then their offsets are stored
/// for the consumer's next commit.
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
        /// Partitions whose join store was rebuilt, predictions restored, and rebuilds that failed
        /// (the cluster did not answer in time: the partition starts with an empty store).
        public var rebuiltPartitions = 0
        public var restoredPredictions = 0
        public var rebuildFailures = 0
        /// Output records that could not be read back as predictions during rebuilds.
        public var unreadablePredictions = 0
        /// Labelled examples handed to the producer for the training-examples topic, delivered, and
        /// not written (refused, or not handed over).
        public var trainingExamplesSent = 0
        public var trainingExamplesDelivered = 0
        public var trainingExamplesFailed = 0
        /// The latest report of each monitored version (the source of the per-version gauges).
        public var latest: [String: QualityReport] = [:]
    }

    /// Rebalance events for the scoring thread, in the order they happened.
    enum PartitionEvent: Sendable, Hashable {
        /// Request partitions revoked or lost (their pending predictions belong to the next owner),
        /// and labels partitions revoked or lost (their commit state is forgotten).
        case revoked(requests: [Int32], labels: [Int32])
        /// Request partitions assigned, with what to rebuild the store of those new to this
        /// replica from (read from the output and labels topics by the consumer thread).
        case assigned([Int32], rebuild: [Int32: RebuildInput])
    }

    /// What a newly assigned partition's join store is rebuilt from (docs/quality.md, "Rebalances
    /// and restarts"): its predictions of the last `maxAge` read back from the output topic, and the
    /// ids of its labels up to the labels topic's committed offset (already counted).
    struct RebuildInput: Sendable, Hashable {
        var predictions: [PendingPrediction]
        var settledIDs: [String]
    }

    private struct Checkpoint {
        /// Reports handed over before it (it applies once that many are settled).
        var reports: Int
        var offsets: [Int32: Int64]
    }

    private struct State {
        var snapshot = Snapshot()
        var events: [PartitionEvent] = []
        /// Reports handed to the producer, and settled (delivered or failed), since start.
        var handedOver = 0
        var settled = 0
        var checkpoints: [Checkpoint] = []
        var lastCheckpoint: [Int32: Int64]?
        /// Flush requests of the revoke hook: the last asked for, and the last done by the scoring
        /// thread (with the reports handed over by then).
        var flushAsked: UInt64 = 0
        var flushDone: (ticket: UInt64, reports: Int) = (0, 0)
        /// Request partitions whose store this replica keeps (the consumer thread's view): those
        /// of the last assignment.
        var owned: Set<Int32> = []
    }

    private let state = Mutex(State())
    private let labelsTopic: String
    /// Stores labels-topic offsets for the next commit (any thread; called under `state`'s lock, so
    /// it must not call back into this object: it only hands offsets to librdkafka).
    private let storeOffsets: @Sendable ([KafkaTopicPartition: KafkaOffset]) -> Void

    init(labelsTopic: String, storeOffsets: @escaping @Sendable ([KafkaTopicPartition: KafkaOffset]) -> Void) {
        self.labelsTopic = labelsTopic
        self.storeOffsets = storeOffsets
    }

    /// The current counts.
    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0.snapshot) }
    }

    func post(_ event: PartitionEvent) {
        state.withLock { $0.events.append(event) }
    }

    // MARK: - Labels-topic commits

    /// A quality report was handed to the producer (the scoring thread).
    func reportHandedOver() {
        state.withLock {
            $0.handedOver += 1
            $0.snapshot.reportsSent += 1
        }
    }

    /// A quality report's delivery report (the producer's delivery thread). A failed report settles
    /// too: its labels are then counted in no published report (at-most-once for them; counted
    /// in `reportsFailed` and logged), rather than holding the labels' commits back for ever.
    func reportSettled(delivered: Bool) {
        // Stored under the lock, so that a revoke hook that saw this report settled commits its offsets.
        state.withLock { state in
            state.settled += 1
            if delivered { state.snapshot.reportsDelivered += 1 } else { state.snapshot.reportsFailed += 1 }
            for offsets in Self.takeReady(&state) { store(offsets) }
        }
    }

    /// A checkpoint of committable label offsets, taken when no open window held a label (the
    /// scoring thread). Applied at once if every report handed over so far is settled.
    func addCheckpoint(_ offsets: [Int32: Int64]) {
        state.withLock { state in
            guard !offsets.isEmpty, state.lastCheckpoint != offsets else { return }
            state.lastCheckpoint = offsets
            state.checkpoints.append(Checkpoint(reports: state.handedOver, offsets: offsets))
            for offsets in Self.takeReady(&state) { store(offsets) }
        }
    }

    private static func takeReady(_ state: inout State) -> [[Int32: Int64]] {
        let count = state.checkpoints.prefix { $0.reports <= state.settled }.count
        defer { state.checkpoints.removeFirst(count) }
        return state.checkpoints.prefix(count).map(\.offsets)
    }

    private func store(_ offsets: [Int32: Int64]) {
        var map: [KafkaTopicPartition: KafkaOffset] = [:]
        for (partition, offset) in offsets {
            map[KafkaTopicPartition(topic: labelsTopic, partition: KafkaPartition(partition))] = KafkaOffset(offset)
        }
        storeOffsets(map)
    }

    /// Asks the scoring thread to close every open window now (the revoke hook, before its commit).
    func requestFlush() -> UInt64 {
        state.withLock { state in
            state.flushAsked += 1
            return state.flushAsked
        }
    }

    /// The flush the scoring thread should do now, if any.
    func takeFlushRequest() -> UInt64? {
        state.withLock { $0.flushAsked > $0.flushDone.ticket ? $0.flushAsked : nil }
    }

    /// The scoring thread did flush `ticket` (and took its checkpoint).
    func flushCompleted(_ ticket: UInt64) {
        state.withLock { $0.flushDone = (ticket, $0.handedOver) }
    }

    /// Waits until flush `ticket` is done and the reports it sent are settled (their checkpoint
    /// stored), or until `deadline`. Returns whether it got there. Polls: it runs in the revoke hook,
    /// which may block, and only at rebalances.
    func waitForFlush(_ ticket: UInt64, deadline: Date) -> Bool {
        while true {
            let done = state.withLock { $0.flushDone.ticket >= ticket && $0.settled >= $0.flushDone.reports }
            if done { return true }
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// Of `partitions` (just assigned), those new to this replica; they become its own.
    func newlyOwned(_ partitions: [Int32]) -> [Int32] {
        state.withLock { state in
            defer { state.owned = Set(partitions) }
            return partitions.filter { !state.owned.contains($0) }
        }
    }

    /// Partitions lost: their stores are not kept.
    func disown(_ partitions: [Int32]) {
        state.withLock { $0.owned.subtract(partitions) }
    }

    func takeEvents() -> [PartitionEvent] {
        state.withLock { state in
            defer { state.events = [] }
            return state.events
        }
    }
}
