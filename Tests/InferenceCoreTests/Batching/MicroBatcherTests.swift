import InferenceCore
import InferenceCoreTesting
import Testing

@Suite struct MicroBatcherTests {
    typealias Batcher = MicroBatcher<Int, ManualClock.Instant>

    func at(_ ms: Int) -> ManualClock.Instant { ManualClock.Instant(offset: .milliseconds(ms)) }

    func flushed(_ action: Batcher.Action) -> Batcher.Batch? {
        if case .flush(let batch) = action { return batch }
        return nil
    }

    @Test func closesWhenFullBeforeTheDeadline() throws {
        var batcher = try Batcher(configuration: .init(maxBatchSize: 3, maxDelay: .milliseconds(10)))
        #expect(flushed(batcher.append(1, now: at(0))) == nil)
        #expect(flushed(batcher.append(2, now: at(1))) == nil)
        let batch = try #require(flushed(batcher.append(3, now: at(2))))
        #expect(batch.elements == [1, 2, 3])
        #expect(batch.reason == .size)
        #expect(batch.queueingDelay == .milliseconds(2))
        #expect(batcher.pendingCount == 0)
        #expect(batcher.nextDeadline == nil)
    }

    @Test func deadlineIsMeasuredFromTheOldestRecord() throws {
        var batcher = try Batcher(configuration: .init(maxBatchSize: 100, maxDelay: .milliseconds(10)))
        _ = batcher.append(1, now: at(0))
        #expect(batcher.nextDeadline == at(10))
        _ = batcher.append(2, now: at(7))
        // A later record does not push the deadline back.
        #expect(batcher.nextDeadline == at(10))
        #expect(flushed(batcher.deadlineReached(now: at(9))) == nil)
        let batch = try #require(flushed(batcher.deadlineReached(now: at(10))))
        #expect(batch.elements == [1, 2])
        #expect(batch.reason == .deadline)
        #expect(batch.openedAt == at(0))
        // The next batch's deadline starts from its own first record.
        _ = batcher.append(3, now: at(15))
        #expect(batcher.nextDeadline == at(25))
    }

    @Test func staleTimerAfterASizeFlushDoesNothing() throws {
        var batcher = try Batcher(configuration: .init(maxBatchSize: 2, maxDelay: .milliseconds(10)))
        _ = batcher.append(1, now: at(0))
        #expect(flushed(batcher.append(2, now: at(1)))?.elements == [1, 2])
        _ = batcher.append(3, now: at(8))
        // The timer armed for the first batch fires at 10: the open batch is due only at 18.
        #expect(flushed(batcher.deadlineReached(now: at(10))) == nil)
        #expect(flushed(batcher.deadlineReached(now: at(18)))?.elements == [3])
    }

    @Test func appendPastTheDeadlineFlushes() throws {
        var batcher = try Batcher(configuration: .init(maxBatchSize: 10, maxDelay: .milliseconds(5)))
        _ = batcher.append(1, now: at(0))
        let batch = try #require(flushed(batcher.append(2, now: at(6))))
        #expect(batch.elements == [1, 2])
        #expect(batch.reason == .deadline)
    }

    @Test func zeroDelayFlushesEveryRecord() throws {
        var batcher = try Batcher(configuration: .init(maxBatchSize: 10, maxDelay: .zero))
        #expect(flushed(batcher.append(1, now: at(0)))?.elements == [1])
    }

    @Test func drainReturnsWhatIsPending() throws {
        var batcher = try Batcher(configuration: .init(maxBatchSize: 10, maxDelay: .milliseconds(5)))
        #expect(batcher.drain(now: at(0)) == nil)
        _ = batcher.append(1, now: at(0))
        let drained = batcher.drain(now: at(1))
        let batch = try #require(drained)
        #expect(batch.elements == [1])
        #expect(batch.reason == .drain)
        #expect(batcher.nextDeadline == nil)
    }

    @Test(arguments: [
        MicroBatcherConfiguration(maxBatchSize: 0),
        MicroBatcherConfiguration(maxDelay: .milliseconds(-1)),
        MicroBatcherConfiguration(adaptive: .init(latencyObjective: .zero)),
        MicroBatcherConfiguration(adaptive: .init(latencyObjective: .milliseconds(10), backoffFactor: 1)),
        MicroBatcherConfiguration(adaptive: .init(latencyObjective: .milliseconds(10), window: 1)),
    ])
    func rejectsInvalidConfiguration(_ configuration: MicroBatcherConfiguration) {
        #expect(throws: ConfigurationValidationError.self) { try configuration.validate() }
        #expect(throws: ConfigurationValidationError.self) { _ = try Batcher(configuration: configuration) }
    }

    @Test func adaptiveTargetShrinkFlushesPendingRecords() throws {
        var batcher = try Batcher(configuration: .init(
            maxBatchSize: 64, maxDelay: .milliseconds(50),
            adaptive: .init(latencyObjective: .milliseconds(10), initialBatchSize: 8)
        ))
        #expect(batcher.targetBatchSize == 8)
        for i in 0..<7 { #expect(flushed(batcher.append(i, now: at(0))) == nil) }
        // A miss shrinks the target from 8 to min(8 - 1, floor(8 * 0.9)) = 7: the 7 waiting records go.
        let batch = try #require(flushed(batcher.recordCompletion(batchSize: 8, queueingDelay: .milliseconds(5), modelLatency: .milliseconds(20), now: at(1))))
        #expect(batch.elements == Array(0..<7))
        #expect(batcher.targetBatchSize == 7)
    }
}
