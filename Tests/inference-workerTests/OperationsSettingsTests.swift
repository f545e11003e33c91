import ArgumentParser
import Foundation
@testable import inference_worker
import Testing

/// `--metrics-host` (issue 13 item 6) and its environment and config-file forms, resolved like every
/// other setting: flag > environment > file > default.
@Suite struct OperationsSettingsTests {
    func resolve(_ arguments: [String], environment: [String: String] = [:]) throws -> (OperationsSettings, SettingSource?) {
        var resolver = try WorkerSettingsResolver(options: try WorkerOptions.parse(arguments), environment: environment)
        let settings = try resolver.resolveOperations()
        return (settings, resolver.sources["metrics-host"])
    }

    @Test func theDefaultIsEveryInterface() throws {
        let (settings, source) = try resolve([])
        #expect(settings.metricsHost == "0.0.0.0")
        #expect(source == .default)
    }

    @Test func flagEnvironmentAndFileEachSetTheHostAndTheFlagWins() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-host-\(UUID().uuidString).conf")
        try "metrics-host = 10.1.2.3\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        var (settings, source) = try resolve(["--config", file.path])
        #expect(settings.metricsHost == "10.1.2.3")
        #expect(source == .file)

        (settings, source) = try resolve(["--config", file.path], environment: ["INFERENCE_WORKER_METRICS_HOST": "::1"])
        #expect(settings.metricsHost == "::1")
        #expect(source == .environment)

        (settings, source) = try resolve(["--config", file.path, "--metrics-host", "127.0.0.1"], environment: ["INFERENCE_WORKER_METRICS_HOST": "::1"])
        #expect(settings.metricsHost == "127.0.0.1")
        #expect(source == .flag)
    }

    @Test func checkConfigShowsTheHostAndItsSource() throws {
        var resolver = try WorkerSettingsResolver(options: try WorkerOptions.parse(["--metrics-host", "127.0.0.1"]), environment: [:])
        let settings = try resolver.resolveOperations()
        #expect(ConfigReport.render(settings, sources: resolver.sources).contains("metrics-host = 127.0.0.1  [flag]"))
    }

    @Test(arguments: ["", "  ", "http://example", "a b"])
    func aHostThatCannotBeListenedOnIsRefusedWithTheSettingsName(_ host: String) throws {
        let error = #expect(throws: ValidationError.self) { try resolve(["--metrics-host", host]) }
        #expect(error?.message.hasPrefix("metrics-host:") == true)
    }
}
