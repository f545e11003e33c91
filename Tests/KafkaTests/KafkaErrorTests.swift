@testable import Kafka
import Testing

@Suite struct KafkaErrorTests {
    @Test(arguments: [
        (KafkaError.Code.queueFull, true), (.timedOut, true), (.messageTimedOut, true), (.allBrokersDown, true),
        (.notEnoughReplicas, true), (.notLeaderForPartition, true), (.requestTimedOut, true), (.transport, true),
        (.messageTooLarge, false), (.librdkafka(29) /* TOPIC_AUTHORIZATION_FAILED */, false), (.librdkafka(2) /* CORRUPT_MESSAGE */, false),
    ])
    func retriabilityFollowsTheCode(code: KafkaError.Code, retriable: Bool) {
        let error = KafkaError(rdkafka: .init(rawValue: code.librdkafkaCode!))
        #expect(error.isRetriable == retriable, "\(code)")
        #expect(!error.isFatal)
    }

    @Test func fatalErrorsAreFlagged() {
        #expect(KafkaError(rdkafka: .init(rawValue: -150)).isFatal)
    }

    @Test(arguments: [
        (KafkaError.Code.fatal, true), (.producerFenced, true), (.librdkafka(-144) /* _FENCED */, true),
        (.invalidProducerEpoch, false), (.outOfOrderSequenceNumber, false), (.messageTimedOut, false), (.purgedFromQueue, false),
    ])
    func producerFencingIsFatalForTheInstance(code: KafkaError.Code, fatal: Bool) {
        #expect(KafkaError(rdkafka: .init(rawValue: code.librdkafkaCode!)).isFatal == fatal, "\(code)")
    }

    /// Only errors about the record itself may justify dead-lettering it; broker outages, topic
    /// problems and producer fencing must not.
    @Test(arguments: [
        (KafkaError.Code.messageTooLarge, true), (.invalidRecord, true), (.librdkafka(2) /* CORRUPT_MESSAGE */, true),
        (.librdkafka(32) /* INVALID_TIMESTAMP */, true), (.librdkafka(18) /* RECORD_LIST_TOO_LARGE */, true),
        (.invalidDifferentRecord, false), (.unknownTopicOrPartition, false), (.topicAuthorizationFailed, false),
        (.messageTimedOut, false), (.transport, false), (.allBrokersDown, false), (.requestTimedOut, false),
        (.producerFenced, false), (.invalidProducerEpoch, false), (.outOfOrderSequenceNumber, false),
        (.purgedFromQueue, false), (.purgedInFlight, false), (.fatal, false), (.unknownPartition, false),
    ])
    func errorsAboutTheMessageAreToldApart(code: KafkaError.Code, aboutTheMessage: Bool) {
        let error = KafkaError(rdkafka: .init(rawValue: code.librdkafkaCode!))
        #expect(error.isAboutTheMessage == aboutTheMessage, "\(code)")
        #expect(!(error.isAboutTheMessage && error.isRetriable), "an error about the record cannot be retried away")
    }

    @Test func codesHaveStableNamesAndMessagesSayWhatHappened() {
        #expect(KafkaError.Code.queueFull.description == "_QUEUE_FULL")
        #expect(KafkaError.Code.notEnoughReplicas.description == "NOT_ENOUGH_REPLICAS")
        #expect(KafkaError.Code.invalidConfiguration.description == "INVALID_CONFIGURATION")
        let error = KafkaError(rdkafka: .init(rawValue: -184), context: "producing to t")
        #expect(error.message.hasPrefix("producing to t: "))
        #expect("\(error)".contains("[retriable]"))
    }
}
