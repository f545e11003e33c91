import Foundation
public import InferenceCore
public import Kafka
public import Logging
import Synchronization

/// consume -> decode and validate -> micro-batch -> infer -> publish -> store offset.
///
/// Threads: the consumer's poll thread dispatches records (and runs rebalance hooks); one
/// inference thread of the pipeline's own decodes, batches, runs the model and sends outputs;
/// the producer's delivery thread acknowledges outcomes. Nothing blocks Swift's cooperative pool.
///
/// Guarantees:
/// - at-least-once: an input's offset is stored only after its prediction or dead letter is
///   acknowledged by the broker, and never past a record still in flight (``PartitionLedger``);
/// - order: one inference thread handles records in arrival order, so outputs for one input
///   partition are sent in input order (and keep the input's key);
/// - a bad record is dead-lettered alone; a transient produce failure is retried with back-off;
///   a dead letter that cannot be written is retried forever, holding its partition back;
/// - in flight is bounded by count and bytes: at the maximum the consumer stops handing over
///   records of every assigned partition (librdkafka's prefetch, bounded per partition, waits).
public final class InferencePipeline: Sendable {
    public let configuration: WorkerConfiguration
    public let models: any ModelSource
    public let counters: PipelineCounters
    private let logger: Logger
    private let clock = ContinuousClock()

    private let queue = WorkQueue()
    private let slots = OutputSlots<OutputSlot>()
    /// Resolved once: an output's topic follows from its kind (``OutputSlot`` does not store it).
    private let outputTopic: String
    private let deadLetterTopic: String
    private let deadLetterHeaders: DeadLetterHeaders
    private let policy = DeadLetterPolicy()

    private struct Runtime: ~Copyable {
        var consumer: KafkaConsumer?
        var producer: KafkaProducer?
        var ledger: PartitionLedger?
        var shuttingDown = false
        var shutdownRequested = false
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
        var inferenceDone: [CheckedContinuation<Void, Never>] = []
        var inferenceFinished = false
        var latestStatistics: KafkaStatistics?
        var latestDriftReport: DriftReport?
        var lastStore = ContinuousClock.now
        /// Set by the first assignment event, even an empty one (more replicas than partitions).
        var joinedGroup = false
    }
    private let runtime = Mutex(Runtime())
    /// Set once by ``abandon()`` and never cleared; an atomic rather than a field of `runtime`
    /// because the delivery thread reads it for every acknowledgement.
    private let abandoned = Atomic<Bool>(false)

    public init(configuration: WorkerConfiguration, models: any ModelSource, logger: Logger, counters: PipelineCounters = PipelineCounters()) {
        self.configuration = configuration
        self.models = models
        self.logger = logger
        self.counters = counters
        deadLetterHeaders = DeadLetterHeaders(workerID: configuration.workerID)
        outputTopic = configuration.outputTopic
        deadLetterTopic = configuration.effectiveDeadLetterTopic
    }

    // MARK: - Lifecycle

