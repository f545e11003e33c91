import CKafkaShim
import Foundation
public import Logging
import Synchronization

/// A producer whose delivery reports are served on a dedicated thread and matched to a caller's
/// 64-bit context.
///
/// Idempotent by default (no duplicates or reordering from librdkafka's own retries). A full local
/// queue is back-pressure: ``send(_:context:blockIfQueueFull:)`` throws ``KafkaError/Code/queueFull``
/// (retriable) unless asked to block. Call ``close(flushTimeout:)`` before dropping the last reference.
///
/// A producer instance can become unusable: librdkafka raises a fatal error when an idempotent
/// producer can no longer guarantee order and once-ness (e.g. `OUT_OF_ORDER_SEQUENCE_NUMBER` for
/// the first request in flight), or the broker fences its epoch (`PRODUCER_FENCED`). Then every
/// later send or delivery fails. ``fatalError`` says so, and the `errorHandler` is told once; the
/// owner must stop sending, close this instance, create a new one and send again what was not
/// acknowledged (see ``KafkaDeliveryReport/persistence`` for what may already be written).
public final class KafkaProducer: Sendable {
    /// Contexts with this bit set are reserved for ``sendAndWait(_:)``.
    public static let reservedContextBit: UInt64 = 1 << 63

    private final class Shared: Sendable {
        let waiters = Mutex<[UInt64: CheckedContinuation<KafkaDeliveryReport, any Error>]>([:])
        let nextWaiter = Atomic<UInt64>(1)
        /// Topic names by librdkafka topic handle: one String per topic, not per report.
        let topicNames = Mutex<[(handle: UInt, name: String)]>([])
        /// The first fatal condition seen: librdkafka's fatal error (from the error callback), or a
        /// delivery report saying the broker fenced this producer (which librdkafka does not
        /// raise as fatal). Set once; the error handler is called when it is set.
        let fatal = Mutex<KafkaError?>(nil)

        /// Latches `error` as this producer's fatal condition; true if it was the first.
        func latchFatal(_ error: KafkaError) -> Bool {
            fatal.withLock { latched in
                guard latched == nil else { return false }
                latched = error
                return true
            }
        }

