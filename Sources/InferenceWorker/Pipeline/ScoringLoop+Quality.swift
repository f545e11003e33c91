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
        countJoinedLabels(primary: scorer.model)
        return true
    }

    /// Hands the examples joined since the last call to the roll-out's evidence (a canary counts
    /// each version's correct predictions; nothing is kept otherwise).
    mutating func countJoinedLabels(primary: LoadedModel) {
        guard quality != nil else { return }
        let joined = quality!.takeJoined()
        if !joined.isEmpty { rollout.recordLabelled(joined, primary: primary) }
    }
}
