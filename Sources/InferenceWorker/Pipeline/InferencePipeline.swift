import Foundation
public import InferenceCore
public import Kafka
public import Logging
import Synchronization

/// consume -> decode and validate -> micro-batch -> infer -> publish -> store offset: the wiring.
///
/// The parts, each with one job (docs/architecture.md walks one record through them):
/// - the ``KafkaConsumer`` polls on its own thread and hands records and rebalance events to
///   ``handle(_:)`` (this file's extension `InferencePipeline+ConsumerEvents.swift`);
/// - the ``PartitionLedger`` tracks what is in flight per partition and what is safe to commit;
///   its flow decisions are applied by the ``FlowGate`` outside its lock;
/// - the ``WorkQueue`` carries records to the ``ScoringLoop`` on the pipeline's scoring thread,
///   which batches and scores them with a ``BatchScorer``;
/// - the ``OutputPublisher`` writes predictions and dead letters and acknowledges inputs from its
///   producer's delivery reports; it also writes drift and quality reports, training examples and
///   shadow predictions (side records, acknowledging nothing);
/// - with a labels topic, ``QualityPath`` (on the scoring thread) joins predictions with labels and
///   ``LiveQuality`` shares its counts and commit checkpoints; with a ``RolloutSource``,
///   ``RolloutServing`` (on the scoring thread) routes rows to a roll-out's candidate;
/// - the ``PipelineLifecycle`` says what a stop request means in each phase.
///
/// Threads: the consumer's poll thread (records, rebalances, the revoke hook, and with a labels
/// topic the join-store rebuild reads at assignment), the scoring thread, the producer's delivery
/// thread (one per producer generation), and a retry timer queue; a producer recovery runs on a
/// thread of its own. Nothing blocks Swift's cooperative pool.
///
/// Guarantees:
/// - at-least-once: an input's offset is stored only after its prediction or dead letter is
///   acknowledged by the broker, and never past a record still in flight (``PartitionLedger``),
///   whatever the producer reports (a fatal producer is recreated and its outputs resent);
/// - order: one scoring thread handles records in arrival order, so outputs for one input
///   partition are sent in input order (and keep the input's key);
/// - a bad record is dead-lettered alone; a broker outage is retried, never dead-lettered; a dead
///   letter the broker refuses is rewritten (current time, truncated, minimal form) or, if nothing
///   can be written, given up with its input acknowledged; a topic that cannot be written holds its
///   partitions back;
/// - in flight is bounded by count and bytes: at the maximum the consumer stops handing over
///   records of every assigned partition (librdkafka's prefetch, bounded per partition, waits).
public final class InferencePipeline: Sendable {
    public let configuration: WorkerConfiguration
    public let models: any ModelSource
    /// The roll-outs the pipeline follows (docs/rollouts.md); nil: none, as before roll-outs existed.
    public let rollouts: (any RolloutSource)?
    public let counters: PipelineCounters
    /// Live quality's counts and latest reports; nil unless a labels topic is configured.
    public let quality: LiveQuality?
    /// The reports this worker published (drift and quality), for `/dashboard`: pass it to
    /// ``OperationsEndpoints/server(host:port:limits:pipeline:metrics:dashboard:logger:)``.
    public let recentReports: RecentReports
    let logger: Logger

    let queue = WorkQueue()
    let ledger: PartitionLedger
    let flowGate: FlowGate
    let publisher: OutputPublisher
    /// The consumer, once created: the publisher's acknowledgements apply flow decisions to it.
    let consumer = ConsumerReference()

    struct Runtime: ~Copyable {
        var lifecycle = PipelineLifecycle()
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var scoringDone: [CheckedContinuation<Void, Never>] = []
        var scoringFinished = false
        var latestStatistics: KafkaStatistics?
        var latestDriftReport: DriftReport?
        var lastStore = ContinuousClock.now
        /// Set by the first assignment event, even an empty one (more replicas than partitions).
        var joinedGroup = false
        /// Why the pipeline gave up (``run()`` throws it after stopping): a ``KafkaError``, or a
        /// ``ConfigurationValidationError`` found at assignment (labels topic not co-partitioned).
        var failure: (any Error)?
    }
    let runtime = Mutex(Runtime())
    /// False once abandoned: nothing is stored or committed any more. An atomic because the
    /// scoring thread reads it on every pass.
    let commits = Atomic<Bool>(true)

