import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Synchronization
import Testing

/// The metrics and health endpoints over real HTTP, against a pipeline on the embedded broker.
@Suite(.serialized) struct OperationsEndpointTests {
    @Test func countersHistogramsModelInfoAndPerPartitionLagMoveWithTraffic() async throws {
        let harness = try PipelineHarness(partitions: 3)
        var configuration = harness.configuration()
        configuration.consumerProperties["statistics.interval.ms"] = "200"
        let metrics = WorkerMetrics()
        let pipeline = InferencePipeline(configuration: configuration, models: FixedModelSource(TestModels.scorer(version: "7")),
                                         logger: .quiet, counters: PipelineCounters(metrics: metrics))
        let server = try await OperationsEndpoints.start(host: "127.0.0.1", port: 0, pipeline: pipeline, metrics: metrics, logger: .quiet)
        defer { server.shutdown() }
        let task = Task { try await pipeline.run() }
        let running = RunningPipeline(pipeline: pipeline, task: task)
        try await running.waitUntilAssigned()

        let before = try await Scrape(port: server.port)
        #expect(before["inference_worker_records_consumed_total"] == 0)
        #expect(before["inference_worker_dead_letters_total{reason=\"malformed_json\"}"] == 0, "every known reason is there from the start")

        var values: [[UInt8]?] = (0..<60).map { TestModels.request($0, id: "r\($0)").json }
        values += [Array("{not json".utf8), Array("{\"features\":".utf8)]
        values.append(Array("{\"id\":\"x\",\"features\":[1,2,3,\"purple\"]}".utf8)) // unknown category
        let reports = try await harness.send(values)
        #expect(await harness.waitForOutcomes(values.count))
        // Partitions that received records have a committed offset, hence a known lag.
        let used = Set(reports.map(\.partition.rawValue)).sorted()
        #expect(used.count >= 2)

        // Lag needs a statistics round after the commit: poll the endpoint, not a sleep.
        let scrape = try await Scrape.until(port: server.port) { s in
            s["inference_worker_predictions_total"] == 60
                && used.allSatisfy { s["inference_worker_consumer_lag_records{topic=\"requests\",partition=\"\($0)\"}"] != nil }
        }
        #expect(scrape["inference_worker_records_consumed_total"] == Double(values.count))
        #expect(scrape["inference_worker_predictions_total"] == 60)
        #expect(scrape["inference_worker_dead_letters_total{reason=\"malformed_json\"}"] == 2)
        #expect(scrape["inference_worker_dead_letters_total{reason=\"unknown_category\"}"] == 1)
        #expect(scrape["inference_worker_dead_letters_total{reason=\"other\"}"] == 0)
        #expect((scrape["inference_worker_batch_size_count"] ?? 0) >= 1)
        #expect(scrape["inference_worker_batch_size_sum"] == 60, "every scored record is in exactly one batch")
        #expect((scrape["inference_worker_model_latency_seconds_count"] ?? 0) >= 1)
        #expect(scrape["inference_worker_end_to_end_latency_seconds_count"] == 60)
        #expect(scrape["inference_worker_processing_latency_seconds_count"] == 60, "every scored record, once")
        #expect(scrape["inference_worker_model_info{model=\"scorer\",version=\"7\"}"] == 1)
        #expect(scrape["inference_worker_model_loaded"] == 1)
        #expect(scrape["inference_worker_assigned_partitions"] == 3)
        #expect(scrape["inference_worker_ready"] == 1)
        #expect((scrape["inference_worker_rebalances_total"] ?? 0) >= 1)
        for partition in used {
            let committed = try #require(scrape["inference_worker_consumer_lag_records{topic=\"requests\",partition=\"\(partition)\"}"])
            #expect(committed >= 0)
            #expect(scrape["inference_worker_consumer_lag_stored_records{topic=\"requests\",partition=\"\(partition)\"}"] != nil)
        }
        let lagSeries = scrape.series(named: "inference_worker_consumer_lag_records")
        #expect(lagSeries.count >= used.count && lagSeries.count <= 3, "one series per assigned partition at most: \(lagSeries)")

        try await running.stop()
        await harness.close()
    }

    @Test func readinessFollowsModelGroupAndShutdownWhileLivenessStaysUp() async throws {
        let harness = try PipelineHarness(partitions: 2)
        let models = SwitchableModelSource(TestModels.scorer())
        let metrics = WorkerMetrics()
        let pipeline = InferencePipeline(configuration: harness.configuration(), models: models, logger: .quiet, counters: PipelineCounters(metrics: metrics))
        let server = try await OperationsEndpoints.start(host: "127.0.0.1", port: 0, pipeline: pipeline, metrics: metrics, logger: .quiet)
        defer { server.shutdown() }

        // Not started: no producer, no group.
        var ready = try await HTTP.get(port: server.port, path: "/health/ready")
        #expect(ready.status == 503)
        #expect(ready.body.contains("\"producer_up\":false"))
        #expect(try await HTTP.get(port: server.port, path: "/health/live").status == 200)

        let task = Task { try await pipeline.run() }
        let running = RunningPipeline(pipeline: pipeline, task: task)
        try await running.waitUntilAssigned()
        ready = try await HTTP.get(port: server.port, path: "/health/ready")
        #expect(ready.status == 200, "\(ready.body)")

        models.set(nil)
        ready = try await HTTP.get(port: server.port, path: "/health/ready")
        #expect(ready.status == 503)
        #expect(ready.body.contains("\"model_loaded\":false"))
        let scrape = try await Scrape(port: server.port)
        #expect(scrape["inference_worker_model_loaded"] == 0)
        #expect(scrape["inference_worker_ready"] == 0)
        #expect(scrape.series(named: "inference_worker_model_info").isEmpty)

        models.set(TestModels.scorer(version: "2"))
        #expect(try await HTTP.get(port: server.port, path: "/health/ready").status == 200)
        let swapped = try await Scrape(port: server.port)
        #expect(swapped.series(named: "inference_worker_model_info") == ["inference_worker_model_info{model=\"scorer\",version=\"2\"}"],
                "one info series, for the model in service")

