import Foundation
import InferenceCore
import Kafka
import Logging
import Synchronization

/// Writes the pipeline's outputs (predictions and dead letters) and turns their delivery reports
/// into acknowledgements of the inputs: it owns the producer, the outputs in flight
/// (``OutputSlots``), retries, dead-letter truncation and producer recovery. It also writes the
/// side records, best effort and without a slot or an input to acknowledge: drift reports, quality
/// reports, labelled training examples and a shadow candidate's predictions.
///
/// Every failed write is classified (``OutputFailure``) and ``DeadLetterPolicy`` decides what
/// follows (``OutputDisposition``):
/// - a broker outage or timeout is retried with back-off for as long as it lasts, never
///   dead-lettered (a delivery timed out in `message.timeout.ms` may have been persisted: sending
///   it again can duplicate, never lose);
/// - a topic that cannot be written holds its outputs (and so its input partitions) back; each
///   such output is counted once as blocked, the current number is a gauge and a readiness
///   check, and an error naming the topic and the fix is logged (at most every 30 s per topic);
/// - a prediction the broker refuses as such (too large) dead-letters its input; a dead letter it
///   refuses is rewritten (``DeadLetterPolicy/disposition(for:deadLetter:refusal:attempt:using:)``):
///   with the current time for a refused timestamp, truncated (``DeadLetterTruncation``) when too
///   large, in its minimal form (no key, value or original headers) when invalid; if even that is
///   refused, the dead letter is given up (counted, logged with the input's coordinates) and its
///   input acknowledged, so no record can stop a partition. A rewrite is scheduled on the retry
///   queue, never sent on the stack that saw the refusal (a synchronous refusal would recurse);
/// - a fatal producer error (fenced, broken idempotence state) retires the producer: a new one is
///   created and every unacknowledged output is sent again in its original order (so each input
///   partition's outputs keep their order); meanwhile ``send`` waits (the scoring thread stops,
///   and back-pressure then stops consumption) and ``isUp`` is false. `recoveryTimeout` bounds
///   recreation, not delivery: when a recreation is due (a fatal error again, or creating the
///   producer failed) more than `recoveryTimeout` after the first fatal error with no output
///   delivered since, `giveUp` is called and the pipeline stops without committing. A recreated
///   producer that is not fatal but cannot deliver (the broker unreachable) is an outage like any
///   other: its outputs are retried for as long as it lasts, and ``isUp`` is true meanwhile.
///
/// An input is acknowledged only by a successful delivery report of its output, from whichever
/// producer generation it came; failure reports from a retired producer are ignored (recovery
/// sent those outputs again).
///
/// An output whose input's partition was revoked or lost since the input was read (`isCurrent`
/// says no) is never sent again: not retried, not rewritten, not dead-lettered, not resent by a
/// recovery. It is discarded (counted in ``PipelineCounters/Snapshot/discardedOutputs``): its
/// input was not acknowledged, so it is not committed, and the partition's next owner (perhaps
/// this worker again) reads it again from the committed offset. Sending it too would write a
/// second outcome for every such input: a broker outage longer than the group's session timeout
/// loses every partition and fails every output in flight, and before this rule each of them was
/// written twice (by the recovery and by the next owner).
///
/// Threads: ``publishPrediction(_:for:)``, ``deadLetter(_:reason:message:model:)`` and the side
/// records' sends run on the scoring thread; delivery reports on the producer's thread (each
/// producer generation has its own); retries on a serial timer queue
/// (`inference-worker.output-retries`), which also starts a recovery when the producer reports its
/// fatal error (a failed send or delivery starts one where it fails); the recovery itself runs on
/// a thread of its own (`producer-recovery`).
final class OutputPublisher: Sendable {
    /// Where outputs go and how recovery is bounded.
    struct Configuration: Sendable {
        var outputTopic: String
        var deadLetterTopic: String
        var driftTopic: String?
        /// Where quality reports go (nil: live quality is off).
        var qualityTopic: String? = nil
        /// Where labelled examples go (nil: none are written).
        var trainingExamplesTopic: String? = nil
        /// Where a shadow candidate's predictions go during a roll-out (``publishShadow(_:for:)``).
        var shadowTopic: String? = nil
        var workerID: String
        var producer: KafkaProducerConfiguration
        /// Checked when a recreation is due: past this since the first fatal error with no
        /// successful delivery since, the worker gives up instead (see the type's documentation).
        var recoveryTimeout: Duration
        /// The first truncation budget of a refused dead letter: the producer's `message.max.bytes`.
        var maxMessageBytes: Int
    }

