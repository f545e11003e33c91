import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Logging
import Synchronization

/// Small in-memory models for pipeline tests.
enum TestModels {
    /// Three numeric features in [-100, 100] and a one-hot colour; binary output.
    static let schema = InputSchema(features: [
        .numeric("x0", minimum: -100, maximum: 100),
        .numeric("x1", minimum: -100, maximum: 100),
        .numeric("x2", minimum: -100, maximum: 100),
        .categorical("color", vocabulary: ["red", "green", "blue"]),
    ])

    static func scorer(version: String = "1", kernel: (any ModelKernel)? = nil) -> LoadedModel {
        let kernel = kernel ?? (try! LogisticKernel(weights: [0.05, -0.04, 0.03, 0.5, -0.5, 0], bias: 0.1))
        return LoadedModel(
            name: "scorer", version: version, kind: .logistic, schema: schema, kernel: kernel,
            output: OutputSchema(task: .binary, labels: ["no", "yes"])
        )
    }

    /// A valid request for row `i` (deterministic features) and its features as raw values.
    static func request(_ i: Int, id: String? = nil) -> (json: [UInt8], raw: [RawFeatureValue]) {
        let x = [Double(i % 200) - 100, Double((i * 7) % 200) - 100, Double((i * 13) % 200) - 100]
        let colors = ["red", "green", "blue"]
        let color = colors[i % 3]
        let idPart = id.map { "\"id\":\"\($0)\"," } ?? ""
        let json = "{\(idPart)\"features\":[\(x[0]),\(x[1]),\(x[2]),\"\(color)\"]}"
        return (Array(json.utf8), x.map { .number($0) } + [.string(color)])
    }
}

/// A kernel that takes its time: a model slower than the input.
struct SlowKernel: ModelKernel {
    let inner: any ModelKernel
    let delayPerBatch: Double
    /// Once this many rows are scored, each batch takes `stalledDelay` instead: a test that must
    /// act while records are still in flight gets seconds of margin from then on, however late
    /// a busy machine schedules it.
    let stallAfterRows: Int
    let stalledDelay: Double
    private let scored = ScoredRows()

    init(inner: any ModelKernel, delayPerBatch: Double, stallAfterRows: Int = .max, stalledDelay: Double = 0) {
        self.inner = inner
        self.delayPerBatch = delayPerBatch
        self.stallAfterRows = stallAfterRows
        self.stalledDelay = stalledDelay
    }

    var inputWidth: Int { inner.inputWidth }
    var outputWidth: Int { inner.outputWidth }
    func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        let before = scored.add(rowCount)
        Thread.sleep(forTimeInterval: before >= stallAfterRows ? stalledDelay : delayPerBatch)
        inner.predict(input: input, rowCount: rowCount, output: output)
    }

    private final class ScoredRows: Sendable {
        private let count = Mutex(0)
        /// Adds `rows` and returns the count before.
        func add(_ rows: Int) -> Int { count.withLock { total in defer { total += rows }; return total } }
    }
}

/// A kernel whose output is NaN for rows whose first input is exactly `poison`.
struct PoisonKernel: ModelKernel {
    let inner: any ModelKernel
    let poison: Float
    var inputWidth: Int { inner.inputWidth }
    var outputWidth: Int { inner.outputWidth }
    func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>) {
        inner.predict(input: input, rowCount: rowCount, output: output)
        for row in 0..<rowCount where input[row * inputWidth] == poison {
            output[row * outputWidth] = .nan
        }
    }
}

/// A prediction as read back from the output topic.
struct ReadPrediction: Sendable {
    var record: ReceivedRecord
    var id: String
    var score: Double
    var label: String
    var modelVersion: String
    var sourcePartition: Int32
    var sourceOffset: Int64

    init?(_ record: ReceivedRecord) {
        guard let value = record.value,
              let json = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
              let outputs = json["outputs"] as? [String: Any], let source = json["source"] as? [String: Any],
              let model = json["model"] as? [String: Any] else { return nil }
        self.record = record
        id = json["id"] as? String ?? ""
        score = (outputs["score"] as? NSNumber)?.doubleValue ?? .nan
        label = outputs["label"] as? String ?? ""
        modelVersion = model["version"] as? String ?? ""
        sourcePartition = (source["partition"] as? NSNumber)?.int32Value ?? -1
        sourceOffset = (source["offset"] as? NSNumber)?.int64Value ?? -1
    }

    var source: String { "\(sourcePartition)/\(sourceOffset)" }
}

/// An embedded broker with the pipeline's topics, and helpers to feed it and read the outcomes.
final class PipelineHarness: Sendable {
    let broker: EmbeddedKafkaBroker
    let input = "requests"
    let output = "predictions"
    let deadLetters = "requests.DLT"
    let partitions: Int
    let producer: KafkaProducer
    let outcomes = ConsumerProbe()
    private let outcomeConsumer: KafkaConsumer

    /// - Parameter readerCoordinator: the broker to coordinate the outcome reader's group (a test
    ///   that takes brokers down keeps the reader's on one it does not touch).
    init(partitions: Int = 4, broker: EmbeddedKafkaBroker? = nil, readerCoordinator: Int32? = nil) throws {
        self.partitions = partitions
        let broker = try broker ?? EmbeddedKafkaBroker(logger: .quiet)
        self.broker = broker
        try broker.createTopic(input, partitions: partitions)
        try broker.createTopic(output, partitions: partitions)
        try broker.createTopic(deadLetters, partitions: 1)
        producer = try KafkaProducer.test(broker)
        let readerGroup = uniqueName("reader")
        if let readerCoordinator { try broker.setGroupCoordinator(readerGroup, broker: readerCoordinator) }
        var readerConfiguration = KafkaConsumerConfiguration.test(broker, group: readerGroup, topics: [output, deadLetters])
        readerConfiguration.autoCommitInterval = .seconds(1)
        outcomeConsumer = try outcomes.makeConsumer(readerConfiguration)
    }

