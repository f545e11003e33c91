import Kafka
import KafkaTestSupport
import Testing

@Suite struct ConsumerGroupTests {
    @Test func twoMembersSplitThePartitionsAndTheSurvivorTakesAllWhenOneLeaves() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("group")
        try broker.createTopic(topic, partitions: 4)
        let group = uniqueName("g")
        let all = Set((0..<4).map { KafkaTopicPartition(topic: topic, partition: KafkaPartition(Int32($0))) })

        let probeA = ConsumerProbe()
        let a = try probeA.makeConsumer(.test(broker, group: group, topics: [topic]))
        #expect(await probeA.wait { $0.assignment == all } != nil, "the first member gets every partition")

        let probeB = ConsumerProbe()
        let b = try probeB.makeConsumer(.test(broker, group: group, topics: [topic]))
        let splitB = try #require(await probeB.wait { $0.assignment.count == 2 })
        let splitA = try #require(await probeA.wait { $0.assignment.count == 2 })
        #expect(splitA.assignment.isDisjoint(with: splitB.assignment))
        #expect(splitA.assignment.union(splitB.assignment) == all)

        // Cooperative-sticky: A gave up exactly the partitions B got, and its revoke hook saw
        // them still assigned (the hook runs before they are released).
        let revokeA = try #require(splitA.revokes.first)
        #expect(Set(revokeA.partitions) == splitB.assignment)
        #expect(Set(revokeA.partitions).isSubset(of: Set(revokeA.assignmentDuringHook)))

        await b.close()
        #expect(await probeA.wait { $0.assignment == all } != nil, "the survivor gets every partition back")
        let revokeB = try #require(probeB.snapshot.revokes.last)
        #expect(Set(revokeB.partitions) == splitB.assignment)
        #expect(Set(revokeB.partitions).isSubset(of: Set(revokeB.assignmentDuringHook)))
        #expect(probeB.snapshot.lost.isEmpty)
        await a.close()
    }

    @Test func eagerStrategyIsAvailable() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        defer { withExtendedLifetime(broker) {} } // outlive the clients: no refused-connection noise
        let topic = uniqueName("eager")
        try broker.createTopic(topic, partitions: 2)
        var configuration = KafkaConsumerConfiguration.test(broker, group: uniqueName("g"), topics: [topic])
        configuration.assignmentStrategy = .range
        let probe = ConsumerProbe()
        let consumer = try probe.makeConsumer(configuration)
        #expect(await probe.wait { $0.assignment.count == 2 } != nil)
        await consumer.close()
        #expect(probe.snapshot.revokes.count == 1, "closing revokes through the hook")
    }
}