    private struct ProducerState: ~Copyable {
        var producer: KafkaProducer?
        /// Bumped by every recreation; outputs remember the generation they were last sent with.
        var generation: UInt64 = 0
        var recovering = false
        var stopping = false
        /// Producers being closed after a fatal error.
        var retired: [KafkaProducer] = []
        /// When the current run of fatal errors began (nil once a delivery succeeded since).
        var failingSince: ContinuousClock.Instant?
        /// Recreations since the last successful delivery: each waits a back-off first, so that a
        /// broker that keeps fencing new producers does not make the worker create one per millisecond.
        var recoveriesWithoutDelivery = 0
        /// Outputs currently held back because their topic cannot be written.
        var blockedNow = 0
        /// When the blocked condition of each topic was last logged.
        var blockedLogged: [String: ContinuousClock.Instant] = [:]
    }

    let configuration: Configuration
    private let logger: Logger
    private let counters: PipelineCounters
    private let acknowledge: @Sendable (PartitionLedger.Ticket, KafkaOffset) -> Void
    private let isCurrent: @Sendable (PartitionLedger.Ticket) -> Bool
    private let giveUp: @Sendable (KafkaError) -> Void
    private let slots = OutputSlots<OutputSlot>()
    private let policy = DeadLetterPolicy()
    private let deadLetterHeaders: DeadLetterHeaders
    private let state = Mutex(ProducerState())
    private let nextSequence = Atomic<UInt64>(1)
    /// Mirrors `state.generation` (bumped under the lock): the scoring thread checks it after
    /// registering an output, without the lock.
    private let generation = Atomic<UInt64>(0)
    /// Mirrors `state.failingSince != nil`: the delivery thread checks it per report, without the lock.
    private let failing = Atomic<Bool>(false)
    private let abandoned = Atomic<Bool>(false)
    /// When a shadow prediction not written was last logged (at most every 30 s).
    private let shadowLogged = Mutex<ContinuousClock.Instant?>(nil)
    private let retryQueue = DispatchQueue(label: "inference-worker.output-retries")

    /// Context of drift reports' delivery reports: they acknowledge no input.
    private static let driftContext: UInt64 = 0
    /// Context of quality reports' delivery reports. Output slots' contexts are never below 2^32
    /// (their generation, at least 1, is in the upper half), so neither 0 nor 1 can be one.
    private static let qualityContext: UInt64 = 1
    /// Context of training examples' delivery reports (likewise never an output slot's).
    private static let trainingContext: UInt64 = 2
    /// Told whether each training example sent was delivered (on the delivery thread).
    private let trainingDelivered: @Sendable (Bool) -> Void
    /// Told whether each quality report sent was delivered (on the delivery thread).
    private let qualityDelivered: @Sendable (Bool) -> Void

    /// - Parameters:
    ///   - acknowledge: called once per input whose output was delivered (on the delivery thread).
    ///   - isCurrent: whether an input's partition is still assigned as it was when the input was
    ///     read (any thread); an output whose input is not is discarded rather than sent again.
    ///   - giveUp: called once when the producer cannot be recovered within the bound.
    init(
        configuration: Configuration, logger: Logger, counters: PipelineCounters,
        acknowledge: @escaping @Sendable (PartitionLedger.Ticket, KafkaOffset) -> Void,
        isCurrent: @escaping @Sendable (PartitionLedger.Ticket) -> Bool,
        giveUp: @escaping @Sendable (KafkaError) -> Void,
        qualityDelivered: @escaping @Sendable (Bool) -> Void = { _ in },
        trainingDelivered: @escaping @Sendable (Bool) -> Void = { _ in }
    ) {
        self.qualityDelivered = qualityDelivered
        self.trainingDelivered = trainingDelivered
        self.configuration = configuration
        self.logger = logger
        self.counters = counters
        self.acknowledge = acknowledge
        self.isCurrent = isCurrent
        self.giveUp = giveUp
        deadLetterHeaders = DeadLetterHeaders(workerID: configuration.workerID)
    }

    /// Creates the first producer.
    func start() throws(KafkaError) {
        let producer = try makeProducer(generation: 1)
        state.withLock {
            $0.producer = producer
            $0.generation = 1
            generation.store(1, ordering: .releasing)
        }
    }

    private func makeProducer(generation: UInt64) throws(KafkaError) -> KafkaProducer {
        try KafkaProducer(
            configuration: configuration.producer, logger: logger,
            deliveryHandler: { [self] report in delivered(report, generation: generation) },
            errorHandler: { [self] error in
                // Told once when the instance turns unusable (possibly with nothing in flight):
                // recover now rather than at the next send. Off the librdkafka thread.
                guard error.isFatal else { return }
                retryQueue.async { [self] in recover(generation: generation, cause: error) }
            }
        )
    }