    func configuration(group: String = uniqueName("workers"), worker: String = "w1") -> WorkerConfiguration {
        var c = WorkerConfiguration(bootstrapServers: [broker.bootstrapServers], inputTopics: [input], modelRoot: "/nonexistent", modelName: "scorer", workerID: worker)
        c.outputTopic = output
        c.deadLetterTopic = deadLetters
        c.driftTopic = nil
        c.groupID = group
        c.maxBatchSize = 16
        c.maxBatchDelay = .milliseconds(2)
        c.commitInterval = .milliseconds(200)
        c.revokeTimeout = .seconds(5)
        c.drainTimeout = .seconds(5)
        c.consumerProperties["fetch.wait.max.ms"] = "10"
        c.consumerProperties["session.timeout.ms"] = "6000"
        c.consumerProperties["heartbeat.interval.ms"] = "500"
        return c
    }

    /// Starts a pipeline; returns it with the task running it.
    func start(_ configuration: WorkerConfiguration, model: LoadedModel = TestModels.scorer()) -> RunningPipeline {
        let pipeline = InferencePipeline(configuration: configuration, models: FixedModelSource(model), logger: ProcessInfo.processInfo.environment["PIPELINE_TEST_LOG"] == nil ? .quiet : Logger(label: "pipeline"))
        let task = Task { try await pipeline.run() }
        return RunningPipeline(pipeline: pipeline, task: task)
    }

    /// Sends records and waits for their acknowledgement; returns (partition, offset) of each.
    @discardableResult
    func send(_ values: [[UInt8]?], keys: [[UInt8]?]? = nil, keyless: Bool = false, headers: [KafkaHeader] = [], partition: KafkaPartition? = nil) async throws -> [KafkaDeliveryReport] {
        let probe = DeliveryCollector()
        let sender = try KafkaProducer.test(broker) { probe.add($0) }
        for (i, value) in values.enumerated() {
            let key = keyless ? nil : keys?[i] ?? Array("key-\(i % 13)".utf8)
            try sender.send(KafkaProducerMessage(topic: input, partition: partition, key: key, value: value, headers: headers, timestampMilliseconds: 1_700_000_000_000 + Int64(i)), context: UInt64(i + 1), blockIfQueueFull: true)
        }
        try sender.flush(timeout: .seconds(30))
        await sender.close()
        return probe.reports.sorted { $0.context < $1.context }
    }

    var predictions: [ReadPrediction] { outcomes.snapshot.records.filter { $0.topic == output }.compactMap(ReadPrediction.init) }
    var deadLetterRecords: [ReceivedRecord] { outcomes.snapshot.records.filter { $0.topic == deadLetters } }

    /// Waits until at least `count` outcomes (predictions plus dead letters) were read back.
    func waitForOutcomes(_ count: Int, timeout: Duration = .seconds(60)) async -> Bool {
        await outcomes.wait(timeout: timeout) { $0.records.count >= count } != nil
    }

    func close() async {
        await outcomeConsumer.close()
        await producer.close()
    }
}

struct RunningPipeline: Sendable {
    let pipeline: InferencePipeline
    let task: Task<Void, any Error>

    /// Graceful: drain, commit, leave.
    func stop() async throws {
        pipeline.requestShutdown()
        try await task.value
    }

    /// As if the process died: nothing more is acknowledged or committed.
    func crash() async throws {
        await pipeline.abandon()
        try await task.value
    }

    /// How `run()` ended, or nil if it is still running after `timeout` (then the pipeline is
    /// abandoned, so that a test that expected it to end fails instead of waiting for ever).
    func outcome(within timeout: Duration) async -> Result<Void, any Error>? {
        let ended = Mutex<Result<Void, any Error>?>(nil)
        let waiter = Task {
            let result: Result<Void, any Error>
            do { try await task.value; result = .success(()) } catch { result = .failure(error) }
            ended.withLock { $0 = result }
        }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline, ended.withLock({ $0 }) == nil {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if let result = ended.withLock({ $0 }) { return result }
        await pipeline.abandon()
        await waiter.value
        return nil
    }

    /// Waits until the pipeline itself has acknowledged at least `count` outcomes (read from its
    /// counters, not from the output topic, whose reader may lag behind by seconds on a busy machine).
    func waitForOwnOutcomes(_ count: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while pipeline.counters.snapshot.outcomes < count {
            if ContinuousClock.now > deadline { throw HarnessError("fewer than \(count) outcomes within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until the pipeline owns at least one partition.
    func waitUntilAssigned(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while pipeline.assignedPartitions.isEmpty {
            if ContinuousClock.now > deadline { throw HarnessError("no partitions assigned within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

final class DeliveryCollector: Sendable {
    private let state = Mutex<[KafkaDeliveryReport]>([])
    func add(_ report: KafkaDeliveryReport) { state.withLock { $0.append(report) } }
    var reports: [KafkaDeliveryReport] { state.withLock { $0 } }
}

extension KafkaHeader {
    var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension Array where Element == KafkaHeader {
    func value(_ key: String) -> String? { first { $0.key == key }?.stringValue }
}
