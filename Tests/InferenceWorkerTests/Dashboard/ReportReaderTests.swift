import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

/// `inference-worker report`'s reading, against the embedded broker: two replicas' reports on the
/// drift and quality topics, plus junk, read back for a period and rendered.
@Suite(.serialized) struct ReportReaderTests {
    typealias F = DashboardFixtures

    @Test func readsThePeriodsReportsFromBothTopicsAndMergesReplicasOnThePage() async throws {
        let broker = try EmbeddedKafkaBroker(logger: .quiet)
        let drift = uniqueName("drift"), quality = uniqueName("quality")
        try broker.createTopic(drift, partitions: 2)
        try broker.createTopic(quality, partitions: 1)
        let producer = try KafkaProducer.test(broker)
        var sent = 0
        for worker in ["a", "b"] {
            for report in F.driftReports(workerID: worker) {
                _ = try await producer.sendAndWait(KafkaProducerMessage(topic: drift, key: Array("fraud".utf8), value: Array(try report.jsonData())))
                sent += 1
            }
            for report in F.qualityReports(workerID: worker) {
                _ = try await producer.sendAndWait(KafkaProducerMessage(topic: quality, key: Array("fraud".utf8), value: Array(try report.jsonData())))
            }
        }
        _ = try await producer.sendAndWait(KafkaProducerMessage(topic: quality, value: Array("{\"format\":\"something else\"}".utf8)))
        _ = await producer.close()

        let collector = try await ReportReader.read(
            bootstrapServers: [broker.bootstrapServers], driftTopic: drift, qualityTopic: quality,
            fromMs: F.t0Ms + 60_000, toMs: F.t0Ms + 180_000, idle: .seconds(1), maxWait: .seconds(60), logger: .quiet)
        #expect(sent == 6)
        #expect(collector.driftReports.count == 4, "2 windows in the period × 2 replicas")
        #expect(collector.qualityReports.count == 2, "1 window in the period × 2 replicas")
        #expect(collector.outsidePeriod == 4)
        #expect(collector.undecodable == 1)

        let html = DashboardPage.render(collector.snapshot())
        // The page merges the replicas: the latest quality window counts both replicas' 20 labels.
        #expect(html.contains("data-metric=\"labelled\" data-value=\"40.0\""))
        #expect(html.contains("data-metric=\"accuracy\" data-value=\"0.6\""))
        #expect(html.contains("800 rows"), "the latest drift window, merged from two replicas of 400 rows")
    }
}