    // MARK: - State for health and metrics

    /// Whether a producer is serving (not being recovered, not closed).
    var isUp: Bool { state.withLock { $0.producer != nil && !$0.recovering && !$0.stopping } }
    /// Outputs currently held back because their topic cannot be written.
    var blockedOutputs: Int { state.withLock { $0.blockedNow } }
    /// Outputs sent and not yet acknowledged.
    var unacknowledged: Int { slots.count }

    /// From now on, no delivery acknowledges anything and nothing is retried (a crash, for tests
    /// and fatal errors: the inputs are redelivered to the partitions' next owner).
    func abandon() {
        abandoned.store(true, ordering: .releasing)
    }

    // MARK: - Sending (the scoring thread)

    /// Sends a prediction, keyed like its input, with the input's headers. `value` is taken by the
    /// slot; a recycled buffer (or an empty one) is left in it for the next prediction.
    func publishPrediction(_ value: inout [UInt8], for input: InboundRecord) {
        guard let (producer, generation) = currentProducer() else { return }
        let slot = OutputSlot(
            kind: .prediction, input: input, value: value, headers: input.message.headers,
            sequence: nextSequence.wrappingAdd(1, ordering: .relaxed).oldValue, generation: generation
        )
        send(slots.insert(slot, takingSpareInto: &value), slot, producer: producer, generation: generation)
    }

    /// Dead-letters an input: its original key, value, headers and timestamp, plus the context
    /// headers of ``DeadLetterHeaders``.
    func deadLetter(_ input: InboundRecord, reason: DeadLetterReason, message text: String, model: (name: String, version: String)?) {
        guard let (producer, generation) = currentProducer() else { return }
        let message = input.message
        let original = message.headers
        let context = deadLetterHeaders.headers(
            original: [],
            partition: message.topicPartition,
            offset: message.offset,
            reason: reason, message: text,
            modelName: model?.name, modelVersion: model?.version
        )
        let details = OutputSlot.DeadLetter(
            reason: reason, key: message.key, originalHeaders: original, contextHeaders: context,
            timestampMilliseconds: message.timestamp?.milliseconds
        )
        let slot = OutputSlot(
            kind: .deadLetter(details), input: input, value: message.value,
            headers: original + context,
            sequence: nextSequence.wrappingAdd(1, ordering: .relaxed).oldValue, generation: generation
        )
        send(slots.insert(slot), slot, producer: producer, generation: generation)
    }

    /// Publishes a drift report to the drift topic, keyed by model name (best effort: a report that
    /// cannot be written is logged, and the next window's report follows).
    func publishDrift(_ report: DriftReport) {
        publishReport({ try report.jsonData() }, modelName: report.modelName, topic: configuration.driftTopic, context: Self.driftContext, kind: "drift")
    }

    /// Publishes a quality report to the quality topic, keyed by model name, like drift reports
    /// (best effort: a report that cannot be written is logged and counted).
    ///
    /// - Returns: whether it was handed to the producer.
    @discardableResult
    func publishQuality(_ report: QualityReport) -> Bool {
        publishReport({ try report.jsonData() }, modelName: report.modelName, topic: configuration.qualityTopic, context: Self.qualityContext, kind: "quality")
    }

    /// Hands a report (drift, quality) keyed by its model's name to the current producer, none while
    /// one is being recreated: a side record, no slot, no retry; a failure is logged.
    ///
    /// - Returns: whether it was handed over (false also when `topic` is nil: the kind is off).
    @discardableResult
    private func publishReport(_ json: () throws -> Data, modelName: String, topic: String?, context: UInt64, kind: String) -> Bool {
        guard let topic, let producer = state.withLock({ $0.recovering ? nil : $0.producer }) else { return false }
        do {
            let value = Array(try json())
            try Array(modelName.utf8).withUnsafeBytes { key in
                try producer.send(topic: topic, partition: nil, key: key, value: value, context: context)
            }
            return true
        } catch {
            logger.warning("\(kind) report not sent", metadata: ["kafka.topic": "\(topic)", "error": "\(error)"])
            return false
        }
    }

    /// Publishes a labelled example to the training-examples topic (best effort, like reports).
    ///
    /// - Returns: whether it was handed to the producer.
    @discardableResult
    func publishTrainingExample(key: [UInt8]?, value: [UInt8]) -> Bool {
        guard let topic = configuration.trainingExamplesTopic, let producer = state.withLock({ $0.recovering ? nil : $0.producer }) else { return false }
        do {
            try producer.send(KafkaProducerMessage(topic: topic, key: key, value: value), context: Self.trainingContext)
            return true
        } catch {
            logger.debug("training example not sent", metadata: ["kafka.topic": "\(topic)", "error": "\(error)"])
            return false
        }
    }

