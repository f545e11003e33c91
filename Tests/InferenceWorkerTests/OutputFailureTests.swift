import Crypto
import Foundation
import InferenceCore
import Kafka
import KafkaTestSupport
import Testing

@testable import InferenceWorker

/// Outputs the broker or the client refuses: no record may stop a partition, no input may be
/// committed past without its outcome (issues 13 and 19).
@Suite(.serialized) struct OutputFailureTests {
    /// The input, read again in the same group after the pipeline stopped: how many records a new
    /// member gets before one sentinel request per partition (0 when everything was committed).
    /// Waiting for the sentinels' predictions, not for a while, proves each partition was read
    /// past its committed offset.
    private func recordsLeftUncommitted(_ harness: PipelineHarness, _ configuration: WorkerConfiguration) async throws -> Int {
        let next = harness.start(configuration)
        try await next.waitUntilAssigned()
        let sentinels = (0..<harness.partitions).map { "sentinel-\($0)-\(UInt32.random(in: 0...UInt32.max))" }
        for (p, id) in sentinels.enumerated() {
            try await harness.send([TestModels.request(p, id: id).json], partition: KafkaPartition(Int32(p)))
        }
        let read = await harness.outcomes.wait(timeout: .seconds(60)) { snapshot in
            Set(sentinels).isSubset(of: Set(snapshot.records.filter { $0.topic == harness.output }.compactMap { ReadPrediction($0)?.id }))
        }
        try await next.stop()
        #expect(read != nil, "every partition's sentinel was predicted")
        return next.pipeline.counters.snapshot.consumed - sentinels.count
    }

    @Test func aRequestWhoseDeadLetterIsTooLargeIsDeadLetteredTruncatedAndItsPartitionMovesOn() async throws {
        let harness = try PipelineHarness(partitions: 1)
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30) // a loaded machine: the graceful stop must not abandon
        configuration.maxPayloadBytes = 4096
        // The worker's producer refuses records over 8,000 bytes (librdkafka: MSG_SIZE_TOO_LARGE),
        // so the oversized request's dead letter (the original 20,000-byte value) cannot be written as it is.
        configuration.producerProperties["message.max.bytes"] = "8000"
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()

