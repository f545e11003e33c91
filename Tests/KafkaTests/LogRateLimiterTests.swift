@testable import Kafka
import Testing

@Suite struct LogRateLimiterTests {
    @Test func aFloodIsCutToTheBurstThenTheRateAndSuppressedLinesAreCounted() {
        var limiter = LogRateLimiter(perSecond: 5, burst: 20)
        let start = ContinuousClock.now
        // 22 lines a second for 10 seconds, as a failing TLS handshake produces.
        var forwarded = 0
        var reportedSuppressed = 0
        for i in 0..<220 {
            let admitted = limiter.admit(now: start.advanced(by: .milliseconds(i * 1000 / 22)))
            if admitted.forward { forwarded += 1 }
            reportedSuppressed += admitted.suppressedBefore
        }
        #expect(forwarded >= 20 + 5 * 9 && forwarded <= 20 + 5 * 10 + 1, "burst, then 5 a second: \(forwarded)")
        #expect(reportedSuppressed + limiter.suppressed == 220 - forwarded, "every suppressed line is accounted for")
    }

    @Test func normalTrafficIsNeverSuppressed() {
        var limiter = LogRateLimiter(perSecond: 5, burst: 20)
        let start = ContinuousClock.now
        for i in 0..<100 {
            #expect(limiter.admit(now: start.advanced(by: .milliseconds(i * 500))).forward)
        }
    }
}
