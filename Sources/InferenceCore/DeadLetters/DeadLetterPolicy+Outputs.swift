extension DeadLetterPolicy {
    /// The disposition of a failed output write: the worker's one place for retry, dead-letter,
    /// rewrite, give-up and recreate decisions about outputs.
    ///
    /// An output is never given up on because of the broker: dead letters are for records that
    /// cannot be scored or written, not for outages, so transient failures are retried for as long
    /// as they last (with back-off), whatever `maxAttempts` says, and a topic that cannot be
    /// written holds its partitions back (nothing is committed past an unwritten output).
    ///
    /// A dead letter refused for something about the record itself is rewritten, each step once,
    /// so that its partition moves on after a bounded number of attempts:
    /// - refused for its timestamp: written with the current time (``OutputDisposition/replaceTimestamp``);
    ///   refused for it again: its minimal form;
    /// - refused as too large: cut to a budget, a quarter of the previous one on each further
    ///   refusal (``OutputDisposition/truncate``); once the next budget would be at most
    ///   ``DeadLetterTruncation/reservedBytes`` (nothing of the record would be left), its minimal form;
    /// - refused as invalid or corrupt (cutting to a budget addresses neither): its minimal form
    ///   at once (``OutputDisposition/writeMinimal``);
    /// - its minimal form refused for any such reason: nothing can be written, the dead letter is
    ///   given up (``OutputDisposition/dropDeadLetter``).
    ///
    /// - Parameters:
    ///   - failure: what the failure says.
    ///   - deadLetter: the form the dead letter was sent in, or nil for a prediction.
    ///   - refusal: what about the record was refused (read only for ``OutputFailure/recordRejected``).
    ///   - attempt: attempts made so far with this output (1 after the first failure).
    ///   - random: the jitter's random source.
    /// - Returns: what to do.
    public func disposition(
        for failure: OutputFailure, deadLetter form: DeadLetterForm?, refusal: RecordRefusal, attempt: Int,
        using random: inout some RandomNumberGenerator
    ) -> OutputDisposition {
        switch failure {
        case .stopping:
            return .abandon
        case .producerFatal:
            return .recreateProducer
        case .transient:
            return .retry(after: backoff(attempt: attempt, using: &random), blocked: false)
        case .topicUnavailable:
            return .retry(after: backoff(attempt: attempt, using: &random), blocked: true)
        case .recordRejected:
            guard let form else { return .deadLetterInput }
            return Self.rewrite(form, refused: refusal)
        }
    }

    private static func rewrite(_ form: DeadLetterForm, refused refusal: RecordRefusal) -> OutputDisposition {
        switch refusal {
        case .invalidTimestamp:
            if !form.timestampReplaced { return .replaceTimestamp }
            return form.isMinimal ? .dropDeadLetter : .writeMinimal
        case .tooLarge:
            if form.isMinimal { return .dropDeadLetter }
            if let budget = form.truncationBudget, budget / 4 <= DeadLetterTruncation.reservedBytes { return .writeMinimal }
            return .truncate
        case .invalid:
            return form.isMinimal ? .dropDeadLetter : .writeMinimal
        }
    }
}
