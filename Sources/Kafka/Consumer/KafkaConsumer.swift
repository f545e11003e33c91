import CKafkaShim
import Foundation
public import Logging
import Synchronization

/// A consumer-group member that polls on a dedicated thread and hands every event to one handler.
///
/// The handler runs on the consumer's own polling thread (never on Swift's cooperative pool), one
/// event at a time, in order. It should return quickly for ``KafkaConsumerEvent/messages(_:)``
/// (queue the batch elsewhere) since polling also drives heartbeats' companion duties and
/// `max.poll.interval.ms`; for ``KafkaConsumerEvent/revoking(_:)`` it may block to finish and
/// commit work — the partitions are released only when it returns.
///
/// Each assigned partition's records wait on a queue of their own (``PartitionQueues``), so
/// ``suspendDelivery(of:)`` can hold one partition back without pausing its fetcher; the consumer
/// queue carries the group's events (rebalances, statistics, errors).
///
/// Offsets are never stored automatically: call ``storeOffsets(_:)`` once a record's outcome is
/// safe; stored offsets are committed on the configured interval, by ``commitStored()``, and on close.
///
/// The consumer starts polling in `init` and runs until ``close()``; call `close()` before
/// dropping the last reference (the polling thread keeps the consumer alive until then).
public final class KafkaConsumer: Sendable {
    private enum Phase: Sendable { case running, closing, closed }
    private struct State: ~Copyable {
        var phase: Phase = .running
        /// Callers of ``close(timeout:)`` waiting for the close: true once closed, false at their timeout.
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let client: RDKafkaClient
    /// The consumer queue (`rd_kafka_queue_get_consumer`), destroyed by the polling thread after close.
    private nonisolated(unsafe) let queue: OpaquePointer
    private let partitionQueues: PartitionQueues
    private let state = Mutex(State())
    private let handler: @Sendable (KafkaConsumerEvent) -> Void
    public let configuration: KafkaConsumerConfiguration
    public let logger: Logger

    /// Creates the consumer, subscribes to `configuration.topics`, and starts polling.
    public init(
        configuration: KafkaConsumerConfiguration,
        logger: Logger,
        eventHandler: @escaping @Sendable (KafkaConsumerEvent) -> Void
    ) throws(KafkaError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.handler = eventHandler
        let partitionQueues = PartitionQueues(logger: logger)
        self.partitionQueues = partitionQueues
        let handlers = RDKafkaClient.Handlers(
            rebalance: { rk, err, partitions in
                KafkaConsumer.rebalance(rk, err, partitions, queues: partitionQueues, handler: eventHandler, logger: logger)
            },
            statistics: { json in
                do {
                    eventHandler(.statistics(try KafkaStatistics(json: json)))
                } catch {
                    logger.debug("unreadable librdkafka statistics", metadata: ["error": "\(error)"])
                }
            },
            error: { eventHandler(.error($0)) }
        )
        let client = try RDKafkaClient(kind: .consumer, properties: configuration.properties, handlers: handlers, logger: logger)
        self.client = client
        // Every event (rebalances, statistics, errors, records) on the one consumer queue.
        rd_kafka_poll_set_consumer(client.handle)
        let topics = configuration.topics.map { KafkaTopicPartition(topic: $0, partition: KafkaPartition(-1)) }
        let subscribeError = RDKafkaPartitionList.with(topics) { list in rd_kafka_subscribe(client.handle, list) }
        if subscribeError != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(rdkafka: subscribeError, context: "subscribing to \(configuration.topics)")
        }
        queue = rd_kafka_queue_get_consumer(client.handle)
        shim_queue_set_waker(queue, partitionQueues.waker)
        logger.info("consumer subscribed", metadata: [
            "kafka.group": "\(configuration.groupID)", "kafka.topics": "\(configuration.topics.joined(separator: ","))",
        ])
        let thread = Thread { [self] in pollLoop() }
        thread.name = "kafka-consumer"
        thread.start()
    }

