import InferenceCore

extension ScoringLoop {
    /// Hands a record of the labels topic to the quality path. Returns false for any other
    /// record: label records are never scored as requests nor dead-lettered as bad requests (a bad
    /// label event is counted by its ``LabelDecodingError/Code`` and skipped).
    mutating func takeLabel(_ record: InboundRecord) -> Bool {
        guard let labelsTopic, record.message.topic == labelsTopic else { return false }
        quality?.recordLabel(record)
        return true
    }
}