        var values: [[UInt8]?] = (0..<10).map { TestModels.request($0, id: "r\($0)").json }
        let huge = [UInt8]((0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        values.insert(huge, at: 4)
        let reports = try await harness.send(values, partition: 0)
        #expect(await harness.waitForOutcomes(11, timeout: .seconds(30)))
        try await running.stop()

        #expect(harness.predictions.count == 10)
        #expect(Set(harness.predictions.map(\.id)) == Set((0..<10).map { "r\($0)" }))
        #expect(harness.deadLetterRecords.count == 1)
        let letter = try #require(harness.deadLetterRecords.first)
        #expect(letter.headers.value("inference.errors.reason") == "oversized_payload")
        #expect(letter.headers.value(DeadLetterTruncation.Key.valueTruncated) == "true")
        #expect(letter.headers.value(DeadLetterTruncation.Key.valueOriginalSize) == "20000")
        let digest = SHA256.hash(data: huge).map { String(format: "%02x", $0) }.joined()
        #expect(letter.headers.value(DeadLetterTruncation.Key.valueSHA256) == digest)
        let kept = try #require(letter.value)
        #expect(kept.count < 8000 && kept.count > 0)
        #expect(Array(huge.prefix(kept.count)) == kept, "the value is the original's prefix")
        #expect(letter.headers.value("__connect.errors.offset") == reports[4].offset.map { String($0.rawValue) })
        #expect(running.pipeline.counters.snapshot.truncatedDeadLetters == 1)
        // Everything was committed: the next member of the group reads nothing again.
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    @Test func aMissingDeadLetterTopicIsCountedReportedAndHoldsItsPartitionBackUntilItExists() async throws {
        let harness = try PipelineHarness(partitions: 1)
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30) // a loaded machine: the graceful stop must not abandon
        configuration.deadLetterTopic = uniqueName("missing-dlt")
        // The embedded broker says the topic does not exist; librdkafka fails such a record with
        // _UNKNOWN_TOPIC after topic.metadata.propagation.max.ms (shortened here from 30 s).
        harness.broker.setTopicError(configuration.effectiveDeadLetterTopic, .unknownTopicOrPartition)
        configuration.producerProperties["topic.metadata.propagation.max.ms"] = "500"
        configuration.producerProperties["topic.metadata.refresh.interval.ms"] = "500"
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()

        var values: [[UInt8]?] = (0..<6).map { TestModels.request($0, id: "r\($0)").json }
        values.insert(Array("not json".utf8), at: 2)
        try await harness.send(values, partition: 0)
        #expect(await harness.outcomes.wait(timeout: .seconds(30)) { $0.records.filter { $0.topic == harness.output }.count >= 6 } != nil)
        // Blocked: counted, reported by the gauge and by readiness.
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while running.pipeline.blockedOutputs == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(running.pipeline.blockedOutputs == 1)
        #expect(running.pipeline.counters.snapshot.blocked == 1)
        let readiness = WorkerHealth.readiness(of: running.pipeline)
        #expect(!readiness.isReady)
        #expect(readiness.outputsBlocked)
        #expect(readiness.json.contains("\"outputs_blocked\":true"))
        let metrics = WorkerMetrics()
        metrics.collect(from: running.pipeline)
        #expect(metrics.render().split(separator: "\n").contains { $0.hasPrefix("inference_worker_blocked_outputs 1") })
        // Nothing is committed past the unwritten dead letter (offset 2).
        #expect(running.pipeline.inFlight.records >= 1)

        // The topic appears: the dead letter is written, the partition moves on, readiness returns.
        try? harness.broker.createTopic(configuration.effectiveDeadLetterTopic, partitions: 1) // the embedded broker may have auto-created it
        harness.broker.setTopicError(configuration.effectiveDeadLetterTopic, nil)
        let cleared = ContinuousClock.now.advanced(by: .seconds(60))
        while running.pipeline.blockedOutputs > 0 || running.pipeline.counters.snapshot.deadLettered < 1, ContinuousClock.now < cleared {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(running.pipeline.counters.snapshot.deadLettered == 1)
        #expect(running.pipeline.blockedOutputs == 0)
        #expect(WorkerHealth.readiness(of: running.pipeline).isReady)
        try await running.stop()
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    /// OUT_OF_ORDER_SEQUENCE_NUMBER on produce makes librdkafka's idempotent producer fatal;
    /// PRODUCER_FENCED makes the Kafka layer report it unusable (librdkafka would bump the epoch for
    /// ever: the real-broker suite's outage test); INVALID_PRODUCER_EPOCH is retried by librdkafka
    /// with a bumped epoch. Either way, nothing is lost and nothing is dead-lettered.
    /// Two brokers: the requests on broker 1, the predictions and dead letters on broker 2, so that
    /// produce errors injected on broker 2 hit only the outputs.
    static func outputsOnTheSecondBroker() throws -> (EmbeddedKafkaBroker, PipelineHarness) {
        let broker = try EmbeddedKafkaBroker(brokerCount: 2, logger: .quiet)
        let harness = try PipelineHarness(partitions: 2, broker: broker)
        for p in 0..<harness.partitions {
            try broker.setPartitionLeader(topic: harness.input, partition: KafkaPartition(Int32(p)), broker: 1)
            try broker.setPartitionLeader(topic: harness.output, partition: KafkaPartition(Int32(p)), broker: 2)
        }
        try broker.setPartitionLeader(topic: harness.deadLetters, partition: 0, broker: 2)
        return (broker, harness)
    }

    @Test(arguments: [
        (KafkaError.Code.librdkafka(45), true), (.librdkafka(90), true), (.librdkafka(47), false),
    ])
    func aFatalProducerErrorIsSurvivedByANewProducerWithoutLossOrManualRestart(_ code: KafkaError.Code, fatalHere: Bool) async throws {
        // Two brokers: the input's partitions lead on broker 1, the outputs' on broker 2, whose
        // produce requests get the injected errors (the test's own producer writes to broker 1).
        let (broker, harness) = try Self.outputsOnTheSecondBroker()
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30) // a loaded machine: the graceful stop must not abandon
        configuration.producerRecoveryTimeout = .seconds(60)
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        try await harness.send((0..<200).map { TestModels.request($0, id: "r\($0)").json })
        #expect(await harness.waitForOutcomes(200, timeout: .seconds(30)))
        // OUT_OF_ORDER_SEQUENCE_NUMBER / PRODUCER_FENCED on produce requests make the producer
        // unusable (librdkafka's fatal error; the Kafka layer's isFatal): it is recreated.
        // INVALID_PRODUCER_EPOCH is not fatal (OutputPublisher.classify: transient): the records
        // fail, librdkafka bumps the epoch, and the worker sends them again with back-off.
        for _ in 0..<3 { try broker.injectBrokerRequestError(code, api: .produce, broker: 2) }
        try await harness.send((200..<600).map { TestModels.request($0, id: "r\($0)").json })
        #expect(await harness.outcomes.wait(timeout: .seconds(120)) { snapshot in
            Set(snapshot.records.filter { $0.topic == harness.output }.compactMap { ReadPrediction($0)?.id }).count >= 600
        } != nil, "every request predicted")
        let counters = running.pipeline.counters.snapshot
        print("fatal producer test (\(code)): \(counters.producerRecoveries) recoveries, \(counters.resent) outputs resent, \(counters.retried) retries")
        try await running.stop()
        if fatalHere {
            #expect(counters.producerRecoveries >= 1, "the producer was recreated")
        } else {
            #expect(counters.producerRecoveries + counters.retried > 0, "the injected errors were seen")
        }
        #expect(harness.deadLetterRecords.isEmpty, "an outage of the producer is not the records' fault")
        let ids = harness.predictions.map(\.id)
        #expect(Set(ids) == Set((0..<600).map { "r\($0)" }))
        // Duplicates only from outputs sent again after the recreation.
        #expect(ids.count - 600 <= counters.resent)
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    /// How the outputs failing when their partitions are lost would be sent again.
    enum SentAgainBy: String, CaseIterable, CustomTestStringConvertible {
        /// Their deliveries time out (`message.timeout.ms`) and the worker retries them.
        case retry
        /// The producer is fenced when the broker returns and the worker recreates it.
        case recovery
        var testDescription: String { rawValue }
    }

    /// The CI failure of the real-broker outage test, in the embedded broker: the outputs' broker
    /// is down, so the worker's outputs fail; the group's coordinator goes down too, so the worker's
    /// session times out and it loses its partitions. The outputs of those partitions must not be
    /// sent again (retried, or resent by a recreated producer): the worker reads the inputs again
    /// from the committed offsets when it rejoins, and each would get two predictions. Three
    /// brokers: the requests on 1, the outputs on 2, the workers' group coordinated by 3.
    @Test(arguments: SentAgainBy.allCases)
    func outputsOfLostPartitionsAreNotSentAgainSoEachInputGetsOnePrediction(_ path: SentAgainBy) async throws {
        let broker = try EmbeddedKafkaBroker(brokerCount: 3, logger: .quiet)
        let harness = try PipelineHarness(partitions: 2, broker: broker, readerCoordinator: 1)
        for p in 0..<harness.partitions {
            try broker.setPartitionLeader(topic: harness.input, partition: KafkaPartition(Int32(p)), broker: 1)
            try broker.setPartitionLeader(topic: harness.output, partition: KafkaPartition(Int32(p)), broker: 2)
        }
        try broker.setPartitionLeader(topic: harness.deadLetters, partition: 0, broker: 2)
        var configuration = harness.configuration()
        try broker.setGroupCoordinator(configuration.groupID, broker: 3)
        configuration.drainTimeout = .seconds(30) // a loaded machine: the graceful stop must not abandon
        configuration.producerRecoveryTimeout = .seconds(120)
        configuration.consumerProperties["session.timeout.ms"] = "3000"
        if path == .retry { configuration.producerProperties["message.timeout.ms"] = "1500" }
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        let first = try await harness.send((0..<100).map { TestModels.request($0, id: "r\($0)").json })
        #expect(await harness.waitForOutcomes(100, timeout: .seconds(30)))
        // Committed (on the 200 ms timer) before the loss: else they would be read again too.
        var ends: [KafkaTopicPartition: KafkaOffset] = [:]
        for report in first {
            guard let offset = report.offset else { continue }
            let partition = KafkaTopicPartition(topic: harness.input, partition: report.partition)
            ends[partition] = KafkaOffset(max(ends[partition]?.rawValue ?? 0, offset.rawValue + 1))
        }
        let partitions = Array(ends.keys)
        #expect(await poll(running, timeout: .seconds(30)) { _ in
            (try? running.pipeline.consumer.current?.committedOffsets(for: partitions)) == ends
        }, "the first 100 committed")

