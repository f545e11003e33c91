import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import KafkaTestSupport
import Testing

/// The browser test of issue 18: a real operations server serves `/dashboard`, headless Chromium
/// (Debian's `chromium`; `make test` installs it) loads it, and the test checks the DOM Chromium built
/// (`--dump-dom`) for the values it fed. A screenshot is kept in `.build/test-artifacts/` (not committed).
@Suite(.serialized) struct DashboardBrowserTests {
    typealias F = DashboardFixtures

    static let chromium: String? = {
        let env = ProcessInfo.processInfo.environment["CHROMIUM"]
        return ([env].compactMap { $0 } + ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"])
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// A model source with no model: the pipeline is never run, only its operations routes are served.
    struct NoModel: ModelSource {
        var current: LoadedModel? { nil }
        func prepare() {}
        func watch() async throws { while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) } }
        var unavailableReason: String { "no model in this test" }
    }

    /// Runs headless Chromium with `arguments` + `url`; returns its stdout.
    static func runChromium(_ arguments: [String], url: String) async throws -> String {
        let binary = try #require(chromium)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-chromium-\(UUID().uuidString)")
        // --no-sandbox: the suite may run as root (containers), where Chromium refuses its sandbox.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(profile.path)"] + arguments + [url]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        let output = Task.detached { stdout.fileHandleForReading.readDataToEndOfFile() }
        try process.run()
        let watchdog = Task.detached {
            try await Task.sleep(for: .seconds(90))
            process.terminate()
        }
        let data = await output.value
        process.waitUntilExit()
        watchdog.cancel()
        try? FileManager.default.removeItem(at: profile)
        #expect(process.terminationStatus == 0, "chromium exited with \(process.terminationStatus)")
        return String(decoding: data, as: UTF8.self)
    }

    @Test(.enabled(if: chromium != nil, "needs Debian's chromium (make test installs it)"))
    func chromiumRendersTheDriftAndQualityValuesFedToTheOperationsServer() async throws {
        let store = RecentReports(title: "browser-test-worker")
        for report in F.driftReports() { store.add(report) }
        for report in F.qualityReports() { store.add(report) }
        var configuration = WorkerConfiguration(bootstrapServers: ["127.0.0.1:1"], inputTopics: ["requests"], modelRoot: "/nonexistent",
                                                modelName: "fraud", workerID: "browser-test")
        configuration.driftTopic = nil
        let pipeline = InferencePipeline(configuration: configuration, models: NoModel(), logger: .quiet)
        let server = try await OperationsEndpoints.start(host: "127.0.0.1", port: 0, pipeline: pipeline, metrics: WorkerMetrics(),
                                                         dashboard: store, logger: .quiet)
        let url = "http://127.0.0.1:\(server.port)/dashboard"

        let dom = try await Self.runChromium(["--dump-dom"], url: url)
        let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../.build/test-artifacts").standardized
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        try Data(dom.utf8).write(to: artifacts.appendingPathComponent("dashboard-dom.html"))
        let screenshot = artifacts.appendingPathComponent("dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try await Self.runChromium(["--screenshot=\(screenshot.path)", "--window-size=1280,2600", "--hide-scrollbars"], url: url)
        await server.stop()

        // What the browser built: the title, the version's sections, the values fed.
        #expect(dom.contains("<title>browser-test-worker · dashboard</title>"))
        let version = try #require(Self.element(dom, containing: "class=\"model-version\" id=\"version-7\""), "the version's section")
        #expect(version.contains("data-version=\"7\""))
        let quality = try #require(Self.section(dom, class: "quality"))
        #expect(quality.contains("data-metric=\"accuracy\" data-value=\"0.6\">0.6000<"), "latest window 12/20 correct")
        #expect(quality.contains("data-metric=\"label_coverage\" data-value=\"\(20.0 / 24.0)\">83.3%<"))
        #expect(quality.contains(">0.9000<"), "the first window's accuracy, 18/20, in the table")
        #expect(Self.count("<tr", in: quality) == 3, "a header row and one row per window")
        let drift = try #require(Self.section(dom, class: "drift"))
        let latest = try #require(F.driftReports().last)
        let amount = try #require(latest.column("amount"))
        #expect(drift.contains("data-dataset-level=\"\(latest.dataset.level.rawValue)\""))
        #expect(drift.contains("class=\"level-alert\" data-psi=\"\(try #require(amount.scores.psi))\""), "amount drifted in the latest window")
        #expect(drift.contains("<tr data-feature=\"country\">"))
        #expect(Self.count("<figure class=\"histogram", in: drift) == 2, "one histogram per feature")
        #expect(Self.count("class=\"baseline\"", in: drift) >= 4 + 4, "baseline bars of both features")
        let outputs = try #require(Self.section(dom, class: "outputs"))
        #expect(outputs.contains("data-feature=\"output.score\"") && outputs.contains("data-feature=\"output.label\""))
        #expect(dom.contains("data-rollout-state=\"none\""), "the roll-out placeholder")
        // The screenshot is a real rendering, not an empty file.
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 20_000, "a rendered page, \(png.count) bytes")
    }

