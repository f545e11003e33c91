import InferenceCore
import InferenceCoreTesting
import Testing

@Suite struct ManualClockTests {
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100_000 {
            if condition() { return true }
            await Task.yield()
        }
        return condition()
    }

    @Test func sleepersWakeWhenTheClockReachesTheirDeadline() async throws {
        let clock = ManualClock()
        let start = clock.now
        let early = Task { try await clock.sleep(until: start.advanced(by: .milliseconds(5))); return clock.now }
        let late = Task { try await clock.sleep(until: start.advanced(by: .milliseconds(10))); return clock.now }
        #expect(await eventually { clock.sleeperCount == 2 })
        clock.advance(by: .milliseconds(4))
        #expect(clock.sleeperCount == 2)
        clock.advance(by: .milliseconds(1))
        #expect(try await early.value == start.advanced(by: .milliseconds(5)))
        #expect(clock.sleeperCount == 1)
        clock.advance(to: start.advanced(by: .seconds(1)))
        #expect(try await late.value == start.advanced(by: .seconds(1)))
        // Never backwards.
        clock.advance(to: start)
        #expect(clock.now == start.advanced(by: .seconds(1)))
    }

    @Test func aPastDeadlineReturnsAtOnce() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(1))
        try await clock.sleep(until: ManualClock.Instant(offset: .milliseconds(10)))
        #expect(clock.sleeperCount == 0)
    }

    @Test func cancellationThrows() async {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(60))) }
        #expect(await eventually { clock.sleeperCount == 1 })
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
        // Cancelled before it even started sleeping.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }

    @Test func adaptiveDriverShrinksItsTargetAfterAMiss() async throws {
        let clock = ManualClock()
        let driver = try MicroBatchDriver<Int, ManualClock>(
            configuration: .init(maxBatchSize: 32, maxDelay: .milliseconds(5), adaptive: .init(latencyObjective: .milliseconds(10), initialBatchSize: 20)),
            clock: clock
        )
        #expect(driver.targetBatchSize == 20)
        driver.recordCompletion(batchSize: 20, queueingDelay: .milliseconds(5), modelLatency: .milliseconds(30))
        #expect(driver.targetBatchSize == 18)
        var batches = driver.batches.makeAsyncIterator()
        for i in 0..<18 { driver.submit(i) }
        let batch = try #require(await batches.next())
        #expect(batch.elements == Array(0..<18))
        #expect(batch.reason == .size)
    }
}
