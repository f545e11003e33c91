/// Limits how many librdkafka log lines are forwarded: a token bucket of `burst` lines refilled at
/// `perSecond`. A broken TLS setup makes librdkafka log a failed handshake about 20 times a second,
/// forever; forwarding every line floods log collectors. Suppressed lines are counted and the count
/// is reported with the next line that gets through.
struct LogRateLimiter: Sendable {
    let perSecond: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant?
    private(set) var suppressed = 0

    init(perSecond: Double = 5, burst: Double = 20) {
        self.perSecond = perSecond
        self.burst = burst
        tokens = burst
    }

    /// Whether a line logged at `now` is forwarded; if so, how many were suppressed before it.
    mutating func admit(now: ContinuousClock.Instant) -> (forward: Bool, suppressedBefore: Int) {
        if let last {
            let elapsed = last.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            tokens = min(burst, tokens + seconds * perSecond)
        }
        last = now
        guard tokens >= 1 else {
            suppressed += 1
            return (false, 0)
        }
        tokens -= 1
        defer { suppressed = 0 }
        return (true, suppressed)
    }
}
