import CKafkaShim
import Logging
import Synchronization

/// Owns an `rd_kafka_t` and the callback context librdkafka calls back into.
///
/// Ownership: `callbacks` (the C struct set as the configuration opaque) points at `self` without
/// retaining it; it is freed in `deinit`, after `rd_kafka_destroy` has returned, so librdkafka can
/// never call through a dangling pointer. The handle itself is only destroyed in `deinit`, never
/// on close, so that thread-safe calls racing with a close (pause, store, commit) fail with an
/// error instead of touching freed memory.
final class RDKafkaClient: @unchecked Sendable {
    // @unchecked Sendable: `handle` and `callbacks` are set once in init and freed in deinit;
    // librdkafka's handle is thread-safe; the Swift closures are Sendable.
    enum Kind { case consumer, producer }

    struct Handlers: Sendable {
        var rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
        var delivery: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)?
        var statistics: (@Sendable (String) -> Void)?
        var error: (@Sendable (KafkaError) -> Void)?
    }

    let handle: OpaquePointer
    let logger: Logger
    /// librdkafka's log lines arrive on its own threads; the limiter is shared by them.
    private let logLimiter = Mutex(LogRateLimiter())
    private let callbacks: UnsafeMutablePointer<shim_callbacks_t>
    private let handlers: Handlers

    init(kind: Kind, properties: [(String, String)], handlers: Handlers, logger: Logger) throws(KafkaError) {
        self.logger = logger
        self.handlers = handlers
        // Route librdkafka's own log lines through swift-log, on the thread that emitted them.
        let conf = try RDKafkaConfig.make(properties + [("log.queue", "false")])
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: shim_callbacks_t())
        callbacks.pointee.rebalance = handlers.rebalance == nil ? nil : { ctx, rk, err, parts in
            RDKafkaClient.from(ctx)?.handlers.rebalance?(rk!, err, parts!)
        }
        callbacks.pointee.delivery = handlers.delivery == nil ? nil : { ctx, _, message in
            // Once per produced record: borrow the client instead of retaining and releasing it
            // (it outlives every callback, see above). The context is set before any poll call.
            guard let ctx else { return }
            Unmanaged<RDKafkaClient>.fromOpaque(ctx)._withUnsafeGuaranteedRef { $0.handlers.delivery?(message!) }
        }
        callbacks.pointee.statistics = handlers.statistics == nil ? nil : { ctx, _, json, length in
            guard let client = RDKafkaClient.from(ctx) else { return }
            let text = String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self)
            client.handlers.statistics?(text)
        }
        callbacks.pointee.error = { ctx, rk, err, reason in
            guard let client = RDKafkaClient.from(ctx) else { return }
            var error = KafkaError(rdkafka: rd_kafka_resp_err_t(rawValue: err), context: reason.map { String(cString: $0) })
            if err == RD_KAFKA_RESP_ERR__FATAL.rawValue, let rk {
                var buffer = [CChar](repeating: 0, count: 512)
                let fatal = rd_kafka_fatal_error(rk, &buffer, buffer.count)
                error = KafkaError(rdkafka: fatal, context: String(cBuffer: buffer))
                error.isFatal = true
            }
            client.handlers.error?(error)
        }
        callbacks.pointee.log = { ctx, _, level, facility, message in
            guard let client = RDKafkaClient.from(ctx) else { return }
            let admitted = client.logLimiter.withLock { $0.admit(now: .now) }
            guard admitted.forward else { return }
            let text = message.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            let swiftLevel: Logger.Level = level <= 4 ? .warning : (level <= 6 ? .info : .debug)
            var metadata: Logger.Metadata = ["librdkafka.facility": "\(fac)"]
            if admitted.suppressedBefore > 0 { metadata["librdkafka.suppressed"] = "\(admitted.suppressedBefore)" }
            client.logger.log(level: swiftLevel, "librdkafka: \(text)", metadata: metadata)
        }
        callbacks.pointee.context = nil
        shim_conf_set_callbacks(conf, callbacks)

        var errstr = [CChar](repeating: 0, count: 512)
        let type = kind == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            callbacks.deallocate()
            let reason = String(cBuffer: errstr)
            throw KafkaError(code: .clientCreation, message: "librdkafka could not create the \(kind) client: \(reason)")
        }
        handle = rk
        // The context can only point at self once self is fully initialised. Callbacks other than
        // logging are served from poll calls, which cannot happen before this line; log lines
        // emitted during rd_kafka_new find a nil context and are dropped.
        callbacks.pointee.context = Unmanaged.passUnretained(self).toOpaque()
        Self.open.add(1, ordering: .relaxed)
    }

    deinit {
        rd_kafka_destroy(handle)
        callbacks.deallocate()
        Self.open.subtract(1, ordering: .releasing)
    }

    /// Clients created and not yet destroyed: `rd_kafka_destroy` has returned (and joined the
    /// client's threads) for all the others.
    static let open = Atomic<Int>(0)

    /// Recovers the client from the callback context; nil only for log lines emitted while
    /// `rd_kafka_new` runs, before the context is set (they are dropped).
    private static func from(_ context: UnsafeMutableRawPointer?) -> RDKafkaClient? {
        guard let context else { return nil }
        return Unmanaged<RDKafkaClient>.fromOpaque(context).takeUnretainedValue()
    }
}

/// Conversions between Swift partition lists and `rd_kafka_topic_partition_list_t`.
enum RDKafkaPartitionList {
    /// Calls `body` with a newly allocated C list, destroyed afterwards.
    static func with<R, E: Error>(
        _ partitions: some Sequence<(KafkaTopicPartition, KafkaOffset?)>,
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(E) -> R
    ) throws(E) -> R {
        let list = rd_kafka_topic_partition_list_new(8)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in partitions {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition.rawValue)!
            if let offset { element.pointee.offset = offset.rawValue }
        }
        return try body(list)
    }

    static func with<R, E: Error>(
        _ partitions: [KafkaTopicPartition],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(E) -> R
    ) throws(E) -> R {
        try with(partitions.lazy.map { ($0, nil as KafkaOffset?) }, body)
    }

    static func elements(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> UnsafeBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
    }

    static func partitions(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        elements(list).map { KafkaTopicPartition(topic: String(cString: $0.topic), partition: KafkaPartition($0.partition)) }
    }

    /// The first per-partition error in a list that librdkafka filled in, if any.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>, context: String) -> KafkaError? {
        for element in elements(list) where element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            return KafkaError(rdkafka: element.err, context: "\(context) \(String(cString: element.topic))[\(element.partition)]")
        }
        return nil
    }
}