        pipeline.requestShutdown()
        ready = try await HTTP.get(port: server.port, path: "/health/ready")
        #expect(ready.status == 503, "not ready as soon as shutdown is requested, before draining ends")
        #expect(ready.body.contains("\"shutting_down\":true"))
        try await task.value
        #expect(try await HTTP.get(port: server.port, path: "/health/ready").status == 503)
        #expect(try await HTTP.get(port: server.port, path: "/health/live").status == 200)
        #expect(try await HTTP.get(port: server.port, path: "/nope").status == 404)
        await harness.close()
    }
}

extension OperationsEndpointTests {
    @Test func backPressureShowsAsRecordsInFlightAndPausedPartitions() async throws {
        let harness = try PipelineHarness(partitions: 2)
        var configuration = harness.configuration()
        configuration.maxInFlightRecords = 60
        configuration.maxBatchSize = 8
        configuration.adaptiveBatching = false
        let n = 600
        try await harness.send((0..<n).map { TestModels.request($0, id: "r\($0)").json })
        // 20 ms a batch of 8, then 200 ms from the 120th row on: the scrape below has 12 s to see the
        // pause however late a busy machine schedules it (at 20 ms throughout, 1.5 s).
        let slow = TestModels.scorer(kernel: SlowKernel(inner: TestModels.scorer().kernel!, delayPerBatch: 0.02, stallAfterRows: 120, stalledDelay: 0.2))
        let metrics = WorkerMetrics()
        let pipeline = InferencePipeline(configuration: configuration, models: FixedModelSource(slow), logger: .quiet, counters: PipelineCounters(metrics: metrics))
        let server = try await OperationsEndpoints.start(host: "127.0.0.1", port: 0, pipeline: pipeline, metrics: metrics, logger: .quiet)
        defer { server.shutdown() }
        let task = Task { try await pipeline.run() }
        let paused = try await Scrape.until(port: server.port) { s in
            (s["inference_worker_paused_partitions"] ?? 0) > 0 && (s["inference_worker_records_in_flight"] ?? 0) > 0
        }
        #expect((paused["inference_worker_paused_partitions"] ?? 0) > 0, "a model slower than the input pauses the partitions")
        #expect((paused["inference_worker_records_in_flight"] ?? 0) > 0)
        #expect((paused["inference_worker_bytes_in_flight"] ?? 0) > 0)
        #expect((paused["inference_worker_pauses_total"] ?? 0) >= 1)
        pipeline.requestShutdown()
        try await task.value
        await harness.close()
    }

    @Test func aReplicaBeyondThePartitionCountIsReadyWithoutPartitions() async throws {
        let harness = try PipelineHarness(partitions: 1)
        let configuration = harness.configuration()
        let first = harness.start(configuration)
        try await first.waitUntilAssigned()
        let metrics = WorkerMetrics()
        let idle = InferencePipeline(configuration: harness.configuration(group: configuration.groupID, worker: "w2"),
                                     models: FixedModelSource(TestModels.scorer()), logger: .quiet, counters: PipelineCounters(metrics: metrics))
        let server = try await OperationsEndpoints.start(host: "127.0.0.1", port: 0, pipeline: idle, metrics: metrics, logger: .quiet)
        defer { server.shutdown() }
        let task = Task { try await idle.run() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        var ready = try await HTTP.get(port: server.port, path: "/health/ready")
        while ready.status != 200 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await HTTP.get(port: server.port, path: "/health/ready")
        }
        #expect(ready.status == 200, "joined with an empty assignment counts as ready: \(ready.body)")
        // cooperative-sticky leaves the partition with the first member: the second joined with
        // an empty assignment, and that alone made it ready.
        #expect(idle.assignedPartitions.isEmpty)
        #expect(first.pipeline.assignedPartitions.count == 1)
        idle.requestShutdown()
        try await task.value
        try await first.stop()
        await harness.close()
    }
}

/// A GET over real HTTP (URLSession).
enum HTTP {
    static func get(port: Int, path: String) async throws -> (status: Int, body: String) {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        var request = URLRequest(url: url)
        request.timeoutInterval = 10
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? -1
        return (status, String(decoding: data, as: UTF8.self))
    }
}

/// One scrape of `/metrics`, parsed: `name{labels}` -> value.
struct Scrape {
    var samples: [String: Double] = [:]
    var text: String

    init(port: Int) async throws {
        let response = try await HTTP.get(port: port, path: "/metrics")
        #expect(response.status == 200)
        text = response.body
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
    }

    subscript(_ series: String) -> Double? { samples[series] }

    func series(named name: String) -> [String] { samples.keys.filter { $0.hasPrefix(name + "{") } }

    /// Scrapes until `condition` holds (at most `timeout`), returning the last scrape.
    static func until(port: Int, timeout: Duration = .seconds(30), _ condition: (Scrape) -> Bool) async throws -> Scrape {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var scrape = try await Scrape(port: port)
        while !condition(scrape) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            scrape = try await Scrape(port: port)
        }
        return scrape
    }
}
