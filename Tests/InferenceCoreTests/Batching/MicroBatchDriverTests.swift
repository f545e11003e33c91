import InferenceCore
import InferenceCoreTesting
import Testing

@Suite struct MicroBatchDriverTests {
    /// Yields until `condition` holds; no sleeping, bounded so a bug fails instead of hanging.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100_000 {
            if condition() { return true }
            await Task.yield()
        }
        return condition()
    }

    @Test func sizeAndDeadlineFlushesThroughTheManualClock() async throws {
        let clock = ManualClock()
        let driver = try MicroBatchDriver<Int, ManualClock>(configuration: .init(maxBatchSize: 3, maxDelay: .milliseconds(10)), clock: clock)
        let runner = Task { await driver.run() }
        var batches = driver.batches.makeAsyncIterator()

        driver.submit(1)
        driver.submit(2)
        driver.submit(3)
        let full = try #require(await batches.next())
        #expect(full.elements == [1, 2, 3])
        #expect(full.reason == .size)

        driver.submit(4)
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(by: .milliseconds(9))
        clock.advance(by: .milliseconds(1))
        let due = try #require(await batches.next())
        #expect(due.elements == [4])
        #expect(due.reason == .deadline)
        #expect(due.queueingDelay == .milliseconds(10))

        driver.submit(5)
        driver.finish()
        let drained = try #require(await batches.next())
        #expect(drained.elements == [5])
        #expect(drained.reason == .drain)
        #expect(await batches.next() == nil)
        #expect(driver.submit(6) == false)
        await runner.value
    }

    @Test func cancellingTheRunLoopEndsIt() async throws {
        let clock = ManualClock()
        let driver = try MicroBatchDriver<Int, ManualClock>(configuration: .init(), clock: clock)
        let runner = Task { await driver.run() }
        driver.submit(1)
        #expect(await eventually { clock.sleeperCount == 1 })
        runner.cancel()
        await runner.value
        #expect(clock.sleeperCount == 0)
    }
}
