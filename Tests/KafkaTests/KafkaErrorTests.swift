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

    @Test func codesHaveStableNamesAndMessagesSayWhatHappened() {
        #expect(KafkaError.Code.queueFull.description == "_QUEUE_FULL")
        #expect(KafkaError.Code.notEnoughReplicas.description == "NOT_ENOUGH_REPLICAS")
        #expect(KafkaError.Code.invalidConfiguration.description == "INVALID_CONFIGURATION")
        let error = KafkaError(rdkafka: .init(rawValue: -184), context: "producing to t")
        #expect(error.message.hasPrefix("producing to t: "))
        #expect("\(error)".contains("[retriable]"))
    }
}