    /// - Parameters:
    ///   - rollouts: the roll-outs to follow (nil: none).
    ///   - dashboard: where published drift and quality reports are kept for `/dashboard` (which also
    ///     shows the roll-out record `rollouts` follows).
    public init(
        configuration: WorkerConfiguration, models: any ModelSource, logger: Logger, counters: PipelineCounters = PipelineCounters(),
        rollouts: (any RolloutSource)? = nil, dashboard: RecentReports = RecentReports()
    ) {
        self.configuration = configuration
        self.models = models
        self.rollouts = rollouts
        self.logger = logger
        self.counters = counters
        recentReports = dashboard
        if let rollouts {
            // The page shows the record every replica follows, read at each rendering.
            let model = configuration.modelName
            dashboard.followRollout { rollouts.record(for: model).map(DashboardRollout.init(record:)) }
        }
        // The hooks cannot capture `self` before initialisation ends: they go through a box.
        let giveUp = GiveUpHook()
        let quality = configuration.labelsTopic.map { labelsTopic in
            LiveQuality(labelsTopic: labelsTopic) { offsets in giveUp.pipeline?.storeLabelOffsets(offsets) }
        }
        self.quality = quality
        let ledger = PartitionLedger(
            flow: FlowControl(maxRecords: configuration.maxInFlightRecords, maxBytes: configuration.maxInFlightBytes, resumeFraction: configuration.resumeFraction)
        )
        let flowGate = FlowGate(counters: counters)
        let consumer = self.consumer
        self.ledger = ledger
        self.flowGate = flowGate
        publisher = OutputPublisher(
            configuration: .init(
                outputTopic: configuration.outputTopic, deadLetterTopic: configuration.effectiveDeadLetterTopic,
                driftTopic: configuration.driftTopic, qualityTopic: configuration.effectiveQualityTopic,
                trainingExamplesTopic: configuration.labelsTopic == nil ? nil : configuration.trainingExamplesTopic,
                shadowTopic: rollouts == nil ? nil : configuration.effectiveShadowTopic,
                workerID: configuration.workerID,
                producer: configuration.producerConfiguration, recoveryTimeout: configuration.producerRecoveryTimeout,
                maxMessageBytes: configuration.maxMessageBytes
            ),
            logger: logger, counters: counters,
            acknowledge: { ticket, offset in
                if let decision = ledger.acknowledge(ticket, offset: offset) {
                    flowGate.apply(decision, to: consumer.current)
                }
            },
            isCurrent: { ticket in ledger.isCurrent(ticket) },
            giveUp: { error in giveUp.pipeline?.fail(error) },
            qualityDelivered: { delivered in quality?.reportSettled(delivered: delivered) },
            trainingDelivered: { delivered in
                quality?.update { if delivered { $0.trainingExamplesDelivered += 1 } else { $0.trainingExamplesFailed += 1 } }
            }
        )
        giveUp.pipeline = self
    }

    // MARK: - Lifecycle