    /// The page of a pipeline that really served and joined labels (not fed reports): 60 predictions
    /// on the embedded broker, their labels, one quality report; Chromium shows the accuracy that the
    /// test computes from the predictions read back and its own ground truth.
    @Test(.enabled(if: chromium != nil, "needs Debian's chromium (make test installs it)"))
    func chromiumShowsTheAccuracyARunningPipelineMeasured() async throws {
        let harness = try QualityWiringTests.harness()
        let n = 60
        let running = harness.start(QualityWiringTests.configuration(harness, windowRecords: n))
        try await running.waitUntilAssigned()
        let server = try await OperationsEndpoints.start(host: "127.0.0.1", port: 0, pipeline: running.pipeline, metrics: WorkerMetrics(),
                                                         dashboard: running.pipeline.recentReports, logger: .quiet)
        try await harness.send((0..<n).map { TestModels.request($0, id: "r-\($0)").json })
        #expect(await harness.waitForOutcomes(n))
        try await harness.sendLabels((0..<n).map { (key: "key-\($0 % 13)", value: #"{"id": "r-\#($0)", "label": "\#(QualityWiringTests.truth($0))"}"#) })
        let deadline = ContinuousClock.now + .seconds(60)
        while running.pipeline.recentReports.dashboardSnapshot(nowMs: 0).qualityReports.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        var correct = 0
        for prediction in harness.predictions {
            let i = try #require(Int(prediction.id.dropFirst(2)))
            if prediction.label == QualityWiringTests.truth(i) { correct += 1 }
        }
        let accuracy = Double(correct) / Double(n)

        let dom = try await Self.runChromium(["--dump-dom"], url: "http://127.0.0.1:\(server.port)/dashboard")
        await server.stop()
        try await running.stop()
        await harness.close()
        let version = try #require(Self.element(dom, containing: "class=\"model-version\" id=\"version-1\""), "the served version's section")
        let quality = try #require(Self.section(version, class: "quality"))
        #expect(quality.contains("data-metric=\"accuracy\" data-value=\"\(accuracy)\""), "accuracy \(correct)/\(n) on the page: \(quality.prefix(2000))")
        #expect(quality.contains("data-metric=\"label_coverage\" data-value=\"1.0\""), "every prediction labelled")
    }

    /// The text from the element whose opening tag contains `marker` to the end of the document.
    static func element(_ dom: String, containing marker: String) -> String? {
        guard let range = dom.range(of: marker) else { return nil }
        return String(dom[range.lowerBound...])
    }

    /// The first `<section class="CLASS" ...>...</section>` (sections of this page do not nest inside it).
    static func section(_ dom: String, class name: String) -> String? {
        guard let start = dom.range(of: "<section class=\"\(name)\"") else { return nil }
        guard let end = dom.range(of: "</section>", range: start.upperBound..<dom.endIndex) else { return nil }
        return String(dom[start.lowerBound..<end.upperBound])
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
}
