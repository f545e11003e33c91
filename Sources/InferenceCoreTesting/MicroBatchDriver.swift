public import InferenceCore
import Synchronization

/// Runs a ``MicroBatcher`` against a real (or manual) clock: records are submitted from any thread,
/// closed batches come out of ``batches`` in closing order.
///
/// The state machine sits behind a `Mutex`; ``submit(_:)`` never blocks beyond that lock and never
/// suspends, so the consumer's poll thread may call it directly. ``run()`` is the timer loop: it sleeps
/// until the open batch's deadline on the injected clock (`some Clock<Duration>`: `ContinuousClock` in
/// production, ``ManualClock`` in tests), then closes the batch if it is still due. Deadlines never move
/// backwards (a new batch opens after the old one closed), so sleeping to a stale deadline is harmless:
/// the loop wakes, finds nothing due, and sleeps to the new one.
///
/// Run ``run()`` inside a task that its owner cancels (a test's task group); cancellation or
/// ``finish()`` ends it. A test double: the worker does not use it (its inference thread owns a
/// ``MicroBatcher`` and waits on the batch deadline itself).
public final class MicroBatchDriver<Element: Sendable, C: Clock>: Sendable where C.Duration == Duration {
    /// A batch as emitted by the driver.
    public typealias Batch = MicroBatcher<Element, C.Instant>.Batch

    private struct State {
        var batcher: MicroBatcher<Element, C.Instant>
        var finished = false
    }

    private let clock: C
    private let state: Mutex<State>
    private let output: AsyncStream<Batch>.Continuation
    private let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation

    /// Closed batches in closing order; finishes after ``finish()``.
    public let batches: AsyncStream<Batch>

    /// Creates a driver; throws when the configuration does not validate.
    public init(configuration: MicroBatcherConfiguration, clock: C) throws(ConfigurationValidationError) {
        self.clock = clock
        self.state = Mutex(State(batcher: try MicroBatcher(configuration: configuration)))
        (self.batches, self.output) = AsyncStream.makeStream(of: Batch.self)
        (self.wakeups, self.wakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Adds a record; returns `false` (dropping nothing, adding nothing) after ``finish()``.
    @discardableResult
    public func submit(_ element: Element) -> Bool {
        let now = clock.now
        return state.withLock { s in
            guard !s.finished else { return false }
            let wasEmpty = s.batcher.pendingCount == 0
            if case .flush(let batch) = s.batcher.append(element, now: now) {
                // Yielding under the lock keeps batches in closing order when a size flush here races a
                // deadline flush in `run()`; `yield` on an unbounded stream only enqueues, it never blocks.
                output.yield(batch)
            } else if wasEmpty {
                wakeup.yield()
            }
            return true
        }
    }

    /// Feeds a finished batch's measurements to the adaptive controller (no-op without adaptive mode).
    public func recordCompletion(batchSize: Int, queueingDelay: Duration, modelLatency: Duration) {
        let now = clock.now
        state.withLock { s in
            if case .flush(let batch) = s.batcher.recordCompletion(batchSize: batchSize, queueingDelay: queueingDelay, modelLatency: modelLatency, now: now) {
                output.yield(batch)
            }
        }
    }

    /// The current target batch size (adaptive or fixed).
    public var targetBatchSize: Int { state.withLock { $0.batcher.targetBatchSize } }

    /// Emits what is pending as a `.drain` batch, stops accepting records and ends ``batches``.
    ///
    /// ``run()`` returns at its next wake-up: at once when no batch was open, else when the drained
    /// batch's (now stale) deadline passes, at most `maxDelay` later. Cancel its task to end it at once.
    public func finish() {
        let now = clock.now
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            if let batch = s.batcher.drain(now: now) { output.yield(batch) }
            output.finish()
        }
        wakeup.finish()
    }

    /// The timer loop; returns when the task is cancelled or after ``finish()``.
    public func run() async {
        var signals = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let deadline: C.Instant?? = state.withLock { s in s.finished ? .none : .some(s.batcher.nextDeadline) }
            guard let deadline else { return }
            if let deadline {
                do {
                    try await clock.sleep(until: deadline, tolerance: nil)
                } catch {
                    return
                }
                let now = clock.now
                state.withLock { s in
                    if case .flush(let batch) = s.batcher.deadlineReached(now: now) { output.yield(batch) }
                }
            } else if await signals.next() == nil {
                return
            }
        }
    }
}