    /// Runs until ``requestShutdown()``, then drains and stops: stop fetching, finish in-flight work
    /// within `drainTimeout`, commit, leave the group, flush the producer.
    public func run() async throws {
        try start()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.models.watch() }
            group.addTask { await self.waitForShutdownRequest() }
            _ = try await group.next()
            group.cancelAll()
        }
        await drainAndStop()
    }

    /// Asks ``run()`` to drain and return. Safe from any thread, any number of times.
    public func requestShutdown() {
        let waiters = runtime.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.shutdownRequested = true
            defer { state.shutdownWaiters = [] }
            return state.shutdownWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Stops *without* draining or committing anything more, as a crash would (records in flight
    /// are redelivered to whoever owns their partitions next). For tests and fatal errors.
    public func abandon() async {
        abandoned.store(true, ordering: .releasing)
        requestShutdown()
    }

    /// The latest librdkafka statistics (per-partition lag), if enabled.
    public var latestStatistics: KafkaStatistics? { runtime.withLock { $0.latestStatistics } }
    /// The last drift report this worker published.
    public var latestDriftReport: DriftReport? { runtime.withLock { $0.latestDriftReport } }
    /// Partitions currently assigned to this worker.
    public var assignedPartitions: [KafkaTopicPartition] { runtime.withLock { $0.ledger }?.assigned ?? [] }
    /// Records consumed and not yet acknowledged.
    public var inFlight: (records: Int, bytes: Int) { runtime.withLock { $0.ledger }?.inFlight ?? (0, 0) }
    /// Whether back-pressure has paused the assigned partitions.
    public var isPaused: Bool { runtime.withLock { $0.ledger }?.isPaused ?? false }
    /// Whether a shutdown was requested or is under way (readiness turns false at once).
    public var isShuttingDown: Bool { runtime.withLock { $0.shutdownRequested || $0.shuttingDown } }
    /// Whether the producer exists and is not being closed.
    public var isProducerUp: Bool { runtime.withLock { $0.producer != nil && !$0.shuttingDown } }
    /// Whether this member has received an assignment from the group (possibly empty: a replica
    /// beyond the partition count is a healthy idle member).
    public var hasJoinedGroup: Bool { runtime.withLock { $0.joinedGroup } }

    private func waitForShutdownRequest() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = runtime.withLock { state -> Bool in
                if state.shutdownRequested { return true }
                state.shutdownWaiters.append(continuation)
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

        // The ledger pauses and resumes through the consumer, which needs the ledger's handler:
        // the consumer is read from `runtime` when a flow decision is applied.
        let ledger = PartitionLedger(
            flow: FlowControl(maxRecords: configuration.maxInFlightRecords, maxBytes: configuration.maxInFlightBytes, resumeFraction: configuration.resumeFraction)
        ) { [self] action, partitions in
            applyFlow(action, partitions)
        }
        // The ledger never changes after this point, so the delivery handler captures it rather
        // than reading it from `runtime` (a lock) for every report.
        let producer = try KafkaProducer(configuration: configuration.producerConfiguration, logger: logger) { [self] report in
            delivered(report, ledger: ledger)
        }
        runtime.withLock {
            $0.producer = producer
            $0.ledger = ledger
        }
        let consumer = try KafkaConsumer(configuration: configuration.consumerConfiguration, logger: logger) { [self] event in
            handle(event, ledger: ledger)
        }
        runtime.withLock { $0.consumer = consumer }
        let thread = Thread { [self] in inferenceLoop(ledger: ledger, producer: producer) }
        thread.name = "inference"
        thread.start()
    }

    private func drainAndStop() async {
        let (consumer, producer) = runtime.withLock { state in
            state.shuttingDown = true
            return (state.consumer, state.producer)
        }
        let abandoned = self.abandoned.load(ordering: .acquiring)
        logger.info("shutting down", metadata: ["worker.abandon": "\(abandoned)"])
        // Leaving the group revokes every partition through the revoke hook, which drains
        // in-flight work (bounded by drainTimeout) and commits.
        await consumer?.close()
        queue.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = runtime.withLock { state -> Bool in
                if state.inferenceFinished { return true }
                state.inferenceDone.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
        let unacknowledged = await producer?.close(flushTimeout: abandoned ? .zero : .seconds(5)) ?? 0
        logger.info("stopped", metadata: ["kafka.unacknowledged": "\(unacknowledged)"])
    }

    // MARK: - Consumer events (poll thread)

    private func handle(_ event: KafkaConsumerEvent, ledger: PartitionLedger) {
        switch event {
        case .messages(let batch):
            let tickets = ledger.dispatch(batch)
            let consumedAt = DispatchTime.now().uptimeNanoseconds
            var records: [InboundRecord] = []
            records.reserveCapacity(batch.count)
            for (message, ticket) in zip(batch, tickets) {
                if let ticket { records.append(InboundRecord(message: message, ticket: ticket, consumedAtNanoseconds: consumedAt)) }
            }
            counters.update { $0.consumed += records.count }
            queue.append(contentsOf: records)
        case .assigned(let partitions):
            counters.update { $0.rebalances += 1 }
            runtime.withLock { $0.joinedGroup = true }
            ledger.assign(partitions)
        case .revoking(let partitions):
            revoke(partitions, ledger: ledger)
        case .lost(let partitions):
            counters.update { $0.rebalances += 1 }
            ledger.release(partitions)
        case .statistics(let statistics):
            runtime.withLock { $0.latestStatistics = statistics }
        case .error(let error):
            if error.isFatal {
                logger.error("fatal consumer error: stopping", metadata: ["error": "\(error)"])
                requestShutdown()
            } else {
                logger.debug("consumer error", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The revoke hook: finish what can finish within the bound, commit what is acknowledged,
    /// release. Abandoned records are redelivered to the partitions' next owner.
    private func revoke(_ partitions: [KafkaTopicPartition], ledger: PartitionLedger) {
        counters.update { $0.rebalances += 1 }
        let (consumer, shuttingDown) = runtime.withLock { ($0.consumer, $0.shuttingDown) }
        if abandoned.load(ordering: .acquiring) {
            ledger.release(partitions)
            return
        }
        let timeout = shuttingDown ? configuration.drainTimeout : configuration.revokeTimeout
        let remaining = ledger.waitUntilDrained(partitions, deadline: Date(timeIntervalSinceNow: timeout.doubleSeconds))
        if remaining > 0 {
            logger.warning("abandoning in-flight records of revoked partitions; they will be redelivered", metadata: [
                "kafka.partitions": "\(partitions)", "records": "\(remaining)",
            ])
        }
        let final = ledger.release(partitions)
        guard let consumer else { return }
        do {
            try consumer.storeOffsets(final)
            try consumer.commitStored()
        } catch {
            counters.update { $0.commitFailures += 1 }
            logger.warning("commit on revocation failed", metadata: ["error": "\(error)"])
        }
    }

    private func applyFlow(_ action: FlowControl.Action, _ partitions: [KafkaTopicPartition]) {
        guard let consumer = runtime.withLock({ $0.consumer }), !partitions.isEmpty else { return }
        // Suspending delivery rather than pausing the fetch keeps librdkafka's prefetched records
        // (bounded per partition), so resuming is immediate: a librdkafka pause/resume cycle left
        // the fetcher idle for about a second each time (docs/performance.md).
        switch action {
        case .pause:
            counters.update { $0.pauses += 1 }
            consumer.suspendDelivery(of: partitions)
        case .resume:
            consumer.resumeDelivery(of: partitions)
        case .none:
            break
        }
    }

    // MARK: - Inference (the pipeline's thread)

    /// A record whose features are encoded in the open batch's matrix.
    private struct PendingRow {
        var input: InboundRecord
        var requestID: String?
    }

    private func inferenceLoop(ledger: PartitionLedger, producer: KafkaProducer) {
        var batcher: MicroBatcher<PendingRow, ContinuousClock.Instant>
        do {
            batcher = try MicroBatcher(configuration: MicroBatcherConfiguration(
                maxBatchSize: configuration.maxBatchSize,
                maxDelay: configuration.maxBatchDelay,
                adaptive: configuration.adaptiveBatching ? .init(latencyObjective: configuration.latencyObjective, initialBatchSize: 8) : nil
            ))
        } catch {
            logger.critical("invalid batching configuration", metadata: ["error": "\(error)"])
            finishInference()
            return
        }
        var serving: ServingModel?
        var batchModel: ServingModel?
        var drift: DriftMonitor?
        var matrix: [Float] = []
        var outputs: [Float] = []
        var rawValues: [RawFeatureValue] = []
        var encodeBuffer: [UInt8] = []
        var currentTickets = PartitionLedger.CurrentTicketCache()

        func currentModel() -> ServingModel? {
            guard let model = models.current else { return nil }
            if let serving, serving.version == model.version, serving.name == model.name { return serving }
            do {
                serving = try ServingModel(model, maxPayloadBytes: configuration.maxPayloadBytes)
                logger.info("model in service", metadata: ["model.name": "\(model.name)", "model.version": "\(model.version)"])
                // Drift is judged per model version: the old version's open window is reported now.
                if configuration.driftTopic != nil {
                    if let report = drift?.flush(now: Date()) { publishDrift(report, producer: producer) }
                    drift = DriftMonitor(model: model, configuration: driftConfiguration, workerID: configuration.workerID, now: Date())
                }
            } catch {
                logger.error("model cannot serve", metadata: ["model.version": "\(model.version)", "error": "\(error)"])
            }
            return serving
        }

        func run(_ batch: MicroBatcher<PendingRow, ContinuousClock.Instant>.Batch) {
            guard let model = batchModel else { return }
            batchModel = nil
            let n = batch.elements.count
            let inWidth = model.model.schema.width
            let outWidth = model.model.kernel.outputWidth
            if outputs.count < n * outWidth { outputs = [Float](repeating: 0, count: n * outWidth) }
            let started = clock.now
            matrix.withUnsafeBufferPointer { input in
                outputs.withUnsafeMutableBufferPointer { output in
                    model.model.kernel.predict(
                        input: UnsafeBufferPointer(rebasing: input[0..<(n * inWidth)]), rowCount: n,
                        output: UnsafeMutableBufferPointer(rebasing: output[0..<(n * outWidth)])
                    )
                }
            }
            let finished = clock.now
            let modelLatency = started.duration(to: finished)
            counters.update {
                $0.batches += 1
                $0.batchedRecords += n
                $0.modelNanoseconds += modelLatency.nanoseconds
            }
            let processingTime = Int64(Date().timeIntervalSince1970 * 1000)
            for (i, row) in batch.elements.enumerated() {
                let message = row.input.message
                switch model.model.output.interpret(outputs[(i * outWidth)..<((i + 1) * outWidth)]) {
                case .success(let output):
                    if drift?.modelVersion == model.version { drift?.observe(output: output) }
                    let context = PredictionContext(
                        requestID: row.requestID,
                        source: TopicPartition(topic: message.topic, partition: message.partition.rawValue),
                        offset: RecordOffset(message.offset.rawValue),
                        eventTimeMilliseconds: message.timestamp?.milliseconds,
                        processingTimeMilliseconds: processingTime
                    )
                    model.encode(output, context: context, into: &encodeBuffer)
                    let slot = OutputSlot(kind: .prediction, input: row.input, value: encodeBuffer, headers: message.headers)
                    // The slot keeps this buffer; encode the next output into a recycled one.
                    let id = slots.insert(slot, takingSpareInto: &encodeBuffer)
                    transmit(id, slot, producer: producer)
                case .failure(let error):
                    deadLetter(row.input, reason: DeadLetterReason.outputValidationFailure.raised(by: "InferenceCore.OutputSchema", error), message: error.message, model: model, producer: producer)
                }
            }
            // Processing latency: consumed -> this batch's outputs handed to the producer (one clock
            // read per batch, after the last send: an upper bound for every row of the batch).
            let handedOver = DispatchTime.now().uptimeNanoseconds
            for i in batch.elements.indices {
                counters.processingLatency.record(microseconds: Int64(truncatingIfNeeded: handedOver &- batch.elements[i].input.consumedAtNanoseconds) / 1000)
            }
            if case .flush(let next) = batcher.recordCompletion(batchSize: n, queueingDelay: batch.queueingDelay, modelLatency: modelLatency, now: finished) {
                batchModel = model
                run(next)
            }
        }

        while true {
            let deadline: Date
            if let next = batcher.nextDeadline {
                deadline = Date(timeIntervalSinceNow: max(0, clock.now.duration(to: next).doubleSeconds))
            } else {
                deadline = Date(timeIntervalSinceNow: 0.1)
            }
            guard let records = queue.take(waitingUntil: deadline) else { break }
            // The batcher's clock is read once per 16 records (at most ~0.1 ms stale at ~5 µs per
            // record): its deadlines are milliseconds, and this is the serial thread.
            var now = clock.now
            records: for (index, record) in records.enumerated() {
                if index & 15 == 15 { now = clock.now }
                let message = record.message
                guard ledger.isCurrent(record.ticket, cache: &currentTickets) else {
                    continue // revoked or lost meanwhile: the next owner reads it again
                }
                var model = batchModel ?? currentModel()
                while model == nil {
                    // No servable model: keep the record in flight (back-pressure will pause) and
                    // wait; when stopping, leave it unacknowledged (it is redelivered).
                    if runtime.withLock({ $0.shuttingDown }) { break records }
                    Thread.sleep(forTimeInterval: 0.1)
                    model = currentModel()
                }
                let serving = model!
                if batchModel == nil {
                    batchModel = serving
                    let needed = configuration.maxBatchSize * serving.model.schema.width
                    if matrix.count < needed { matrix = [Float](repeating: 0, count: needed) }
                }
                // Decode and validate into the next row of the matrix.
                if message.valueLength > configuration.maxPayloadBytes {
                    deadLetter(record, reason: .oversizedPayload, message: "value of \(message.valueLength) bytes exceeds max-payload-bytes (\(configuration.maxPayloadBytes))", model: serving, producer: producer)
                    continue
                }
                let decoded: DecodedRequest
                let decoding = message.withValue { value -> Result<DecodedRequest, RequestDecodingError> in
                    guard let value else {
                        return .failure(RequestDecodingError(code: .malformedJSON, byteOffset: 0, message: "the record has a null value (a tombstone); a request must be a JSON object"))
                    }
                    return Result { () throws(RequestDecodingError) in try serving.decoder.decode(value, into: &rawValues) }
                }
                switch decoding {
                case .success(let request):
                    decoded = request
                case .failure(let error):
                    deadLetter(record, reason: (error.deadLetterReason ?? .malformedJSON).raised(by: "InferenceCore.RequestDecoder", error), message: error.description, model: serving, producer: producer)
                    continue
                }
                let row = batcher.pendingCount
                let width = serving.model.schema.width
                do {
                    try matrix.withUnsafeMutableBufferPointer { (m) throws(InputValidationError) in
                        try serving.model.schema.encode(row: rawValues, into: UnsafeMutableBufferPointer(rebasing: m[(row * width)..<((row + 1) * width)]))
                    }
                } catch {
                    deadLetter(record, reason: (error.deadLetterReason ?? .schemaViolation).raised(by: "InferenceCore.InputSchema", error), message: error.message, model: serving, producer: producer)
                    continue
                }
                drift?.observe(row: rawValues)
                if case .flush(let batch) = batcher.append(PendingRow(input: record, requestID: decoded.id), now: now) {
                    run(batch)
                }
            }
            if case .flush(let batch) = batcher.deadlineReached(now: clock.now) { run(batch) }
            if let report = drift?.takeReportIfDue(now: Date()) { publishDrift(report, producer: producer) }
            storeOffsets(ledger: ledger)
        }
        if let batch = batcher.drain(now: clock.now) { run(batch) }
        if let report = drift?.flush(now: Date()) { publishDrift(report, producer: producer) }
        finishInference()
    }

    private func finishInference() {
        let waiters = runtime.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.inferenceFinished = true
            defer { state.inferenceDone = [] }
            return state.inferenceDone
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Hands acknowledged progress to the consumer (committed on its timer), at most every 50 ms.
    private func storeOffsets(ledger: PartitionLedger) {
        let abandoned = self.abandoned.load(ordering: .acquiring)
        let (consumer, due) = runtime.withLock { state -> (KafkaConsumer?, Bool) in
            let now = ContinuousClock.now
            guard state.lastStore.duration(to: now) >= .milliseconds(50), !abandoned else { return (nil, false) }
            state.lastStore = now
            return (state.consumer, true)
        }
        guard due, let consumer else { return }
        let offsets = ledger.takeOffsetsToStore()
        guard !offsets.isEmpty else { return }
        do {
            try consumer.storeOffsets(offsets)
        } catch {
            logger.debug("storing offsets failed (partition revoked meanwhile?)", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Outputs

    private var driftConfiguration: DriftConfiguration {
        DriftConfiguration(windowRecordCount: configuration.driftWindowRecords, windowDuration: configuration.driftWindow)
    }

    /// Context of drift reports' delivery reports: they acknowledge no input.
    private static let driftContext: UInt64 = 0

    /// Publishes a drift report to the drift topic, keyed by model name (best effort: a report that
    /// cannot be written is logged, and the next window's report follows).
    private func publishDrift(_ report: DriftReport, producer: KafkaProducer) {
        runtime.withLock { $0.latestDriftReport = report }
        guard let topic = configuration.driftTopic else { return }
        logger.info("drift window closed", metadata: [
            "model.name": "\(report.modelName)", "model.version": "\(report.modelVersion)",
            "drift.level": "\(report.dataset.level.rawValue)", "drift.features": "\(report.dataset.driftedFeatures.joined(separator: ","))",
        ])
        do {
            let json = try report.jsonData()
            try Array(report.modelName.utf8).withUnsafeBytes { key in
                try producer.send(topic: topic, partition: nil, key: key, value: Array(json), context: Self.driftContext)
            }
        } catch {
            logger.warning("drift report not sent", metadata: ["error": "\(error)"])
        }
    }

    private func deadLetter(_ record: InboundRecord, reason: DeadLetterReason, message: String, model: ServingModel?, producer: KafkaProducer) {
        let input = record.message
        let original = input.headers
        let headers = deadLetterHeaders.headers(
            original: original.map { RecordHeader(key: $0.key, value: $0.value) },
            partition: TopicPartition(topic: input.topic, partition: input.partition.rawValue),
            offset: RecordOffset(input.offset.rawValue),
            reason: reason, message: message,
            modelName: model?.name, modelVersion: model?.version
        ).map { KafkaHeader(key: $0.key, value: $0.value) }
        send(OutputSlot(
            kind: .deadLetter(reason: reason), input: record,
            value: input.value, headers: headers, timestampMilliseconds: input.timestamp?.milliseconds
        ), producer: producer)
    }

    /// Sends an output, keyed like its input; waits out a full local queue (back-pressure).
    private func send(_ slot: OutputSlot, producer: KafkaProducer) {
        let id = slots.insert(slot)
        transmit(id, slot, producer: producer)
    }

    private func topic(of slot: OutputSlot) -> String {
        if case .prediction = slot.kind { return outputTopic }
        return deadLetterTopic
    }

    private func transmit(_ id: UInt64, _ slot: OutputSlot, producer: KafkaProducer) {
        while true {
            do {
                try slot.input.message.withKey { key in
                    try producer.send(
                        topic: topic(of: slot), partition: nil, key: key, value: slot.value, headers: slot.headers,
                        timestampMilliseconds: slot.timestampMilliseconds, context: id
                    )
                }
                return
            } catch let error as KafkaError where error.code == .queueFull {
                if abandoned.load(ordering: .acquiring) { return }
                Thread.sleep(forTimeInterval: 0.001)
            } catch {
                // Treated like a failed delivery: retried with back-off, or dead-lettered.
                failed(id, slot, error: error as? KafkaError ?? KafkaError(code: .closed, message: "\(error)"), producer: producer)
                return
            }
        }
    }

    // MARK: - Delivery reports (producer thread)

    private func delivered(_ report: KafkaDeliveryReport, ledger: PartitionLedger) {
        guard let error = report.error else {
            // The delivered output's buffer is kept for the inference thread to encode into again.
            guard let slot = slots.remove(report.context, recycling: { slot -> [UInt8]? in
                guard case .prediction = slot.kind else { return nil }
                defer { slot.value = nil }
                return slot.value
            }) else { return }
            if abandoned.load(ordering: .acquiring) { return }
            switch slot.kind {
            case .prediction:
                let latency = slot.input.message.timestamp.map { timestamp in
                    Int64(Date().timeIntervalSince1970 * 1_000_000) - timestamp.milliseconds * 1000
                }
                counters.predicted(endToEndMicroseconds: latency)
            case .deadLetter(let reason):
                counters.deadLettered(reason: reason.code)
            }
            ledger.acknowledge(slot.input.ticket, offset: slot.offset)
            return
        }
        if report.context == Self.driftContext {
            logger.warning("drift report not written", metadata: ["kafka.topic": "\(report.topic)", "error": "\(error)"])
            return
        }
        // The producer is set before anything is sent, so it is there for any report.
        guard let slot = slots.get(report.context), let producer = runtime.withLock({ $0.producer }) else { return }
        failed(report.context, slot, error: error, producer: producer)
    }

    /// A send or delivery failed: retry transient failures with back-off; dead-letter a prediction
    /// that can never be written; retry a dead letter forever (its partition stops advancing).
    private func failed(_ id: UInt64, _ slot: OutputSlot, error: KafkaError, producer: KafkaProducer) {
        let shuttingDown = runtime.withLock { $0.shuttingDown }
        if abandoned.load(ordering: .acquiring) || error.code == .closed {
            // Stopping: leave the input unacknowledged; it is redelivered after the restart.
            _ = slots.remove(id)
            return
        }
        var generator = SystemRandomNumberGenerator()
        if case .prediction = slot.kind, !error.isRetriable {
            _ = slots.remove(id)
            let model = models.current
            logger.warning("prediction cannot be written; dead-lettering its input", metadata: ["error": "\(error)"])
            deadLetter(slot.input, reason: .outputProduceFailure, message: error.description,
                       model: model.flatMap { try? ServingModel($0, maxPayloadBytes: configuration.maxPayloadBytes) }, producer: producer)
            return
        }
        if case .deadLetter = slot.kind, !error.isRetriable, slot.attempt == 0 {
            counters.update { $0.blocked += 1 }
            logger.error("dead letter cannot be written; its partition stops advancing until it can", metadata: [
                "kafka.topic": "\(topic(of: slot))", "error": "\(error)",
            ])
        }
        if shuttingDown && slot.attempt > 0 {
            // Leave it unacknowledged: it is redelivered after the restart.
            _ = slots.remove(id)
            return
        }
        slots.update(id) { $0.attempt += 1 }
        counters.update { $0.retried += 1 }
        let delay = policy.backoff(attempt: slot.attempt + 1, using: &generator)
        DispatchQueue.global().asyncAfter(deadline: .now() + delay.doubleSeconds) { [self] in
            guard let current = slots.get(id) else { return }
            transmit(id, current, producer: producer)
        }
    }
}

extension DeadLetterReason {
    /// The same reason, with Kafka Connect's class headers naming the component that raised the
    /// error and the error's own type (the reason alone cannot know which raised it).
    func raised(by component: String, _ error: any Error) -> DeadLetterReason {
        DeadLetterReason(code: code, stage: stage, className: component, exceptionClassName: String(reflecting: type(of: error)))
    }

    /// The prediction could not be written to the output topic (a non-retriable producer error,
    /// e.g. the record is larger than the topic allows).
    static let outputProduceFailure = DeadLetterReason(
        code: "output_produce_failure", stage: "PRODUCE", className: "InferenceWorker.InferencePipeline", exceptionClassName: "Kafka.KafkaError"
    )
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }
}
