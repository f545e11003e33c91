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
        /// The request's record batch is larger than the broker allows.
        public static let recordListTooLarge = librdkafka(18)
        /// The record failed the broker's CRC check, or its size is not its length.
        public static let corruptMessage = librdkafka(2)
        /// The record's timestamp is outside what the topic accepts (`message.timestamp.*.max.ms`).
        public static let invalidTimestamp = librdkafka(32)
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
        /// The broker rejected a record as invalid (e.g. a compacted topic given a null key).
        public static let invalidRecord = librdkafka(87)
        /// Not allowed to write to (or read from) the topic.
        public static let topicAuthorizationFailed = librdkafka(29)
        /// The broker fenced this producer's id and epoch: a newer epoch of the id exists. Idempotent
        /// producers see it when the broker will not take their epoch any more (measured with Tansu
        /// 0.6 after an outage longer than `message.timeout.ms`: every later record fails with it).
        public static let producerFenced = librdkafka(90)
        /// The producer's epoch is not the broker's current one for its id.
        public static let invalidProducerEpoch = librdkafka(47)
        /// The broker expected another sequence number from this idempotent producer: records
        /// were lost or reordered between them. Fatal for librdkafka when it hits the first
        /// request in flight (it can then no longer guarantee order and once-ness).
        public static let outOfOrderSequenceNumber = librdkafka(45)
        /// The broker no longer knows this producer id.
        public static let unknownProducerID = librdkafka(59)
        /// The record was purged from the local queue before it was sent (`rd_kafka_purge`, or
        /// the purge librdkafka does when the producer turns fatal): certainly not written.
        public static let purgedFromQueue = librdkafka(-152)
        /// The record was purged while its request was in flight: possibly written.
        public static let purgedInFlight = librdkafka(-151)
        /// Another record of the same batch was invalid; this one was not written but is fine.
        public static let invalidDifferentRecord = librdkafka(-138)

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
    /// The record itself is at fault: sending it again, to this topic on any healthy cluster,
    /// fails the same way (too large, invalid, corrupt, a bad timestamp). Only such errors justify
    /// dead-lettering a record whose output could not be written; every other delivery error is
    /// about the topic, the cluster or the producer instance (timeouts, unreachable brokers,
    /// authorisation, an unknown topic, fencing) and the record should be kept and sent again.
    public var isAboutTheMessage: Bool
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    public init(
        code: Code, message: String, isRetriable: Bool = false, isFatal: Bool = false, isAboutTheMessage: Bool = false,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.isAboutTheMessage = isAboutTheMessage
        self.underlying = underlying
    }

    public var description: String {
        var text = "KafkaError(\(code)): \(message)"
        if isRetriable { text += " [retriable]" }
        if isFatal { text += " [fatal]" }
        if isAboutTheMessage { text += " [about the message]" }
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
        47,   // INVALID_PRODUCER_EPOCH (librdkafka bumps the epoch; the record can be sent again)
        -152, // _PURGE_QUEUE (never sent)
        -151, // _PURGE_INFLIGHT
        -138, // _INVALID_DIFFERENT_RECORD (another record of the batch was at fault)
    ]

    /// Codes that blame the record itself (see ``isAboutTheMessage``). Not `_INVALID_DIFFERENT_RECORD`
    /// (-138): that one blames another record of the same batch. Not `UNSUPPORTED_FOR_MESSAGE_FORMAT`
    /// (43): that is the topic's message format version.
    static let messageCodes: Set<Int32> = [
        2,    // CORRUPT_MESSAGE
        10,   // MSG_SIZE_TOO_LARGE (the broker's, and librdkafka's local check against message.max.bytes)
        18,   // RECORD_LIST_TOO_LARGE
        32,   // INVALID_TIMESTAMP
        87,   // INVALID_RECORD
        -199, // _BAD_MSG
        -162, // _KEY_SERIALIZATION
        -161, // _VALUE_SERIALIZATION
    ]

    /// Codes after which the client instance is unusable: `_FATAL` (librdkafka's fatal error,
    /// see `rd_kafka_fatal_error`), `_FENCED` (a fenced transactional producer) and
    /// `PRODUCER_FENCED` (an idempotent producer whose epoch the broker refuses; librdkafka 2.16
    /// does not raise a fatal error for it, but every later record fails with it, measured with Tansu).
    static let fatalCodes: Set<Int32> = [-150, -144, 90]

    /// Wraps a librdkafka response code.
    init(rdkafka err: rd_kafka_resp_err_t, context: String? = nil) {
        let raw = Int32(err.rawValue)
        let text = String(cString: rd_kafka_err2str(err))
        self.init(librdkafkaCode: raw, message: context.map { "\($0): \(text)" } ?? text)
    }

    /// An error for a librdkafka or broker code, with the flags this layer derives from the code
    /// (as every error the layer reports for that code carries them).
    ///
    /// - Parameters:
    ///   - raw: librdkafka's `rd_kafka_resp_err_t` value.
    ///   - message: what happened.
    public init(librdkafkaCode raw: Int32, message: String) {
        self.init(
            code: .librdkafka(raw), message: message,
            isRetriable: Self.retriableCodes.contains(raw),
            isFatal: Self.fatalCodes.contains(raw),
            isAboutTheMessage: Self.messageCodes.contains(raw)
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
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isAboutTheMessage: Self.messageCodes.contains(Int32(code.rawValue))
        )
        rd_kafka_error_destroy(error)
    }

    static func closed(_ what: String) -> KafkaError {
        KafkaError(code: .closed, message: "\(what) has been closed")
    }
}
