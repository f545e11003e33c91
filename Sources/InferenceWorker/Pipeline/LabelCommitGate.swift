/// Which labels-topic offsets may be committed: only up to labels counted in *published* quality
/// reports (docs/quality.md, "Rebalances and restarts"), so that a crash re-reads, rather than
/// loses, the labels of windows not yet published.
///
/// A value on the scoring thread. Per labels partition it knows the offset after the last label
/// handled and the labels held early (their prediction had not come yet: they will be counted in
/// a later window, or expire). A *checkpoint* can be taken when no open window holds a label (right
/// after windows closed): every label handled so far is then in a report just handed to the
/// producer, or in none at all (decode errors, duplicates, unknown ids), except those held early,
/// so each partition is committable up to its first held label, or else up to the last handled.
/// The checkpoint is applied once the reports handed over until then are delivered
/// (``LiveQuality``'s checkpoint queue).
struct LabelCommitGate {
    private var handledNext: [Int32: Int64] = [:]
    /// Labels held early per partition: id -> (offset, when handled, ms).
    private var held: [Int32: [String: (offset: Int64, handledMs: Int64)]] = [:]
    /// How long a held label is kept here: the store's hold plus a margin (the store expires by the
    /// label's timestamp, at most this long after it was handled unless the clock is off; a
    /// label kept here longer only delays commits).
    let holdMs: Int64

    init(holdMs: Int64) {
        self.holdMs = holdMs
    }

    /// A label record was handled; `heldEarly` when the store held it for its prediction.
    mutating func handled(partition: Int32, offset: Int64, id: String?, heldEarly: Bool, nowMs: Int64) {
        handledNext[partition] = max(handledNext[partition] ?? 0, offset + 1)
        if heldEarly, let id, held[partition]?[id] == nil { held[partition, default: [:]][id] = (offset, nowMs) }
    }

    /// A held label joined its prediction (it is now in an open window).
    mutating func joinedEarly(partition: Int32, id: String) {
        held[partition]?.removeValue(forKey: id)
    }

    /// Forgets held labels older than the hold (they expired in the store as unknown ids). Called
    /// once per scoring-loop pass: a partition's held labels are copied only when one expired.
    mutating func expire(nowMs: Int64) {
        for (partition, labels) in held where labels.values.contains(where: { nowMs - $0.handledMs > holdMs }) {
            held[partition] = labels.filter { nowMs - $0.value.handledMs <= holdMs }
        }
    }

    /// Forgets a partition (revoked after its commit, or lost): its next reads start from the
    /// committed offset.
    mutating func forget(partition: Int32) {
        handledNext.removeValue(forKey: partition)
        held.removeValue(forKey: partition)
    }

    /// The committable offset (the next to read) of each partition with labels handled, valid only
    /// when no open window holds a label.
    func checkpoint() -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for (partition, next) in handledNext {
            let firstHeld = held[partition]?.values.map(\.offset).min()
            offsets[partition] = min(next, firstHeld ?? next)
        }
        return offsets
    }
}
