import CKafkaShim

/// An error from the Kafka layer: a code the caller can match, a message that says what to do,
/// and the flags the dead-letter and retry policies read (`isRetriable`, `isFatal`).
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. Broker and librdkafka errors carry librdkafka's code and name;
    /// the layer's own errors have their own codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Backing: Hashable, Sendable {
            case librdkafka(Int32)
            case invalidConfiguration
            case unknownConfigurationKey
            case clientCreation
            case closed
            case topicCreation
        }
        let backing: Backing

        /// The configuration is invalid (a value out of range, a required field missing).
        public static let invalidConfiguration = Code(backing: .invalidConfiguration)
        /// A raw librdkafka key that the runtime librdkafka does not know.
        public static let unknownConfigurationKey = Code(backing: .unknownConfigurationKey)
        /// librdkafka refused to create the client.
        public static let clientCreation = Code(backing: .clientCreation)
        /// The client has been closed.
        public static let closed = Code(backing: .closed)
        /// A topic could not be created.
        public static let topicCreation = Code(backing: .topicCreation)

        /// The producer's local queue is full: back-pressure, retry after delivery reports drain it.
        public static let queueFull = librdkafka(-184)
        /// A local timeout (flush, metadata, commit).
        public static let timedOut = librdkafka(-185)
        /// A message could not be delivered within `message.timeout.ms`.
        public static let messageTimedOut = librdkafka(-192)
        /// All brokers are down.
        public static let allBrokersDown = librdkafka(-187)
        /// Transport failure.
        public static let transport = librdkafka(-195)
        /// The topic or partition does not exist (yet).
        public static let unknownTopicOrPartition = librdkafka(3)
        /// The partition does not exist locally (e.g. producing to partition 7 of a 3-partition topic).
        public static let unknownPartition = librdkafka(-190)
        /// The message is larger than the broker or client allows.
        public static let messageTooLarge = librdkafka(10)
        /// A fatal error: the client must be recreated.
        public static let fatal = librdkafka(-150)
        /// No offset was stored or committed for the partition.
        public static let noOffset = librdkafka(-168)
        /// Not enough in-sync replicas (retriable).
        public static let notEnoughReplicas = librdkafka(19)
        /// The broker is not the partition's leader (retriable).
        public static let notLeaderForPartition = librdkafka(6)
        /// The broker timed out the request (retriable).
        public static let requestTimedOut = librdkafka(7)
        /// The topic already exists.
        public static let topicAlreadyExists = librdkafka(36)

        /// A librdkafka or broker error code (`rd_kafka_resp_err_t`).
        public static func librdkafka(_ raw: Int32) -> Code { Code(backing: .librdkafka(raw)) }

        /// librdkafka's code, if this is a librdkafka or broker error.
        public var librdkafkaCode: Int32? {
            if case .librdkafka(let raw) = backing { return raw }
            return nil
        }

        /// A stable name: librdkafka's (e.g. `_QUEUE_FULL`, `NOT_ENOUGH_REPLICAS`) or the layer's own.
        public var description: String {
            switch backing {
            case .librdkafka(let raw): return String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: raw)))
            case .invalidConfiguration: return "INVALID_CONFIGURATION"
            case .unknownConfigurationKey: return "UNKNOWN_CONFIGURATION_KEY"
            case .clientCreation: return "CLIENT_CREATION"
            case .closed: return "CLOSED"
            case .topicCreation: return "TOPIC_CREATION"
            }
        }
    }

    public var code: Code
    /// What happened and, where we know, how to fix it.
    public var message: String
    /// Trying again later may succeed (timeouts, unavailable brokers, a full queue).
    public var isRetriable: Bool
    /// The client is unusable and must be recreated (librdkafka fatal errors, e.g. a fenced idempotent producer).
    public var isFatal: Bool
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    public init(code: Code, message: String, isRetriable: Bool = false, isFatal: Bool = false, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.underlying = underlying
    }

    public var description: String {
        var text = "KafkaError(\(code)): \(message)"
        if isRetriable { text += " [retriable]" }
        if isFatal { text += " [fatal]" }
        if let underlying { text += " (caused by: \(underlying))" }
        return text
    }
}

extension KafkaError {
    /// Codes that librdkafka or the broker may clear by themselves; an operation failing with one
    /// of these is worth retrying with back-off rather than giving up on the record.
    static let retriableCodes: Set<Int32> = [
        -195, // _TRANSPORT
        -192, // _MSG_TIMED_OUT
        -187, // _ALL_BROKERS_DOWN
        -185, // _TIMED_OUT
        -184, // _QUEUE_FULL
        -193, // _RESOLVE
        -180, // _WAIT_COORD
        -178, // _IN_PROGRESS (coordinator)
        -190, // _UNKNOWN_PARTITION (metadata not yet propagated)
        -188, // _UNKNOWN_TOPIC
        3,    // UNKNOWN_TOPIC_OR_PART
        5,    // LEADER_NOT_AVAILABLE
        6,    // NOT_LEADER_FOR_PARTITION
        7,    // REQUEST_TIMED_OUT
        13,   // NETWORK_EXCEPTION
        14,   // COORDINATOR_LOAD_IN_PROGRESS
        15,   // COORDINATOR_NOT_AVAILABLE
        16,   // NOT_COORDINATOR
        19,   // NOT_ENOUGH_REPLICAS
        20,   // NOT_ENOUGH_REPLICAS_AFTER_APPEND
        27,   // REBALANCE_IN_PROGRESS
        56,   // KAFKA_STORAGE_ERROR
        70,   // FETCH_SESSION_ID_NOT_FOUND
    ]

    /// Wraps a librdkafka response code.
    init(rdkafka err: rd_kafka_resp_err_t, context: String? = nil) {
        let raw = Int32(err.rawValue)
        let text = String(cString: rd_kafka_err2str(err))
        self.init(
            code: .librdkafka(raw),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: Self.retriableCodes.contains(raw),
            isFatal: raw == -150
        )
    }

    /// Wraps (and destroys) a librdkafka `rd_kafka_error_t`, which carries its own flags.
    init(consuming error: OpaquePointer, context: String? = nil) {
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        self.init(
            code: .librdkafka(Int32(code.rawValue)),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.retriableCodes.contains(Int32(code.rawValue)),
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
        rd_kafka_error_destroy(error)
    }

    static func closed(_ what: String) -> KafkaError {
        KafkaError(code: .closed, message: "\(what) has been closed")
    }
}