        // The outputs' broker goes down: 200 more requests are scored, their outputs cannot be written.
        try broker.setBrokerDown(2)
        try await harness.send((100..<300).map { TestModels.request($0, id: "r\($0)").json })
        #expect(await poll(running, timeout: .seconds(30)) { $0.batchedRecords >= 300 }, "all 300 scored")
        // The coordinator goes down: the worker's session times out and its partitions are lost.
        let rebalances = running.pipeline.counters.snapshot.rebalances
        try broker.setBrokerDown(3)
        #expect(await poll(running, timeout: .seconds(30)) { $0.rebalances > rebalances }, "the partitions were lost")
        if path == .recovery {
            // The queued outputs go out when broker 2 is back, and are refused as fenced: the
            // producer is recreated, and has every unacknowledged output to send again.
            for _ in 0..<2 { try broker.injectBrokerRequestError(.librdkafka(90), api: .produce, broker: 2) }
            try broker.setBrokerUp(2)
        }
        // Timed out and retried, or found by the recovery: all 200 are of lost partitions.
        #expect(await poll(running, timeout: .seconds(60)) { $0.discardedOutputs >= 200 }, "the lost partitions' outputs discarded")
        if path == .retry { try broker.setBrokerUp(2) }
        try broker.setBrokerUp(3)