    /// Publishes a shadow candidate's prediction of `input` to the shadow topic, keyed and headed
    /// like the input. A side record, like a drift report: no slot, no ticket, no retry, so it never
    /// holds back an acknowledgement, a commit, a dead letter or the order of the primary outputs.
    /// Never waits: a full queue drops it (counted in ``PipelineCounters/Snapshot/shadowPredictionsDropped``).
    func publishShadow(_ value: [UInt8], for input: InboundRecord) {
        guard let topic = configuration.shadowTopic else { return }
        guard let producer = state.withLock({ $0.recovering || $0.stopping ? nil : $0.producer }) else {
            // A producer being recreated (or closing): not waited for.
            shadowNotWritten(topic: topic, reason: "the producer is being recreated or closed")
            return
        }
        do {
            try input.message.withKey { key in
                try producer.send(
                    topic: topic, partition: nil, key: key, value: value, headers: input.message.headers,
                    timestampMilliseconds: input.message.timestamp?.milliseconds, context: Self.driftContext
                )
            }
        } catch {
            shadowNotWritten(topic: topic, reason: "\(error)")
        }
    }

    /// Counts a shadow prediction that could not be written (dropped: it is evidence, not an
    /// output), and logs it at most every 30 s.
    private func shadowNotWritten(topic: String, reason: String) {
        counters.update { $0.shadowPredictionsDropped += 1 }
        let now = ContinuousClock.now
        let log = shadowLogged.withLock { last -> Bool in
            if let last, last.duration(to: now) < .seconds(30) { return false }
            last = now
            return true
        }
        if log {
            logger.warning("shadow predictions not written (dropped; the primary path is not affected)", metadata: [
                "kafka.topic": "\(topic)", "error": "\(reason)", "shadow.dropped": "\(counters.snapshot.shadowPredictionsDropped)",
            ])
        }
    }

    private func topic(of slot: OutputSlot) -> String {
        slot.isDeadLetter ? configuration.deadLetterTopic : configuration.outputTopic
    }