    private func pollLoop() {
        let capacity = configuration.maxPollRecords
        let timeout = Int32(configuration.pollTimeout.milliseconds)
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        while state.withLock({ $0.phase == .running }) {
            // Serve the consumer queue without waiting (rebalance callbacks run inside this call;
            // records come here only for a partition whose queue could not be split), then take
            // what the partition queues not held back have, without waiting either. Wait only when
            // a whole pass found nothing: the waker is signalled when any of these queues goes
            // from empty to non-empty, when a held partition is released, and on close. (A
            // blocking rd_kafka_consume_batch_queue would instead hold records back until the
            // batch is full or the timeout expires: latency at low rates.)
            var n = 0
            while n < capacity, let message = rd_kafka_consumer_poll(client.handle, 0) {
                buffer[n] = message
                n += 1
            }
            n += partitionQueues.read(into: buffer + n, capacity: capacity - n)
            if n > 0 {
                deliver(buffer, count: n)
            } else {
                shim_waker_wait(partitionQueues.waker, timeout)
            }
        }
        // Leaving the group runs the final revoke (with the handler) on this thread.
        let closeError = rd_kafka_consumer_close(client.handle)
        if closeError != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("consumer close reported an error", metadata: ["error": "\(KafkaError(rdkafka: closeError))"])
        }
        partitionQueues.removeAll()
        shim_queue_set_waker(queue, nil)
        rd_kafka_queue_destroy(queue)
        let waiters = state.withLock { state in
            state.phase = .closed
            defer { state.waiters = [:] }
            return state.waiters
        }
        logger.info("consumer closed", metadata: ["kafka.group": "\(configuration.groupID)"])
        for waiter in waiters.values { waiter.resume(returning: true) }
    }

    /// Splits error pseudo-messages from records and hands the records over as one batch.
    private func deliver(_ buffer: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>, count: Int) {
        let records = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>>.allocate(capacity: count)
        var kept = 0
        for i in 0..<count {
            let message = buffer[i]!
            if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
                handler(.error(KafkaError(rdkafka: message.pointee.err, context: "consuming \(topic)[\(message.pointee.partition)]")))
                rd_kafka_message_destroy(message)
            } else {
                records[kept] = message
                kept += 1
            }
        }
        guard kept > 0 else {
            records.deallocate()
            return
        }
        handler(.messages(KafkaMessageBatch(taking: UnsafeMutableBufferPointer(start: records, count: kept), from: client)))
    }

    /// The rebalance callback, on the polling thread. The revoke handler runs while the partitions
    /// are still assigned; they are released only when it returns.
    private static func rebalance(
        _ rk: OpaquePointer,
        _ err: rd_kafka_resp_err_t,
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        queues: PartitionQueues,
        handler: @Sendable (KafkaConsumerEvent) -> Void,
        logger: Logger
    ) {
        let partitions = RDKafkaPartitionList.partitions(list)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            // Split before assigning, so that librdkafka never forwards them to the consumer queue.
            queues.split(rk, list)
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, list) {
                    handler(.error(KafkaError(consuming: error, context: "assigning partitions")))
                }
            } else {
                rd_kafka_assign(rk, list)
            }
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions)"])
            handler(.assigned(partitions))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if rd_kafka_assignment_lost(rk) != 0 {
                logger.warning("partitions lost", metadata: ["kafka.partitions": "\(partitions)"])
                handler(.lost(partitions))
            } else {
                logger.info("partitions revoking", metadata: ["kafka.partitions": "\(partitions)"])
                handler(.revoking(partitions))
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, list) {
                    handler(.error(KafkaError(consuming: error, context: "releasing partitions")))
                }
                queues.remove(partitions)
            } else {
                rd_kafka_assign(rk, nil)
                queues.removeAll()
            }
        default:
            handler(.error(KafkaError(rdkafka: err, context: "rebalance")))
            rd_kafka_assign(rk, nil)
            queues.removeAll()
        }
    }

    // MARK: - Operations (thread-safe; they may block briefly on librdkafka's locks)

    /// Stops handing over `partitions`' records until ``resumeDelivery(of:)``, without touching
    /// librdkafka's fetcher: what it already fetched stays queued, and it keeps prefetching until
    /// a partition's queue holds `queued.min.messages` records or `queued.max.messages.kbytes`
    /// (bounded memory), then re-checks every `fetch.queue.backoff.ms`. The cheap way to apply
    /// back-pressure: unlike ``pause(_:)``, resuming costs nothing. Records already handed over are
    /// not affected; a batch being read when this is called may still include a few. Thread-safe.
    public func suspendDelivery(of partitions: [KafkaTopicPartition]) {
        partitionQueues.hold(partitions)
    }

    /// Hands `partitions`' records over again, starting with those queued while suspended.
    public func resumeDelivery(of partitions: [KafkaTopicPartition]) {
        partitionQueues.release(partitions)
    }

    /// Partitions whose delivery is suspended.
    public var suspendedPartitions: [KafkaTopicPartition] { partitionQueues.heldPartitions.sorted() }

    /// Stops fetching `partitions` until ``resume(_:)``. Polling goes on (rebalances, other
    /// partitions). Records already fetched for them but not yet returned are dropped by
    /// librdkafka and fetched again on resume.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try RDKafkaPartitionList.with(partitions) { (list) throws(KafkaError) in
            let err = rd_kafka_pause_partitions(client.handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdkafka: err, context: "pausing \(partitions)") }
            if let error = RDKafkaPartitionList.firstError(list, context: "pausing") { throw error }
        }
    }

    /// Resumes fetching `partitions` from the position after the last record returned.
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try RDKafkaPartitionList.with(partitions) { (list) throws(KafkaError) in
            let err = rd_kafka_resume_partitions(client.handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdkafka: err, context: "resuming \(partitions)") }
            if let error = RDKafkaPartitionList.firstError(list, context: "resuming") { throw error }
        }
    }

    /// Stores offsets for the next commit. Each offset is the *next* record to read, i.e. the
    /// last record whose outcome is safe, plus one. Storing for a partition this member does not
    /// own fails (the new owner will redeliver).
    public func storeOffsets(_ offsets: [KafkaTopicPartition: KafkaOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try RDKafkaPartitionList.with(offsets.lazy.map { ($0.key, $0.value as KafkaOffset?) }) { (list) throws(KafkaError) in
            let err = rd_kafka_offsets_store(client.handle, list)
            if let error = RDKafkaPartitionList.firstError(list, context: "storing offset for") { throw error }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdkafka: err, context: "storing offsets") }
        }
    }

    /// Commits the stored offsets now and waits for the broker's answer. Blocks the calling
    /// thread: call it from the revoke handler or a thread of your own, not the cooperative pool.
    /// Nothing stored since the last commit is not an error.
    public func commitStored() throws(KafkaError) {
        let err = rd_kafka_commit(client.handle, nil, 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError(rdkafka: err, context: "committing stored offsets")
        }
    }

    /// The group's committed offsets for `partitions` (``KafkaOffset/invalid`` where none). Blocks.
    public func committedOffsets(for partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [KafkaTopicPartition: KafkaOffset] {
        try RDKafkaPartitionList.with(partitions) { (list) throws(KafkaError) in
            let err = rd_kafka_committed(client.handle, list, Int32(timeout.milliseconds))
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdkafka: err, context: "fetching committed offsets") }
            var result: [KafkaTopicPartition: KafkaOffset] = [:]
            for element in RDKafkaPartitionList.elements(list) {
                result[KafkaTopicPartition(topic: String(cString: element.topic), partition: KafkaPartition(element.partition))] = KafkaOffset(element.offset)
            }
            return result
        }
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(client.handle, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(rdkafka: err, context: "reading the assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafkaPartitionList.partitions(list).sorted()
    }

    /// Leaves the group: stops polling, runs the final revoke through the handler (so in-flight
    /// work can be finished and committed), commits stored offsets, and returns when the
    /// consumer is closed. Idempotent.
    public func close() async {
        _ = await close(timeout: nil)
    }

    /// ``close()``, waiting at most `timeout` (nil: as long as it takes).
    ///
    /// librdkafka's close cannot be cut short: when the group coordinator is unreachable it can wait
    /// for it without end (measured with librdkafka 2.0.2 and 2.16 after the broker went away in
    /// the middle of traffic). At the timeout the close goes on in the background, on the polling
    /// thread, and the caller may stop without it: the group then reassigns the partitions once the
    /// member's session times out.
    /// - Returns: true when the consumer is closed, false when `timeout` passed first.
    public func close(timeout: Duration?) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiter = state.withLock { state -> UInt64? in
                if state.phase == .closed { return nil }
                if state.phase == .running { state.phase = .closing }
                state.nextWaiter += 1
                state.waiters[state.nextWaiter] = continuation
                return state.nextWaiter
            }
            guard let waiter else { return continuation.resume(returning: true) }
            shim_waker_signal(partitionQueues.waker)
            guard let timeout else { return }
            // Weak: a consumer closed (and released) before the timeout needs no timer; its waiter
            // was resumed by the close.
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.state.withLock { $0.waiters.removeValue(forKey: waiter) }?.resume(returning: false)
            }
        }
    }

    /// Whether ``close()`` has completed.
    public var isClosed: Bool { state.withLock { $0.phase == .closed } }
}
