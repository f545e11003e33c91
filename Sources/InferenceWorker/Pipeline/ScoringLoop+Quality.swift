import InferenceCore

extension ScoringLoop {
    /// Hands a record of the labels topic to the quality path. Returns false for any other
    /// record: label records are never scored as requests nor dead-lettered as bad requests (a bad
    /// label event is counted by its ``LabelDecodingError/Code`` and skipped).
    ///
    /// - Parameter scorer: the open batch's scorer (borrowed: its model is read for labels only,
    ///   not for every record).
    mutating func takeLabel(_ record: InboundRecord, scorer: BatchScorer) -> Bool {
        guard let labelsTopic, record.message.topic == labelsTopic else { return false }
        quality?.recordLabel(record)
        countJoinedLabels(scorer: scorer)
        return true
    }

    /// Hands the examples joined since the last call to the roll-out's evidence (a canary counts
    /// each version's correct predictions; nothing is kept otherwise). `scorer` (borrowed) is the
    /// open batch's: its model, the primary, is read only when there are examples.
    mutating func countJoinedLabels(scorer: BatchScorer) {
        guard let joined = quality?.takeJoined(), !joined.isEmpty else { return }
        rollout.recordLabelled(joined, primary: scorer.model)
    }
}
