/// Decides retry / dead-letter / stop for a failure, and computes retry back-off.
///
/// Rules, in order:
/// 1. a ``ClassifiedFailure`` with `isFatal` -> ``FailureDisposition/stop``;
/// 2. `isRetriable` with attempts left (`attempt < maxAttempts`) -> ``FailureDisposition/retry(after:)``
///    with exponential back-off and jitter; with no attempts left -> dead-letter if the error carries a
///    reason (e.g. a model timeout that persists), else stop (a broker that stays down: nothing can be
///    written, so nothing may be committed);
/// 3. a `deadLetterReason` -> ``FailureDisposition/deadLetter(_:)``;
/// 4. anything else (an error that does not classify itself) -> ``Configuration/unclassified``,
///    default stop - the same default as Kafka Connect's `errors.tolerance=none`.
///
/// Back-off for attempt `k` (1-based): `d = min(maxDelay, initialDelay * multiplier^(k-1))`, then
/// jitter draws uniformly from `[d * (1 - jitter), d]` (jitter 1 is AWS's "full jitter", 0.5 "equal
/// jitter"). The random source is injected so tests are deterministic.
public struct DeadLetterPolicy: Sendable, Hashable {
    /// Tuning of retries and the fallback for unclassified errors.
    public struct Configuration: Sendable, Hashable {
        /// Attempts including the first, before a retriable failure is treated as final. Default 5.
        public var maxAttempts: Int
        /// Delay before the first retry. Default 100 ms.
        public var initialDelay: Duration
        /// Growth factor per attempt. Default 2.
        public var multiplier: Double
        /// Upper bound of any delay, before jitter. Default 10 s.
        public var maxDelay: Duration
        /// Fraction of the delay that is randomised, in `0...1`. Default 0.5.
        public var jitter: Double
        /// Disposition of errors that are not ``ClassifiedFailure``. Default ``FailureDisposition/stop``.
        public var unclassified: FailureDisposition

        /// Creates a configuration; see each property for its default.
        public init(maxAttempts: Int = 5, initialDelay: Duration = .milliseconds(100), multiplier: Double = 2, maxDelay: Duration = .seconds(10), jitter: Double = 0.5, unclassified: FailureDisposition = .stop) {
            self.maxAttempts = maxAttempts
            self.initialDelay = initialDelay
            self.multiplier = multiplier
            self.maxDelay = maxDelay
            self.jitter = jitter
            self.unclassified = unclassified
        }

        /// Rejects values that cannot work, saying which and why.
        public func validate() throws(ConfigurationValidationError) {
            guard maxAttempts >= 1 else { throw .init(message: "maxAttempts is \(maxAttempts); it counts the first attempt, so it must be at least 1") }
            guard initialDelay >= .zero, maxDelay >= initialDelay else { throw .init(message: "retry delays must satisfy 0 <= initialDelay <= maxDelay") }
            guard multiplier >= 1 else { throw .init(message: "multiplier is \(multiplier); it must be at least 1") }
            guard (0...1).contains(jitter) else { throw .init(message: "jitter is \(jitter); it must lie in 0...1") }
        }
    }

    /// The configuration.
    public var configuration: Configuration

    /// Creates a policy.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// The disposition of `error` after `attempt` attempts (1 for the first failure).
    public func disposition(for error: any Error, attempt: Int, using random: inout some RandomNumberGenerator) -> FailureDisposition {
        guard let failure = error as? any ClassifiedFailure else { return configuration.unclassified }
        if failure.isFatal { return .stop }
        if failure.isRetriable {
            if attempt < configuration.maxAttempts { return .retry(after: backoff(attempt: attempt, using: &random)) }
            return failure.deadLetterReason.map(FailureDisposition.deadLetter) ?? .stop
        }
        if let reason = failure.deadLetterReason { return .deadLetter(reason) }
        return configuration.unclassified
    }

    /// The delay before retry number `attempt` (1-based), with jitter.
    public func backoff(attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let base = cappedDelaySeconds(attempt: attempt)
        let low = base * (1 - configuration.jitter)
        let seconds = low >= base ? base : Double.random(in: low...base, using: &random)
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The delay before retry number `attempt` without jitter: `min(maxDelay, initial * multiplier^(attempt-1))`.
    public func cappedDelaySeconds(attempt: Int) -> Double {
        let exponent = Double(max(0, attempt - 1))
        let raw = configuration.initialDelay.doubleSeconds * pow(configuration.multiplier, exponent)
        return min(configuration.maxDelay.doubleSeconds, raw.isFinite ? raw : .infinity)
    }
}

/// `pow` without Foundation for the back-off exponent (small non-negative integer exponents).
private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(min(exponent, 2048))
    while remaining > 0 {
        result *= base
        if result.isInfinite { return result }
        remaining -= 1
    }
    return result
}