    /// The producer to send with, waiting while one is being recovered; nil when stopping.
    private func currentProducer() -> (producer: KafkaProducer, generation: UInt64)? {
        while true {
            let current = state.withLock { state -> (KafkaProducer, UInt64)?? in
                if state.stopping { return .some(nil) }
                if state.recovering { return nil }
                return state.producer.map { ($0, state.generation) }
            }
            if let current { return current }
            if abandoned.load(ordering: .acquiring) { return nil }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// Sends a newly registered output with the producer of `generation`. If a recovery began
    /// meanwhile, its snapshot may have missed the output: ``transmit(_:retryOf:)`` then waits for
    /// the new producer and sends it unless the recovery did.
    private func send(_ id: UInt64, _ slot: OutputSlot, producer: KafkaProducer, generation: UInt64) {
        guard self.generation.load(ordering: .acquiring) == generation else { return transmit(id) }
        send(id, slot, with: producer, generation: generation)
    }

    /// Hands output `id` to the current producer: again, when `retryOf` names the generation whose
    /// retry this is; else once per generation (recovery may have sent it already).
    private func transmit(_ id: UInt64, retryOf retryGeneration: UInt64? = nil) {
        guard let (producer, generation) = currentProducer() else { return }
        var claimed = false
        guard let slot = slots.update(id, { slot in
            if let retryGeneration {
                claimed = slot.generation == retryGeneration && retryGeneration == generation
            } else {
                claimed = slot.generation < generation
            }
            if claimed { slot.generation = generation }
        }), claimed else { return }
        guard isCurrent(slot.input.ticket) else { return discard(id) }
        send(id, slot, with: producer, generation: generation)
    }

    /// Waits out a full local queue (back-pressure); any other error goes to ``failed(_:error:producer:generation:)``.
    private func send(_ id: UInt64, _ slot: OutputSlot, with producer: KafkaProducer, generation: UInt64) {
        while true {
            do {
                try withKey(of: slot) { key in
                    try producer.send(
                        topic: topic(of: slot), partition: nil, key: key, value: slot.value, headers: slot.headers,
                        timestampMilliseconds: slot.timestampMilliseconds, context: id
                    )
                }
                return
            } catch let error as KafkaError where error.code == .queueFull {
                if abandoned.load(ordering: .acquiring) || state.withLock({ $0.stopping }) { return }
                Thread.sleep(forTimeInterval: 0.001)
            } catch {
                failed(id, error: error as? KafkaError ?? KafkaError(code: .closed, message: "\(error)"), producer: producer, generation: generation)
                return
            }
        }
    }

    private func withKey(of slot: OutputSlot, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        if case .deadLetter(let details) = slot.kind {
            guard let key = details.key else { return try body(nil) }
            return try key.withUnsafeBytes { try body($0) }
        }
        try slot.input.message.withKey(body)
    }

    // MARK: - Delivery reports (the producer's thread)

    private func delivered(_ report: KafkaDeliveryReport, generation: UInt64) {
        if report.context == Self.trainingContext {
            trainingDelivered(report.error == nil)
            return
        }
        if report.context == Self.qualityContext {
            if let error = report.error {
                logger.warning("quality report not written", metadata: ["kafka.topic": "\(report.topic)", "error": "\(error)"])
            }
            qualityDelivered(report.error == nil)
            return
        }
        guard let error = report.error else {
            // The delivered output's buffer is kept for the scoring thread to encode into again.
            guard let slot = slots.remove(report.context, recycling: { slot -> [UInt8]? in
                guard case .prediction = slot.kind else { return nil }
                defer { slot.value = nil }
                return slot.value
            }) else { return }
            if slot.isBlocked || failing.load(ordering: .relaxed) {
                state.withLock { state in
                    if slot.isBlocked { state.blockedNow -= 1 }
                    if generation == state.generation, !state.recovering {
                        state.failingSince = nil
                        state.recoveriesWithoutDelivery = 0
                        failing.store(false, ordering: .relaxed)
                    }
                }
            }
            if abandoned.load(ordering: .acquiring) { return }
            switch slot.kind {
            case .prediction:
                let latency = slot.input.message.timestamp.map { timestamp in
                    Int64(Date().timeIntervalSince1970 * 1_000_000) - timestamp.milliseconds * 1000
                }
                counters.predicted(endToEndMicroseconds: latency)
            case .deadLetter(let details):
                counters.deadLettered(reason: details.reason.code)
            }
            acknowledge(slot.input.ticket, slot.offset)
            return
        }
        if report.context == Self.driftContext, report.topic == configuration.shadowTopic {
            shadowNotWritten(topic: report.topic, reason: "\(error)")
            return
        }
        if report.context == Self.driftContext {
            logger.warning("drift report not written", metadata: ["kafka.topic": "\(report.topic)", "error": "\(error)"])
            return
        }
        // A retired producer's failures are not acted on: recovery sent its outputs again.
        guard let producer = state.withLock({ state in state.generation == generation && !state.recovering ? state.producer : nil }) else { return }
        failed(report.context, error: error, producer: producer, generation: generation)
    }

    // MARK: - Failures

    /// What a failed write says, read off the Kafka error and the producer's state.
    static func classify(_ error: KafkaError, producerIsFatal: Bool) -> OutputFailure {
        if error.code == .closed { return .stopping }
        // A fenced or otherwise fatal producer: librdkafka 2.16 against Tansu keeps bumping the
        // epoch of a fenced idempotent producer without ever raising a fatal error, so PRODUCER_FENCED
        // counts as fatal (KafkaError.isFatal), and only a new instance gets through.
        if error.isFatal || producerIsFatal { return .producerFatal }
        // Too large, invalid, corrupt: about this record, not the topic.
        if error.isAboutTheMessage { return .recordRejected }
        guard let code = error.code.librdkafkaCode else { return .transient }
        switch code {
        case 3, -188, 29, 31, 17:
            // UNKNOWN_TOPIC_OR_PART, _UNKNOWN_TOPIC, TOPIC_AUTHORIZATION_FAILED,
            // CLUSTER_AUTHORIZATION_FAILED, INVALID_TOPIC_EXCEPTION: about the topic.
            return .topicUnavailable
        case -152, -151:
            // _PURGE_QUEUE, _PURGE_INFLIGHT: purged by a close (a fatal producer is caught above).
            return .stopping
        default:
            return .transient
        }
    }

    /// What about the record a refusal (an error ``classify(_:producerIsFatal:)`` calls
    /// ``OutputFailure/recordRejected``) is about.
    static func refusal(_ error: KafkaError) -> RecordRefusal {
        switch error.code {
        case .messageTooLarge, .recordListTooLarge: return .tooLarge
        case .invalidTimestamp: return .invalidTimestamp
        default: return .invalid // CORRUPT_MESSAGE, INVALID_RECORD, _BAD_MSG, serialization
        }
    }

    private func failed(_ id: UInt64, error: KafkaError, producer: KafkaProducer, generation: UInt64) {
        if abandoned.load(ordering: .acquiring) {
            _ = slots.remove(id)
            return
        }
        guard let slot = slots.get(id) else { return }
        let failure = Self.classify(error, producerIsFatal: producer.isFatal)
        var form: DeadLetterForm?
        if case .deadLetter(let details) = slot.kind { form = details.form }
        var generator = SystemRandomNumberGenerator()
        let disposition = policy.disposition(
            for: failure, deadLetter: form, refusal: Self.refusal(error), attempt: Int(slot.attempt) + 1, using: &generator
        )
        // Whatever would follow for this output (a retry, a rewrite, a dead letter of its input),
        // its partition's next owner does it instead. A fatal producer is still recreated (for the
        // other outputs), and a stop still abandons.
        if disposition != .recreateProducer, disposition != .abandon, !isCurrent(slot.input.ticket) {
            return discard(id)
        }
        switch disposition {
        case .abandon:
            // Stopping: leave the input unacknowledged; it is redelivered after the restart.
            _ = removeSlot(id)
        case .recreateProducer:
            recover(generation: generation, cause: error)
        case .deadLetterInput:
            guard let slot = removeSlot(id) else { return }
            logger.warning("prediction cannot be written; dead-lettering its input", metadata: [
                "kafka.topic": "\(configuration.outputTopic)", "error": "\(error)",
            ])
            deadLetter(slot.input, reason: .outputProduceFailure, message: error.description, model: nil)
        case .truncate, .replaceTimestamp, .writeMinimal:
            rewrite(id, disposition, error: error)
        case .dropDeadLetter:
            drop(id, error: error)
        case .retry(let delay, let blocked):
            let newlyBlocked = blocked && !slot.isBlocked
            guard let updated = slots.update(id, { slot in
                slot.attempt += 1
                if blocked { slot.isBlocked = true }
            }) else { return }
            counters.update {
                $0.retried += 1
                if newlyBlocked { $0.blocked += 1 }
            }
            if newlyBlocked { reportBlocked(topic: topic(of: updated), error: error) }
            let retryGeneration = updated.generation
            retryQueue.asyncAfter(deadline: .now() + delay.doubleSeconds) { [self] in
                transmit(id, retryOf: retryGeneration)
            }
        }
    }

    private func reportBlocked(topic: String, error: KafkaError) {
        let now = ContinuousClock.now
        let log = state.withLock { state -> Bool in
            state.blockedNow += 1
            if let last = state.blockedLogged[topic], last.duration(to: now) < .seconds(30) { return false }
            state.blockedLogged[topic] = now
            return true
        }
        guard log else { return }
        logger.error("outputs cannot be written to their topic; its input partitions stop advancing until they can", metadata: [
            "kafka.topic": "\(topic)", "error": "\(error)",
            "fix": "create the topic (or run with --create-topics true) and make sure the worker may write to it",
        ])
    }

    /// A dead letter refused for something about the record: write it again with the current time
    /// (`.replaceTimestamp`), cut to the next budget (`.truncate`: the producer's `message.max.bytes`
    /// first, a quarter of the previous one on every further refusal) or in its minimal form
    /// (`.writeMinimal`: budget 0). The attempt is scheduled on the retry queue rather than made
    /// here: a synchronous refusal (`rd_kafka_producev`) would otherwise recurse through
    /// ``failed(_:error:producer:generation:)`` on the same stack.
    private func rewrite(_ id: UInt64, _ step: OutputDisposition, error: KafkaError) {
        var budget = 0
        var firstCut = false
        guard let slot = slots.update(id, { slot in
            guard case .deadLetter(var details) = slot.kind else { return }
            let input = slot.input.message
            if step == .replaceTimestamp {
                details.form.timestampReplaced = true
                var added = [KafkaHeader(key: DeadLetterHeaders.InferenceKey.timestampReplaced, string: "true")]
                if let original = input.timestamp?.milliseconds {
                    added.append(KafkaHeader(key: DeadLetterHeaders.InferenceKey.timestampOriginal, string: String(original)))
                }
                // The context headers survive any later cut; the headers written get them now.
                details.contextHeaders += added
                slot.headers += added
                details.timestampMilliseconds = nil // the producer's time
            } else {
                firstCut = details.form.truncationBudget == nil && !details.form.isMinimal
                if step == .truncate {
                    budget = details.form.truncationBudget.map { $0 / 4 } ?? configuration.maxMessageBytes
                    // A budget the refused record already fits cannot help (the broker's or the
                    // topic's limit is below the client's): halve what was refused instead.
                    let refused = Self.size(of: slot, key: details.key)
                    if refused <= budget { budget = refused / 2 }
                }
                // Nothing of the record itself would be left: that is the minimal form.
                if step == .writeMinimal || budget <= DeadLetterTruncation.reservedBytes {
                    budget = 0
                    details.form.isMinimal = true
                }
                details.form.truncationBudget = budget
                let cut = DeadLetterTruncation(
                    key: input.key, value: input.value, originalHeaders: details.originalHeaders, contextHeaders: details.contextHeaders, budget: budget
                )
                details.key = cut.key
                slot.value = cut.value
                slot.headers = cut.headers
            }
            slot.kind = .deadLetter(details)
            slot.attempt += 1
        }) else { return }
        if firstCut { counters.update { $0.truncatedDeadLetters += 1 } }
        var metadata: Logger.Metadata = [
            "kafka.topic": "\(configuration.deadLetterTopic)", "error": "\(error)",
            "input": "\(slot.input.message.topicPartition)@\(slot.offset.rawValue)",
        ]
        switch step {
        case .replaceTimestamp:
            logger.warning("dead letter refused for its timestamp; writing it with the current time", metadata: metadata)
        case .truncate where budget > 0:
            metadata["bytes.budget"] = "\(budget)"
            metadata["bytes.value"] = "\(slot.input.message.valueLength)"
            logger.warning("dead letter refused as too large; writing it truncated", metadata: metadata)
        default:
            logger.warning("dead letter refused as it is; writing it without the input's key, value and headers", metadata: metadata)
        }
        let retryGeneration = slot.generation
        retryQueue.async { [self] in transmit(id, retryOf: retryGeneration) }
    }

    /// Bytes of key, value and headers as sent (header framing counted as 8 bytes each, like
    /// ``DeadLetterTruncation``).
    private static func size(of slot: OutputSlot, key: [UInt8]?) -> Int {
        (key?.count ?? 0) + (slot.value?.count ?? 0) + slot.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 8 }
    }

    /// A dead letter refused even in its minimal form, for a reason about the record: nothing can be
    /// written. Give it up and acknowledge its input, so that the partition moves on (counted in
    /// ``PipelineCounters/Snapshot/droppedDeadLetters``; logged with the input's coordinates).
    private func drop(_ id: UInt64, error: KafkaError) {
        guard let slot = removeSlot(id) else { return }
        counters.update { $0.droppedDeadLetters += 1 }
        var reason = "unknown"
        if case .deadLetter(let details) = slot.kind { reason = details.reason.code }
        let input = slot.input.message
        logger.error("dead letter cannot be written in any form; giving it up and committing past its input", metadata: [
            "kafka.topic": "\(configuration.deadLetterTopic)", "error": "\(error)",
            "input.topic": "\(input.topicPartition.topic)", "input.partition": "\(input.topicPartition.partition.rawValue)",
            "input.offset": "\(input.offset.rawValue)", "dead_letter.reason": "\(reason)",
        ])
        if abandoned.load(ordering: .acquiring) { return }
        acknowledge(slot.input.ticket, slot.offset)
    }

    /// Forgets output `id` without acknowledging its input: its partition was revoked or lost
    /// since the input was read, and the next owner reads the input again (see the type's documentation).
    private func discard(_ id: UInt64) {
        guard removeSlot(id) != nil else { return }
        counters.update { $0.discardedOutputs += 1 }
    }

    /// Removes output `id` without a delivery (abandoned, dead-lettered instead, given up,
    /// discarded), keeping the count of blocked outputs right.
    private func removeSlot(_ id: UInt64) -> OutputSlot? {
        guard let slot = slots.remove(id) else { return nil }
        if slot.isBlocked { state.withLock { $0.blockedNow -= 1 } }
        return slot
    }

    // MARK: - Producer recovery

    /// Retires the producer of `generation`, which failed fatally, and starts recovery (once per
    /// generation).
    private func recover(generation: UInt64, cause: KafkaError) {
        let now = ContinuousClock.now
        let start = state.withLock { state -> (generation: UInt64, retired: KafkaProducer)? in
            guard !state.stopping, !state.recovering, state.generation == generation, let failedProducer = state.producer else { return nil }
            state.recovering = true
            state.generation += 1
            self.generation.store(state.generation, ordering: .releasing)
            failing.store(true, ordering: .relaxed)
            state.retired.append(failedProducer)
            state.producer = nil
            if state.failingSince == nil { state.failingSince = now }
            state.recoveriesWithoutDelivery += 1
            return (state.generation, failedProducer)
        }
        guard let (newGeneration, retiring) = start else { return }
        counters.update { $0.producerRecoveries += 1 }
        logger.error("producer failed fatally; recreating it and sending every unacknowledged output again", metadata: [
            "error": "\(cause)", "producer.generation": "\(newGeneration)", "outputs.unacknowledged": "\(slots.count)",
        ])
        Task { _ = await retiring.close(flushTimeout: .zero) }
        let thread = Thread { [self] in runRecovery(generation: newGeneration, cause: cause) }
        thread.name = "producer-recovery"
        thread.start()
    }

    private func runRecovery(generation: UInt64, cause: KafkaError) {
        // Back-off before the second and later recreations in a row (100 ms, doubling, at most 10 s).
        let recoveries = state.withLock { $0.recoveriesWithoutDelivery }
        if recoveries > 1 {
            var generator = SystemRandomNumberGenerator()
            Thread.sleep(forTimeInterval: policy.backoff(attempt: recoveries - 1, using: &generator).doubleSeconds)
        }
        while true {
            let (stopping, failingSince) = state.withLock { ($0.stopping, $0.failingSince) }
            if stopping || abandoned.load(ordering: .acquiring) { return }
            if let failingSince, failingSince.duration(to: .now) > configuration.recoveryTimeout {
                logger.critical("the producer could not be recovered in time; stopping without committing", metadata: [
                    "error": "\(cause)", "recovery.timeout": "\(configuration.recoveryTimeout)",
                ])
                giveUp(cause)
                return
            }
            let producer: KafkaProducer
            do {
                producer = try makeProducer(generation: generation)
            } catch {
                logger.error("recreating the producer failed; trying again", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            // Every unacknowledged output, in the order it was first sent, claimed for the new
            // generation (a send racing with this finds it claimed and leaves it to us).
            let pending = state.withLock { state -> [(id: UInt64, slot: OutputSlot)]? in
                // Closed meanwhile: `close` did not see this producer, so it is closed here.
                if state.stopping { return nil }
                state.producer = producer
                return slots.live().sorted { $0.slot.sequence < $1.slot.sequence }
            }
            guard let pending else {
                Task { _ = await producer.close(flushTimeout: .zero) }
                return
            }
            var resent = 0
            var discarded = 0
            var failures: [(UInt64, KafkaError)] = []
            for (id, _) in pending {
                guard let slot = slots.update(id, { $0.generation = generation }) else { continue }
                guard isCurrent(slot.input.ticket) else {
                    discard(id)
                    discarded += 1
                    continue
                }
                while true {
                    do {
                        try withKey(of: slot) { key in
                            try producer.send(
                                topic: topic(of: slot), partition: nil, key: key, value: slot.value, headers: slot.headers,
                                timestampMilliseconds: slot.timestampMilliseconds, context: id
                            )
                        }
                        resent += 1
                    } catch let error as KafkaError where error.code == .queueFull {
                        if abandoned.load(ordering: .acquiring) || state.withLock({ $0.stopping }) { return }
                        Thread.sleep(forTimeInterval: 0.001)
                        continue
                    } catch {
                        failures.append((id, error as? KafkaError ?? KafkaError(code: .closed, message: "\(error)")))
                    }
                    break
                }
            }
            state.withLock { $0.recovering = false }
            counters.update { $0.resent += resent }
            logger.warning("producer recreated; unacknowledged outputs sent again (duplicates possible)", metadata: [
                "producer.generation": "\(generation)", "outputs.resent": "\(resent)",
                "outputs.discarded": "\(discarded)", // of revoked or lost partitions: their next owner reads them again
            ])
            for (id, error) in failures { failed(id, error: error, producer: producer, generation: generation) }
            return
        }
    }

    // MARK: - Closing

    /// Stops sending, flushes for at most `flushTimeout`, and returns the number of outputs still
    /// unacknowledged. Retired producers are closed too.
    func close(flushTimeout: Duration) async -> Int {
        let (producer, retired) = state.withLock { state in
            state.stopping = true
            defer { state.retired = [] }
            return (state.producer, state.retired)
        }
        for old in retired { _ = await old.close(flushTimeout: .zero) }
        _ = await producer?.close(flushTimeout: flushTimeout)
        // The producer's handlers hold this publisher: let go of it, so that both can be released
        // (and librdkafka's client destroyed before the process exits).
        state.withLock { $0.producer = nil }
        return slots.count
    }
}

extension DeadLetterReason {
    /// The prediction could not be written to the output topic (the broker or the client refused
    /// the record itself, e.g. larger than the topic allows).
    static let outputProduceFailure = DeadLetterReason(
        code: "output_produce_failure", stage: "PRODUCE", className: "InferenceWorker.OutputPublisher", exceptionClassName: "Kafka.KafkaError"
    )
}
