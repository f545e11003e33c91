@testable import Kafka
import KafkaTestSupport
import Testing

@Suite struct ConfigurationTests {
    private func consumerError(_ change: (inout KafkaConsumerConfiguration) -> Void) -> KafkaError? {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: ["localhost:9092"], groupID: "g", topics: ["t"])
        change(&configuration)
        do {
            let consumer = try KafkaConsumer(configuration: configuration, logger: .quiet) { _ in }
            Task { await consumer.close() }
            return nil
        } catch {
            return error
        }
    }

    enum BadConsumerSetting: CaseIterable, Sendable {
        case emptyBootstrap, noPort, badPort, emptyGroup, noTopics, zeroBatch, heartbeatAboveSession, zeroCommitInterval, zeroPrefetch

        func apply(to c: inout KafkaConsumerConfiguration) {
            switch self {
            case .emptyBootstrap: c.bootstrapServers = []
            case .noPort: c.bootstrapServers = ["localhost"]
            case .badPort: c.bootstrapServers = ["localhost:99999"]
            case .emptyGroup: c.groupID = " "
            case .noTopics: c.topics = []
            case .zeroBatch: c.maxPollRecords = 0
            case .heartbeatAboveSession: c.heartbeatInterval = .seconds(60)
            case .zeroCommitInterval: c.autoCommitInterval = .zero
            case .zeroPrefetch: c.prefetchRecordsPerPartition = 0
            }
        }

        /// What the error message must name so the user knows what to fix.
        var mentions: String {
            switch self {
            case .emptyBootstrap: "bootstrapServers"
            case .noPort, .badPort: "host:port"
            case .emptyGroup: "groupID"
            case .noTopics: "topics"
            case .zeroBatch: "maxPollRecords"
            case .heartbeatAboveSession: "heartbeatInterval"
            case .zeroCommitInterval: "autoCommitInterval"
            case .zeroPrefetch: "prefetchRecordsPerPartition"
            }
        }
    }

    @Test(arguments: BadConsumerSetting.allCases)
    func invalidConsumerConfigurationIsRejectedWithAMessageNamingTheField(_ setting: BadConsumerSetting) {
        let error = consumerError { setting.apply(to: &$0) }
        #expect(error?.code == .invalidConfiguration, "\(setting)")
        #expect(error?.message.contains(setting.mentions) == true, "\(setting): \(error?.message ?? "no error")")
    }

    @Test func unknownRawKeysAreReportedNotCrashed() {
        let error = consumerError { $0.additionalProperties["no.such.property"] = "1" }
        #expect(error?.code == .unknownConfigurationKey)
        #expect(error?.message.contains("'no.such.property'") == true)
        #expect(error?.message.contains(KafkaLibrary.versionString) == true)
    }

    @Test func invalidRawValuesNameTheKey() {
        let error = consumerError { $0.additionalProperties["session.timeout.ms"] = "soon" }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("session.timeout.ms") == true)
    }

    @Test func secretValuesAreNotEchoedInErrors() {
        let error = consumerError { $0.additionalProperties["ssl.key.password"] = "hunter2"; $0.additionalProperties["ssl.key.location"] = "/nonexistent/key.pem" }
        // Whatever librdkafka says (it may accept both), the password never appears.
        #expect(error.map { !"\($0)".contains("hunter2") } ?? true)
        #expect(RDKafkaConfig.isSecret("sasl.password"))
        #expect(RDKafkaConfig.isSecret("ssl.key.password"))
        #expect(!RDKafkaConfig.isSecret("bootstrap.servers"))
    }

    @Test func producerConfigurationIsValidated() {
        var configuration = KafkaProducerConfiguration(bootstrapServers: ["localhost:9092"])
        configuration.additionalProperties["compression.codec"] = "brotli"
        #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: .quiet) }
        configuration = KafkaProducerConfiguration(bootstrapServers: [])
        #expect(throws: KafkaError.self) { try configuration.validate() }
        configuration = KafkaProducerConfiguration(bootstrapServers: ["localhost:9092"])
        configuration.linger = .milliseconds(-1)
        #expect(throws: KafkaError.self) { try configuration.validate() }
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let consumer = Dictionary(uniqueKeysWithValues: KafkaConsumerConfiguration(bootstrapServers: ["b:1"], groupID: "g", topics: ["t"]).properties)
        #expect(consumer["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(consumer["enable.auto.offset.store"] == "false")
        #expect(consumer["auto.offset.reset"] == "earliest")
        // Prefetch is bounded per partition (each has a queue of its own).
        #expect(consumer["queued.min.messages"] == "1000")
        #expect(consumer["queued.max.messages.kbytes"] == "1024")
        // Only runtimes that know the key get it (2.0.2 would reject it as unknown).
        if KafkaLibrary.version >= KafkaVersion(major: 2, minor: 2, patch: 0) {
            #expect(consumer["fetch.queue.backoff.ms"] == "10")
        } else {
            #expect(consumer["fetch.queue.backoff.ms"] == nil)
        }
        let producer = Dictionary(uniqueKeysWithValues: KafkaProducerConfiguration(bootstrapServers: ["b:1"]).properties)
        #expect(producer["enable.idempotence"] == "true")
        #expect(producer["partitioner"] == "murmur2_random")
    }

    @Test func rawPropertiesOverrideTypedOnes() {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: ["b:1"], groupID: "g", topics: ["t"])
        configuration.additionalProperties["partition.assignment.strategy"] = "range"
        #expect(configuration.properties.last { $0.0 == "partition.assignment.strategy" }?.1 == "range")
    }
}