        // The worker rejoins, reads the 200 again from the committed offsets and predicts them once.
        let all = Set((0..<300).map { "r\($0)" })
        #expect(await harness.outcomes.wait(timeout: .seconds(90)) { snapshot in
            all.isSubset(of: Set(snapshot.records.filter { $0.topic == harness.output }.compactMap { ReadPrediction($0)?.id }))
        } != nil, "every request predicted")
        // Settled: the 200 read again (500 consumed), nothing in flight, no output unacknowledged
        // (an output of a lost partition sent again would be delivered before this holds).
        #expect(await poll(running, timeout: .seconds(60)) { counters in
            counters.consumed >= 500 && running.pipeline.inFlight.records == 0 && running.pipeline.publisher.unacknowledged == 0
        }, "settled")
        try await running.stop()
        let counters = running.pipeline.counters.snapshot
        // Everything the worker wrote is read back before the count (delivered predictions are
        // counted, whether their partition was still this worker's or not).
        #expect(await harness.outcomes.wait(timeout: .seconds(30)) { snapshot in
            snapshot.records.filter { $0.topic == harness.output }.count >= counters.predicted
        } != nil, "every prediction written was read back")
        print("lost partitions (\(path)): \(counters.discardedOutputs) outputs discarded, \(counters.resent) resent, \(counters.retried) retried, \(counters.producerRecoveries) recoveries")
        switch path {
        case .retry: #expect(counters.retried >= 200, "the outputs timed out and were retried")
        case .recovery: #expect(counters.producerRecoveries >= 1, "the producer was recreated")
        }
        #expect(counters.discardedOutputs == 200)
        let ids = harness.predictions.map(\.id)
        #expect(Set(ids) == all)
        #expect(ids.count == 300, "one prediction per request: \(ids.count - 300) duplicates")
        #expect(harness.deadLetterRecords.isEmpty)
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    /// Polls the pipeline's counters until `condition` holds or `timeout` passes; returns whether it held.
    private func poll(_ running: RunningPipeline, timeout: Duration, until condition: (PipelineCounters.Snapshot) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if condition(running.pipeline.counters.snapshot) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition(running.pipeline.counters.snapshot)
    }

    @Test func aProducerThatCannotBeRecoveredInTimeStopsTheWorkerWithoutCommittingAndNothingIsLost() async throws {
        let (broker, harness) = try Self.outputsOnTheSecondBroker()
        var configuration = harness.configuration()
        configuration.producerRecoveryTimeout = .seconds(2)
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        try await harness.send((0..<100).map { TestModels.request($0, id: "r\($0)").json })
        #expect(await harness.waitForOutcomes(100, timeout: .seconds(60)))
        try await Task.sleep(for: .milliseconds(500)) // the first 100 are committed on the 200 ms timer

        // The next eight produce requests to the outputs' broker fail fatally, a second each: each
        // recreated producer fails again, and 2 s after the first fatal error without a delivery
        // the worker gives up. librdkafka sends one request per partition, so a generation uses one
        // or two of them: the third generation's failure comes at the latest with the sixth, and
        // the restarted worker meets what is left. (With four, a third generation could find the
        // stack empty and recover, which is right for the worker and left this test waiting.)
        for _ in 0..<8 { try broker.injectBrokerRequestError(.librdkafka(45), rtt: .seconds(1), api: .produce, broker: 2) }
        try await harness.send((100..<150).map { TestModels.request($0, id: "r\($0)").json })
        let ended = await running.outcome(within: .seconds(60))
        #expect(ended != nil, "run() ends within a minute")
        if case .success = ended { Issue.record("run() ends with the producer's error, not normally") }
        if case .failure(let error) = ended { #expect(error is KafkaError, "run() ends with the producer's error: \(error)") }
        #expect(running.pipeline.counters.snapshot.producerRecoveries >= 1)

        // Nothing was committed past the 50 without an outcome: the next member reads them again
        // (once the broker accepts produce requests again) and every request gets its prediction.
        var next = configuration
        next.producerRecoveryTimeout = .seconds(120)
        let restarted = harness.start(next)
        #expect(await harness.outcomes.wait(timeout: .seconds(120)) { snapshot in
            Set(snapshot.records.filter { $0.topic == harness.output }.compactMap { ReadPrediction($0)?.id }).count >= 150
        } != nil, "every request predicted after the restart")
        try await restarted.stop()
        #expect(restarted.pipeline.counters.snapshot.consumed >= 50, "the inputs without an outcome were redelivered")
        #expect(Set(harness.predictions.map(\.id)) == Set((0..<150).map { "r\($0)" }))
        await harness.close()
    }

    // MARK: - Dead letters refused for something about the record (issue 13)

    /// Two brokers: the dead-letter topic leads on broker 2 (where produce errors are injected),
    /// the input and output topics on broker 1.
    private func deadLetterHarness() throws -> PipelineHarness {
        let broker = try EmbeddedKafkaBroker(brokerCount: 2, logger: .quiet)
        let harness = try PipelineHarness(partitions: 1, broker: broker)
        try broker.setPartitionLeader(topic: harness.deadLetters, partition: 0, broker: 2)
        for topic in [harness.input, harness.output] { try broker.setPartitionLeader(topic: topic, partition: 0, broker: 1) }
        return harness
    }

    private static let originalHeaders = [KafkaHeader(key: "traceparent", string: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]

    /// Ten good requests and one bad one (at index 4, dead-lettered) on partition 0; the dead
    /// letter's first produce request gets `code` from the broker.
    private func runWithRefusedDeadLetter(
        _ harness: PipelineHarness, _ configuration: WorkerConfiguration, bad: [UInt8], refusals: [KafkaError.Code]
    ) async throws -> (reports: [KafkaDeliveryReport], counters: PipelineCounters.Snapshot) {
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        for code in refusals { try harness.broker.injectBrokerRequestError(code, api: .produce, broker: 2) }
        var values: [[UInt8]?] = (0..<10).map { TestModels.request($0, id: "r\($0)").json }
        values.insert(bad, at: 4)
        let reports = try await harness.send(values, keys: values.indices.map { Array("key-\($0)".utf8) }, headers: Self.originalHeaders, partition: 0)
        try await running.waitForOwnOutcomes(11, timeout: .seconds(60))
        #expect(await harness.outcomes.wait(timeout: .seconds(30)) { $0.records.filter { $0.topic == harness.output }.count >= 10 } != nil)
        try await running.stop()
        return (reports, running.pipeline.counters.snapshot)
    }

    @Test func aDeadLetterRefusedForItsTimestampIsWrittenWithTheCurrentTimeAndSaysSo() async throws {
        let harness = try deadLetterHarness()
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30)
        let bad = Array("not json".utf8)
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let (reports, counters) = try await runWithRefusedDeadLetter(harness, configuration, bad: bad, refusals: [.invalidTimestamp])
        #expect(await harness.waitForOutcomes(11, timeout: .seconds(30)))

        #expect(Set(harness.predictions.map(\.id)) == Set((0..<10).map { "r\($0)" }))
        #expect(harness.predictions.count == 10)
        #expect(harness.deadLetterRecords.count == 1, "exactly one dead letter")
        let letter = try #require(harness.deadLetterRecords.first)
        #expect(letter.headers.value("__connect.errors.offset") == reports[4].offset.map { String($0.rawValue) })
        #expect(letter.headers.value("inference.errors.reason") == "malformed_json")
        #expect(letter.headers.value(DeadLetterHeaders.InferenceKey.timestampReplaced) == "true")
        #expect(letter.headers.value(DeadLetterHeaders.InferenceKey.timestampOriginal) == "1700000000004")
        #expect((letter.timestamp?.milliseconds ?? 0) >= before, "written with the current time, not the input's")
        // Nothing else changed: the original key, value and headers are all there.
        #expect(letter.value == bad)
        #expect(letter.key == Array("key-4".utf8))
        #expect(Array(letter.headers.prefix(1)) == Self.originalHeaders)
        #expect(letter.headers.value(DeadLetterTruncation.Key.valueTruncated) == nil)
        #expect(counters.deadLettered == 1 && counters.predicted == 10 && counters.droppedDeadLetters == 0)
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    @Test(arguments: [KafkaError.Code.invalidRecord, .corruptMessage])
    func aDeadLetterRefusedAsInvalidIsWrittenOnceInItsMinimalForm(_ code: KafkaError.Code) async throws {
        let harness = try deadLetterHarness()
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30)
        let bad = Array("not json at all".utf8)
        let (reports, counters) = try await runWithRefusedDeadLetter(harness, configuration, bad: bad, refusals: [code])
        #expect(await harness.waitForOutcomes(11, timeout: .seconds(30)))

        #expect(Set(harness.predictions.map(\.id)) == Set((0..<10).map { "r\($0)" }))
        #expect(harness.deadLetterRecords.count == 1, "exactly one dead letter")
        let letter = try #require(harness.deadLetterRecords.first)
        let headers = letter.headers
        // The context stays...
        #expect(headers.value("__connect.errors.offset") == reports[4].offset.map { String($0.rawValue) })
        #expect(headers.value("__connect.errors.topic") == harness.input)
        #expect(headers.value("inference.errors.reason") == "malformed_json")
        // ...the record's own key, value and headers go, described by size and digest.
        #expect((letter.value ?? []).isEmpty)
        #expect((letter.key ?? []).isEmpty)
        #expect(headers.value("traceparent") == nil)
        #expect(headers.value(DeadLetterTruncation.Key.valueTruncated) == "true")
        #expect(headers.value(DeadLetterTruncation.Key.valueOriginalSize) == String(bad.count))
        #expect(headers.value(DeadLetterTruncation.Key.valueSHA256) == SHA256.hash(data: bad).map { String(format: "%02x", $0) }.joined())
        #expect(headers.value(DeadLetterTruncation.Key.keyTruncated) == "true")
        #expect(headers.value(DeadLetterTruncation.Key.headersTruncated) == "true")
        #expect(headers.value(DeadLetterTruncation.Key.headersOriginalCount) == "1")
        #expect(counters.truncatedDeadLetters == 1)
        #expect(counters.deadLettered == 1 && counters.droppedDeadLetters == 0)
        #expect(counters.retried == 0, "a refusal about the record is not retried as it is")
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    @Test func aDeadLetterWhoseMinimalFormIsRefusedTooIsGivenUpCountedAndItsPartitionMovesOn() async throws {
        let harness = try deadLetterHarness()
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30)
        // The original form and the minimal form are both refused.
        let (_, counters) = try await runWithRefusedDeadLetter(harness, configuration, bad: Array("broken".utf8), refusals: [.invalidRecord, .invalidRecord])
        #expect(harness.predictions.count == 10)
        try await Task.sleep(for: .milliseconds(500))
        #expect(harness.deadLetterRecords.isEmpty, "nothing could be written")
        #expect(counters.droppedDeadLetters == 1)
        #expect(counters.deadLettered == 0)
        #expect(counters.outcomes == 11, "every record has exactly one outcome")
        let metrics = WorkerMetrics()
        PipelineCounters(metrics: metrics).update { $0.droppedDeadLetters += 1 }
        #expect(metrics.render().split(separator: "\n").contains { $0.hasPrefix("inference_worker_dropped_dead_letters_total 1") })
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    @Test func aDeadLetterTheClientRefusesInEveryFormIsGivenUpWithoutRecursingOnItsStack() async throws {
        // The client's own size check (rd_kafka_producev fails synchronously) refuses every form
        // of the dead letter: its context headers alone (a 2,000-byte worker id) exceed
        // message.max.bytes. Before, each refusal sent the next form on the same stack, for ever.
        let harness = try PipelineHarness(partitions: 1)
        var configuration = harness.configuration(worker: String(repeating: "w", count: 2000))
        configuration.drainTimeout = .seconds(30)
        configuration.producerProperties["message.max.bytes"] = "1000"
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        var values: [[UInt8]?] = (0..<10).map { TestModels.request($0, id: "r\($0)").json }
        values.insert(Array("broken".utf8), at: 4)
        try await harness.send(values, partition: 0)
        try await running.waitForOwnOutcomes(11, timeout: .seconds(60))
        try await running.stop()
        let counters = running.pipeline.counters.snapshot
        #expect(counters.predicted == 10)
        #expect(counters.droppedDeadLetters == 1)
        #expect(harness.deadLetterRecords.isEmpty)
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    @Test func aDeadLetterTheBrokerRefusesAsTooLargeIsWrittenTruncated() async throws {
        // The broker (not the client's local check: the record is far below message.max.bytes)
        // refuses the dead letter with MSG_SIZE_TOO_LARGE in its produce response.
        let harness = try deadLetterHarness()
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30)
        configuration.maxPayloadBytes = 4096
        let huge = [UInt8]((0..<6000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let (reports, counters) = try await runWithRefusedDeadLetter(harness, configuration, bad: huge, refusals: [.messageTooLarge])
        #expect(await harness.waitForOutcomes(11, timeout: .seconds(30)))

        #expect(harness.predictions.count == 10)
        #expect(harness.deadLetterRecords.count == 1)
        let letter = try #require(harness.deadLetterRecords.first)
        #expect(letter.headers.value("__connect.errors.offset") == reports[4].offset.map { String($0.rawValue) })
        #expect(letter.headers.value("inference.errors.reason") == "oversized_payload")
        #expect(letter.headers.value(DeadLetterTruncation.Key.valueTruncated) == "true")
        #expect(letter.headers.value(DeadLetterTruncation.Key.valueOriginalSize) == "6000")
        #expect(letter.headers.value(DeadLetterTruncation.Key.valueSHA256) == SHA256.hash(data: huge).map { String(format: "%02x", $0) }.joined())
        let kept = try #require(letter.value)
        #expect(kept.count < huge.count && kept.count > 0)
        #expect(Array(huge.prefix(kept.count)) == kept, "the value is the original's prefix")
        #expect(counters.truncatedDeadLetters == 1 && counters.deadLettered == 1)
        #expect(try await recordsLeftUncommitted(harness, configuration) == 0)
        await harness.close()
    }

    // MARK: - Readiness during producer recovery (issue 19)

    @Test func readinessIsNotReadyWhileTheProducerIsRecreatedAndReadyAgainAfter() async throws {
        let (broker, harness) = try Self.outputsOnTheSecondBroker()
        var configuration = harness.configuration()
        configuration.drainTimeout = .seconds(30)
        configuration.producerRecoveryTimeout = .seconds(120)
        let running = harness.start(configuration)
        try await running.waitUntilAssigned()
        try await harness.send((0..<100).map { TestModels.request($0, id: "r\($0)").json })
        try await running.waitForOwnOutcomes(100, timeout: .seconds(60))
        let ready = ContinuousClock.now.advanced(by: .seconds(30))
        while !WorkerHealth.readiness(of: running.pipeline).isReady, ContinuousClock.now < ready { try await Task.sleep(for: .milliseconds(20)) }
        #expect(WorkerHealth.readiness(of: running.pipeline).isReady, "ready before the fault")

        // Sample readiness every millisecond while the producer fails fatally (OUT_OF_ORDER_SEQUENCE_NUMBER,
        // answered after 300 ms) and is recreated: at least two recreations, the second after a back-off.
        let sampler = Task.detached { () -> [WorkerHealth.Report] in
            var notReady: [WorkerHealth.Report] = []
            while !Task.isCancelled {
                let report = WorkerHealth.readiness(of: running.pipeline)
                if !report.isReady { notReady.append(report) }
                try? await Task.sleep(for: .milliseconds(1))
            }
            return notReady
        }
        for _ in 0..<4 { try broker.injectBrokerRequestError(.outOfOrderSequenceNumber, rtt: .milliseconds(300), api: .produce, broker: 2) }
        try await harness.send((100..<300).map { TestModels.request($0, id: "r\($0)").json })
        try await running.waitForOwnOutcomes(300, timeout: .seconds(120))
        sampler.cancel()
        let notReady = await sampler.value
        #expect(running.pipeline.counters.snapshot.producerRecoveries >= 1, "the producer was recreated")
        #expect(notReady.contains { !$0.producerUp }, "not ready (producer_up false) while the producer was recreated")
        #expect(notReady.contains { $0.json.contains("\"producer_up\":false") && $0.json.contains("\"status\":\"not ready\"") })

        // Recovered: ready again.
        let recovered = ContinuousClock.now.advanced(by: .seconds(30))
        while !WorkerHealth.readiness(of: running.pipeline).isReady, ContinuousClock.now < recovered { try await Task.sleep(for: .milliseconds(20)) }
        let after = WorkerHealth.readiness(of: running.pipeline)
        #expect(after.isReady && after.producerUp, "ready again after recovery: \(after.json)")
        try await running.stop()
        await harness.close()
    }
}
