/// Groups records into micro-batches: a value-type state machine with no locks, tasks or clocks inside.
///
/// The caller feeds it explicit instants and acts on the returned ``Action``:
/// - ``append(_:now:)`` when a record arrives;
/// - ``deadlineReached(now:)`` when the clock passes ``nextDeadline``;
/// - ``recordCompletion(batchSize:queueingDelay:modelLatency:now:)`` after a batch ran, which feeds
///   the adaptive size controller (if configured);
/// - ``drain(now:)`` on shutdown or partition revocation.
///
/// A batch closes when it reaches ``targetBatchSize`` or when its *oldest* record (the first one
/// appended) has waited `maxDelay`, whichever comes first. The deadline is measured from the oldest
/// record and does not move while later records arrive, so no record waits longer than `maxDelay`
/// in the batcher (plus the caller's own timer slack).
///
/// Generic over the instant type so that the worker uses `ContinuousClock.Instant` and tests use
/// `ManualClock.Instant` (InferenceCoreTesting). The machine can sit behind a lock (InferenceCoreTesting's
/// `MicroBatchDriver` does that, for tests) or be owned by a single thread (the worker's inference
/// thread owns one and waits at most until ``nextDeadline``).
///
/// The per-record calls (``append(_:now:)`` and what it uses) are `@inlinable` so that a caller in
/// another module gets them specialised for its element and instant types: unspecialised, every
/// append copied the element and compared instants through value-witness and protocol-witness
/// tables (the worker's inference thread calls it once per record).
public struct MicroBatcher<Element, Instant: InstantProtocol> where Instant.Duration == Duration {
    /// Why a batch closed.
    public enum CloseReason: Sendable, Hashable {
        /// It reached the target batch size.
        case size
        /// Its oldest record waited the maximum delay.
        case deadline
        /// The caller drained the batcher (shutdown, revocation).
        case drain
    }

    /// A closed batch, in arrival order.
    public struct Batch {
        /// The records, oldest first.
        public var elements: [Element]
        /// When the oldest record was appended.
        public var openedAt: Instant
        /// When the batch closed.
        public var closedAt: Instant
        /// Why it closed.
        public var reason: CloseReason

        /// How long the oldest record waited in the batcher.
        public var queueingDelay: Duration { openedAt.duration(to: closedAt) }

        @usableFromInline
        init(elements: [Element], openedAt: Instant, closedAt: Instant, reason: CloseReason) {
            self.elements = elements
            self.openedAt = openedAt
            self.closedAt = closedAt
            self.reason = reason
        }
    }

    /// What the caller must do after feeding the machine.
    public enum Action {
        /// Nothing: keep waiting (re-arm the timer to ``MicroBatcher/nextDeadline``).
        case none
        /// Run this batch.
        case flush(Batch)
    }

    /// The configuration, validated at initialisation.
    public let configuration: MicroBatcherConfiguration
    /// The adaptive size controller, when configured.
    public private(set) var sizer: AdaptiveBatchSizer?
    @usableFromInline var pending: [Element] = []
    @usableFromInline var openedAt: Instant?
    /// `openedAt + maxDelay`, computed once per batch rather than on every append.
    @usableFromInline var deadline: Instant?

    /// Creates a batcher; throws when the configuration does not validate.
    public init(configuration: MicroBatcherConfiguration) throws(ConfigurationValidationError) {
        try configuration.validate()
        self.configuration = configuration
        if let adaptive = configuration.adaptive {
            self.sizer = AdaptiveBatchSizer(configuration: adaptive, maxBatchSize: configuration.maxBatchSize)
        }
        pending.reserveCapacity(configuration.maxBatchSize)
    }

    /// The size at which the current batch closes: the adaptive target, else `maxBatchSize`.
    @inlinable public var targetBatchSize: Int { sizer?.batchSize ?? configuration.maxBatchSize }

    /// Records waiting in the open batch.
    @inlinable public var pendingCount: Int { pending.count }

    /// When the open batch must close (oldest record's arrival + `maxDelay`); `nil` when empty.
    @inlinable public var nextDeadline: Instant? { deadline }

    /// Adds a record that arrived at `now`; returns `.flush` when the batch is full, or when `now` is
    /// already past the oldest record's deadline (the caller's timer fired late).
    @inlinable public mutating func append(_ element: Element, now: Instant) -> Action {
        if openedAt == nil {
            openedAt = now
            deadline = now.advanced(by: configuration.maxDelay)
        }
        pending.append(element)
        if pending.count >= targetBatchSize { return .flush(close(now: now, reason: .size)) }
        if let deadline, now >= deadline { return .flush(close(now: now, reason: .deadline)) }
        return .none
    }

    /// Closes the open batch if its oldest record's deadline has passed at `now`; a stale timer
    /// (one armed for a batch that has since closed by size) gets `.none`.
    @inlinable public mutating func deadlineReached(now: Instant) -> Action {
        guard let deadline, now >= deadline else { return .none }
        return .flush(close(now: now, reason: .deadline))
    }

    /// Closes and returns the open batch whatever its size; `nil` when empty.
    @inlinable public mutating func drain(now: Instant) -> Batch? {
        pending.isEmpty ? nil : close(now: now, reason: .drain)
    }

    /// Reports a finished batch to the adaptive controller; returns `.flush` when the target shrank
    /// to or below the records already waiting. A no-op returning `.none` without adaptive mode.
    ///
    /// - Parameters:
    ///   - batchSize: records in the batch that ran.
    ///   - queueingDelay: how long its oldest record waited before the model ran (``Batch/queueingDelay``
    ///     plus any wait for the model to become free).
    ///   - modelLatency: measured model time for the batch.
    public mutating func recordCompletion(batchSize: Int, queueingDelay: Duration, modelLatency: Duration, now: Instant) -> Action {
        guard sizer != nil else { return .none }
        sizer!.record(batchSize: batchSize, queueingDelay: queueingDelay, modelLatency: modelLatency)
        if !pending.isEmpty, pending.count >= targetBatchSize { return .flush(close(now: now, reason: .size)) }
        return .none
    }

    @inlinable mutating func close(now: Instant, reason: CloseReason) -> Batch {
        let elements = pending
        // A fresh buffer per batch (the old one now belongs to the batch): one allocation per batch, none per record.
        pending = []
        pending.reserveCapacity(targetBatchSize)
        let batch = Batch(elements: elements, openedAt: openedAt ?? now, closedAt: now, reason: reason)
        openedAt = nil
        deadline = nil
        return batch
    }
}

extension MicroBatcher: Sendable where Element: Sendable, Instant: Sendable {}
extension MicroBatcher.Batch: Sendable where Element: Sendable, Instant: Sendable {}
extension MicroBatcher.Action: Sendable where Element: Sendable, Instant: Sendable {}
