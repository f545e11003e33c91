public import InferenceCore

/// What the serving path needs from the roll-outs (docs/rollouts.md, "How `run` wires it"): the record
/// of the model it serves, and somewhere to hand this replica's closed evidence windows.
///
/// The ``RolloutCoordinator`` is the real one; tests inject a fake to drive the pipeline through a
/// roll-out without the roll-out topic. Both calls are made on the scoring thread: they must
/// return at once (no Kafka round trip, no waiting on a lock held across I/O).
public protocol RolloutSource: Sendable {
    /// The model's roll-out record as this replica follows it; `nil` when there is none (the
    /// pipeline then serves exactly as without roll-outs: the latest or pinned version).
    func record(for model: String) -> RolloutRecord?
    /// Publishes one closed window's evidence of this replica. Must not block.
    func publish(_ evidence: RolloutEvidence)
}

extension RolloutCoordinator: RolloutSource {}