        func topicName(_ rkt: OpaquePointer?) -> String {
            guard let rkt else { return "" }
            let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(rkt)))
            if let known = topicNames.withLock({ names in names.first { $0.handle == key }?.name }) { return known }
            let name = String(cString: rd_kafka_topic_name(rkt))
            topicNames.withLock { $0.append((key, name)) }
            return name
        }
    }

    private enum Phase: Sendable { case running, closing, closed }
    private struct State: ~Copyable {
        var phase: Phase = .running
        var flushTimeout: Duration = .zero
        var waiters: [CheckedContinuation<Int, Never>] = []
    }

    private let client: RDKafkaClient
    private let shared: Shared
    private let state = Mutex(State())
    public let configuration: KafkaProducerConfiguration
    public let logger: Logger

    /// Creates the producer and starts serving delivery reports; `deliveryHandler` runs on the
    /// producer's thread (or on a thread calling ``flush(timeout:)``) once per record.
    ///
    /// `errorHandler` receives the client-level errors librdkafka reports (brokers unreachable,
    /// transport failures: informational, librdkafka retries by itself) and, once, the error that
    /// makes this instance unusable (``KafkaError/isFatal``; also readable as ``fatalError``). It
    /// runs on a librdkafka or delivery thread: do the minimum there (set a flag, signal a loop).
    public init(
        configuration: KafkaProducerConfiguration,
        logger: Logger,
        deliveryHandler: @escaping @Sendable (KafkaDeliveryReport) -> Void = { _ in },
        errorHandler: @escaping @Sendable (KafkaError) -> Void = { _ in }
    ) throws(KafkaError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        let shared = Shared()
        self.shared = shared
        let handlers = RDKafkaClient.Handlers(
            delivery: { message in
                let context = UInt64(UInt(bitPattern: message.pointee._private))
                let failed = message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR
                let report = KafkaDeliveryReport(
                    topic: shared.topicName(message.pointee.rkt),
                    partition: KafkaPartition(message.pointee.partition),
                    offset: failed ? nil : KafkaOffset(message.pointee.offset),
                    context: context,
                    error: failed ? KafkaError(rdkafka: message.pointee.err, context: "delivery failed") : nil,
                    persistence: KafkaDeliveryReport.Persistence(rd_kafka_message_status(message))
                )
                if let error = report.error, error.isFatal, shared.latchFatal(error) {
                    // PRODUCER_FENCED arrives per record, not through the error callback.
                    logger.error("producer fenced: this instance cannot deliver any more", metadata: ["error": "\(error)"])
                    errorHandler(error)
                }
                if context & KafkaProducer.reservedContextBit != 0 {
                    let waiter = shared.waiters.withLock { $0.removeValue(forKey: context) }
                    if let error = report.error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: report) }
                } else {
                    deliveryHandler(report)
                }
            },
            error: { error in
                if error.isFatal {
                    logger.error("producer fatal error", metadata: ["error": "\(error)"])
                    if shared.latchFatal(error) { errorHandler(error) }
                } else {
                    logger.debug("producer error", metadata: ["error": "\(error)"])
                    errorHandler(error)
                }
            }
        )
        client = try RDKafkaClient(kind: .producer, properties: configuration.properties, handlers: handlers, logger: logger)
        let thread = Thread { [self] in pollLoop() }
        thread.name = "kafka-producer"
        thread.start()
    }

    private func pollLoop() {
        while state.withLock({ $0.phase == .running }) {
            rd_kafka_poll(client.handle, 100)
        }
        let timeout = state.withLock { $0.flushTimeout }
        rd_kafka_flush(client.handle, Int32(clamping: timeout.milliseconds))
        let remaining = Int(rd_kafka_outq_len(client.handle))
        let waiters = state.withLock { state in
            state.phase = .closed
            defer { state.waiters = [] }
            return state.waiters
        }
        if remaining > 0 {
            logger.warning("producer closed with unacknowledged records", metadata: ["kafka.unacknowledged": "\(remaining)"])
        }
        for waiter in waiters { waiter.resume(returning: remaining) }
    }

    /// Queues a record. Returns once librdkafka has copied it; the outcome arrives as a delivery
    /// report carrying `context` (which must not have ``reservedContextBit`` set).
    public func send(_ message: KafkaProducerMessage, context: UInt64 = 0, blockIfQueueFull: Bool = false) throws(KafkaError) {
        try withOptionalBytes(message.key) { (key) throws(KafkaError) in
            try withOptionalBytes(message.value) { (value) throws(KafkaError) in
                try send(
                    topic: message.topic, partition: message.partition, key: key, value: value,
                    headers: message.headers, timestampMilliseconds: message.timestampMilliseconds,
                    context: context, blockIfQueueFull: blockIfQueueFull
                )
            }
        }
    }

    /// Queues a record from borrowed bytes (copied before returning): the allocation-free path.
    public func send(
        topic: String, partition: KafkaPartition?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil, context: UInt64, blockIfQueueFull: Bool = false
    ) throws(KafkaError) {
        if state.withLock({ $0.phase != .running }) { throw KafkaError.closed("the producer") }
        var hdrs: OpaquePointer? = nil
        if !headers.isEmpty {
            hdrs = rd_kafka_headers_new(headers.count)
            for header in headers {
                if let bytes = header.value {
                    _ = bytes.withUnsafeBytes { rd_kafka_header_add(hdrs, header.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(hdrs, header.key, -1, nil, 0)
                }
            }
        }
        // `withCString`, not the implicit String-to-pointer conversion: the latter builds
        // `utf8CString`, a heap allocation per record (measured by `bench.sh alloc`).
        let err = topic.withCString { topic in
            shim_produce(
                client.handle, topic, partition?.rawValue ?? RD_KAFKA_PARTITION_UA,
                key?.baseAddress, key?.count ?? 0, value?.baseAddress, value?.count ?? 0,
                hdrs, timestampMilliseconds ?? 0,
                UnsafeMutableRawPointer(bitPattern: UInt(context)), blockIfQueueFull ? 1 : 0
            )
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if let hdrs { rd_kafka_headers_destroy(hdrs) }
            var error = KafkaError(rdkafka: err, context: "producing to \(topic)")
            if err == RD_KAFKA_RESP_ERR__FATAL { error.underlying = fatalError }
            throw error
        }
    }

    /// Queues a record with borrowed key bytes and an owned value (nil: a tombstone; empty stays
    /// empty, not null). Both are copied before returning.
    public func send(
        topic: String, partition: KafkaPartition?, key: UnsafeRawBufferPointer?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil, context: UInt64, blockIfQueueFull: Bool = false
    ) throws(KafkaError) {
        try withOptionalBytes(value) { (value) throws(KafkaError) in
            try send(
                topic: topic, partition: partition, key: key, value: value, headers: headers,
                timestampMilliseconds: timestampMilliseconds, context: context, blockIfQueueFull: blockIfQueueFull
            )
        }
    }

    /// Sends one record and waits for its delivery report; throws the delivery error if it failed.
    /// Convenient for tools and tests; the worker's hot path uses contexts instead.
    public func sendAndWait(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        let id = KafkaProducer.reservedContextBit | shared.nextWaiter.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await withCheckedThrowingContinuation { continuation in
            shared.waiters.withLock { $0[id] = continuation }
            do {
                try send(message, context: id, blockIfQueueFull: true)
            } catch {
                if let waiter = shared.waiters.withLock({ $0.removeValue(forKey: id) }) { waiter.resume(throwing: error) }
            }
        }
    }

    /// Waits until every queued record is acknowledged or failed, at most `timeout`. Blocks the
    /// calling thread (delivery reports are served on it meanwhile).
    public func flush(timeout: Duration) throws(KafkaError) {
        let err = rd_kafka_flush(client.handle, Int32(clamping: timeout.milliseconds))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let remaining = rd_kafka_outq_len(client.handle)
            throw KafkaError(code: .timedOut, message: "\(remaining) records still unacknowledged after \(timeout)", isRetriable: true)
        }
    }

    /// Records queued or in flight, not yet acknowledged.
    public var unacknowledgedCount: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Why this instance can no longer deliver anything, or nil while it can.
    ///
    /// librdkafka's fatal error (`rd_kafka_fatal_error`: the original code, e.g.
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER`, not `_FATAL`), or the first delivery error that fenced the
    /// producer (`PRODUCER_FENCED`, which librdkafka reports per record without raising a fatal
    /// error). Once set it stays set: close this instance and create a new one. Records queued
    /// when librdkafka turns fatal are failed with ``KafkaError/Code/purgedFromQueue`` (not
    /// written); those in flight with their own error and ``KafkaDeliveryReport/persistence``.
    public var fatalError: KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(client.handle, &buffer, buffer.count)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            var error = KafkaError(rdkafka: code, context: String(cBuffer: buffer))
            error.isFatal = true
            return error
        }
        return shared.fatal.withLock { $0 }
    }

    /// Whether this instance is unusable (``fatalError`` is set).
    public var isFatal: Bool { fatalError != nil }

    /// Raises a librdkafka fatal error on this instance as if the broker had caused it
    /// (`rd_kafka_test_fatal_error`), for tests of what owners do about one. `code` is the
    /// underlying error reported by ``fatalError``.
    @_spi(Testing)
    public func raiseFatalErrorForTesting(_ code: KafkaError.Code, reason: String) throws(KafkaError) {
        let err = rd_kafka_test_fatal_error(client.handle, rd_kafka_resp_err_t(rawValue: code.librdkafkaCode ?? -1), reason)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(rdkafka: err, context: "raising a test fatal error") }
    }

    /// Whether ``close(flushTimeout:)`` has completed.
    public var isClosed: Bool { state.withLock { $0.phase == .closed } }

    /// Stops accepting records, flushes for at most `flushTimeout`, and returns the number of
    /// records still unacknowledged (0 when everything was delivered). Idempotent.
    @discardableResult
    public func close(flushTimeout: Duration = .seconds(10)) async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let closed = state.withLock { state -> Bool in
                if state.phase == .closed { return true }
                if state.phase == .running {
                    state.phase = .closing
                    state.flushTimeout = flushTimeout
                }
                state.waiters.append(continuation)
                return false
            }
            if closed { continuation.resume(returning: unacknowledgedCount) }
        }
    }
}

extension KafkaDeliveryReport.Persistence {
    init(_ status: rd_kafka_msg_status_t) {
        switch status {
        case RD_KAFKA_MSG_STATUS_NOT_PERSISTED: self = .notPersisted
        case RD_KAFKA_MSG_STATUS_PERSISTED: self = .persisted
        default: self = .possiblyPersisted
        }
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws(KafkaError) -> R) throws(KafkaError) -> R {
    guard let bytes else { return try body(nil) }
    var result: Result<R, KafkaError>?
    if bytes.isEmpty {
        // An empty, non-null value must stay non-null: give librdkafka a valid pointer with length 0.
        var zero: UInt8 = 0
        withUnsafeBytes(of: &zero) { raw in
            result = Result { () throws(KafkaError) in try body(UnsafeRawBufferPointer(start: raw.baseAddress, count: 0)) }
        }
    } else {
        bytes.withUnsafeBytes { raw in result = Result { () throws(KafkaError) in try body(raw) } }
    }
    return try result!.get()
}
