import Foundation
import Kafka
import KafkaTestSupport
import Testing

/// ``KafkaTopicSnapshot``: a compacted topic read as a table, from its first offset to its end.
@Suite struct TopicSnapshotTests {
    func produce(_ broker: EmbeddedKafkaBroker, _ topic: String, _ records: [(key: String?, value: String?, partition: Int32)]) async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
        configuration.clientID = "snapshot-test"
        let producer = try KafkaProducer(configuration: configuration, logger: .quiet)
        for r in records {
            _ = try await producer.sendAndWait(KafkaProducerMessage(
                topic: topic, partition: KafkaPartition(r.partition), key: r.key.map { Array($0.utf8) }, value: r.value.map { Array($0.utf8) }
            ))
        }
        _ = await producer.close()
    }

    @Test func readsEveryPartitionToItsEndAndKeepsTheLatestValuePerKey() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        let topic = "snapshot-\(UUID().uuidString.prefix(8))"
        try broker.createTopic(topic, partitions: 3)
        try await produce(broker, topic, [
            ("a", "a1", 0), ("b", "b1", 1), ("a", "a2", 0), (nil, "keyless", 2), ("b", nil, 1), ("c", "c1", 2),
        ])
        let snapshot = try await KafkaTopicSnapshot.read(topic: topic, bootstrapServers: [broker.bootstrapServers], timeout: .seconds(20), logger: .quiet)
        #expect(snapshot.records.count == 6)
        #expect(snapshot.records.map(\.partition.rawValue) == [0, 0, 1, 1, 2, 2])
        #expect(snapshot.records.filter { $0.partition.rawValue == 0 }.map(\.offset.rawValue) == [0, 1])
        let table = snapshot.latestByKey.mapValues { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        // b was deleted by its tombstone; the keyless record is not in the table.
        #expect(table == [Array("a".utf8): "a2", Array("c".utf8): "c1"])
    }

    @Test func anEmptyTopicIsAnEmptySnapshot() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        let topic = "snapshot-\(UUID().uuidString.prefix(8))"
        try broker.createTopic(topic, partitions: 2)
        let snapshot = try await KafkaTopicSnapshot.read(topic: topic, bootstrapServers: [broker.bootstrapServers], timeout: .seconds(20), logger: .quiet)
        #expect(snapshot.records.isEmpty)
    }

    @Test func aMissingTopicIsAnErrorNamingIt() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        await #expect {
            _ = try await KafkaTopicSnapshot.read(topic: "absent", bootstrapServers: [broker.bootstrapServers], timeout: .seconds(10), logger: .quiet)
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .unknownTopicOrPartition && error.message.contains("topic absent does not exist")
        }
    }
}