    /// Runs until ``requestShutdown()``, then drains and stops: stop fetching, finish in-flight work
    /// within `drainTimeout`, commit, leave the group, flush the producer.
    ///
    /// - Throws: a configuration error when no model version can serve; the model source's error
    ///   if watching for versions fails; the producer's fatal error if a recreation was due more
    ///   than `producerRecoveryTimeout` after the first fatal error with nothing delivered since
    ///   (then nothing more was committed); a ``ConfigurationValidationError`` when an assignment
    ///   finds the labels topic missing or not co-partitioned with the request topics (then too
    ///   nothing more was committed).
    public func run() async throws {
        try start()
        var watchError: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.models.watch() }
                group.addTask { await self.waitForStop() }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            watchError = error
        }
        await drainAndStop()
        if let failure = runtime.withLock({ $0.failure }) { throw failure }
        if let watchError { throw watchError }
    }

    /// Asks ``run()`` to drain and return. Safe from any thread, any number of times.
    public func requestShutdown() {
        perform(runtime.withLock { $0.lifecycle.shutdownRequested() })
    }

    /// Stops *without* draining or committing anything more, as a crash would (records in flight
    /// are redelivered to whoever owns their partitions next). For tests and fatal errors.
    public func abandon() async {
        perform(runtime.withLock { $0.lifecycle.abandonRequested() })
    }

    /// Gives up after an unrecoverable error: abandons (nothing more is committed) and makes
    /// ``run()`` throw `error`.
    func fail(_ error: any Error) {
        let action = runtime.withLock { runtime in
            if runtime.failure == nil { runtime.failure = error }
            return runtime.lifecycle.abandonRequested()
        }
        perform(action)
    }

    private func perform(_ action: PipelineLifecycle.Action) {
        switch action {
        case .none:
            return
        case .abandonAndStop:
            commits.store(false, ordering: .releasing)
            publisher.abandon()
        case .beginStopping:
            break
        }
        let waiters = runtime.withLock { runtime in
            defer { runtime.stopWaiters = [] }
            return runtime.stopWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The latest librdkafka statistics (per-partition lag), if enabled.
    public var latestStatistics: KafkaStatistics? { runtime.withLock { $0.latestStatistics } }
    /// The last drift report this worker published.
    public var latestDriftReport: DriftReport? { runtime.withLock { $0.latestDriftReport } }
    /// Partitions currently assigned to this worker.
    public var assignedPartitions: [KafkaTopicPartition] { ledger.assigned }
    /// Records consumed and not yet acknowledged.
    public var inFlight: (records: Int, bytes: Int) { ledger.inFlight }
    /// The most records that were ever in flight at once since the pipeline started.
    public var peakInFlightRecords: Int { ledger.peakInFlightRecords }
    /// Whether back-pressure has paused the assigned partitions.
    public var isPaused: Bool { ledger.isPaused }
    /// Whether a shutdown was requested or is under way (readiness turns false at once).
    public var isShuttingDown: Bool { runtime.withLock { $0.lifecycle.isShuttingDown } }
    /// Whether a producer is serving: false while a fatal producer is being recreated, and once closing.
    public var isProducerUp: Bool { publisher.isUp && !isShuttingDown }
    /// Outputs held back now because their topic cannot be written (their partitions stop advancing).
    public var blockedOutputs: Int { publisher.blockedOutputs }
    /// Whether this member has received an assignment from the group (possibly empty: a replica
    /// beyond the partition count is a healthy idle member).
    public var hasJoinedGroup: Bool { runtime.withLock { $0.joinedGroup } }

    private func waitForStop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = runtime.withLock { runtime -> Bool in
                if runtime.lifecycle.isShuttingDown { return true }
                runtime.stopWaiters.append(continuation)
                return false
            }
            if already { continuation.resume() }
        }
    }

    private func start() throws {
        if models.current == nil { models.prepare() }
        guard let model = models.current else {
            throw WorkerConfigurationError(
                setting: "model-name",
                message: "no valid version of model '\(configuration.modelName)' under \(configuration.modelRoot): \(models.unavailableReason)"
            )
        }
        logger.info("serving model", metadata: ["model.name": "\(model.name)", "model.version": "\(model.version)"])
        let loop = try ScoringLoop(
            configuration: configuration, models: models, rollouts: rollouts, queue: queue, ledger: ledger, publisher: publisher,
            counters: counters, logger: logger,
            isStopping: { [self] in isShuttingDown },
            storeProgress: { [self] in storeOffsets() },
            driftPublished: { [self] report in
                runtime.withLock { $0.latestDriftReport = report }
                recentReports.add(report)
            },
            quality: makeQualityPath()
        )
        try publisher.start()
        let consumer = try KafkaConsumer(configuration: configuration.consumerConfiguration, logger: logger) { [self] event in
            handle(event)
        }
        self.consumer.set(consumer)
        let thread = Thread { [self] in
            var loop = loop
            loop.run()
            finishScoring()
        }
        thread.name = "scoring"
        thread.start()
    }

    private func drainAndStop() async {
        let consumer = self.consumer.current
        let abandoned = !commits.load(ordering: .acquiring)
        logger.info("shutting down", metadata: ["worker.abandon": "\(abandoned)"])
        // Leaving the group revokes every partition through the revoke hook, which drains
        // in-flight work (bounded by drainTimeout) and commits. librdkafka's close can then wait
        // without end for a group coordinator that is gone (a broker outage during a roll-out of
        // the deployment): after the drain plus `leaveGroupTimeout` the worker stops without it.
        if let consumer {
            if await consumer.close(timeout: configuration.drainTimeout + Self.leaveGroupTimeout) {
                // Its event handler holds this pipeline: let go of it, so that both can be released
                // (and librdkafka's client destroyed before the process exits).
                self.consumer.clear()
            } else {
                logger.warning("the consumer did not leave the group in time (the group coordinator may be unreachable); stopping without it", metadata: [
                    "timeout": "\(configuration.drainTimeout + Self.leaveGroupTimeout)",
                    "fix": "nothing to do: the group reassigns the partitions once this member's session times out, and inputs not committed are processed again",
                ])
            }
        }
        queue.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = runtime.withLock { runtime -> Bool in
                if runtime.scoringFinished { return true }
                runtime.scoringDone.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
        let unacknowledged = await publisher.close(flushTimeout: commits.load(ordering: .acquiring) ? .seconds(5) : .zero)
        runtime.withLock { $0.lifecycle.stopped() }
        logger.info("stopped", metadata: ["kafka.unacknowledged": "\(unacknowledged)"])
    }

    /// How long leaving the group (commit, LeaveGroup) may take after the drain at shutdown.
    static let leaveGroupTimeout: Duration = .seconds(5)

    private func finishScoring() {
        let waiters = runtime.withLock { runtime -> [CheckedContinuation<Void, Never>] in
            runtime.scoringFinished = true
            defer { runtime.scoringDone = [] }
            return runtime.scoringDone
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Hands acknowledged progress to the consumer (committed on its timer), at most every 50 ms.
    /// Runs on the scoring thread after each pass over the queue.
    private func storeOffsets() {
        guard commits.load(ordering: .acquiring) else { return }
        let due = runtime.withLock { runtime -> Bool in
            let now = ContinuousClock.now
            guard runtime.lastStore.duration(to: now) >= .milliseconds(50) else { return false }
            runtime.lastStore = now
            return true
        }
        guard due, let consumer = consumer.current else { return }
        let offsets = withoutLabelOffsets(ledger.takeOffsetsToStore())
        guard !offsets.isEmpty else { return }
        do {
            try consumer.storeOffsets(offsets)
        } catch {
            logger.debug("storing offsets failed (partition revoked meanwhile?)", metadata: ["error": "\(error)"])
        }
    }
}

/// The pipeline's consumer, set once it exists (events may arrive before: flow decisions made
/// then find none and are superseded by the next ones).
final class ConsumerReference: Sendable {
    private let value = Mutex<KafkaConsumer?>(nil)
    var current: KafkaConsumer? { value.withLock { $0 } }
    func set(_ consumer: KafkaConsumer) { value.withLock { $0 = consumer } }
    func clear() { value.withLock { $0 = nil } }
}

/// Lets the publisher's give-up hook reach the pipeline that owns it (set once, right after the
/// pipeline is initialised). `@unchecked Sendable`: written once before any hook can run, read
/// only after.
private final class GiveUpHook: @unchecked Sendable {
    weak var pipeline: InferencePipeline?
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }
}
