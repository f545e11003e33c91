extension DeadLetterPolicy {
    /// The disposition of a failed output write: the worker's one place for retry, dead-letter,
    /// truncate and recreate decisions about outputs.
    ///
    /// An output is never given up on because of the broker: dead letters are for records that
    /// cannot be scored or written, not for outages, so transient failures are retried for as long
    /// as they last (with back-off), whatever `maxAttempts` says, and a topic that cannot be
    /// written holds its partitions back (nothing is committed past an unwritten output).
    ///
    /// - Parameters:
    ///   - failure: what the failure says.
    ///   - isDeadLetter: whether the output is a dead letter (else a prediction).
    ///   - attempt: attempts made so far with this output (1 after the first failure).
    ///   - random: the jitter's random source.
    /// - Returns: what to do.
    public func disposition(
        for failure: OutputFailure, isDeadLetter: Bool, attempt: Int, using random: inout some RandomNumberGenerator
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
            return isDeadLetter ? .truncate : .deadLetterInput
        }
    }
}
