import Foundation
import Testing
@testable import InferenceCore

/// Where the tests find ONNX Runtime and its fixtures.
///
/// The library: `INFERENCE_WORKER_ONNXRUNTIME_LIBRARY` (set by `make test`), else the PyPI wheel's
/// copy located through `python3` (`pip install onnxruntime`). Without either, the ONNX tests fail
/// with a message saying so: they are part of the suite, not optional.
enum ONNXTestSupport {
    static let libraryPath: String? = {
        if let path = ProcessInfo.processInfo.environment[ONNXRuntimeConfiguration.environmentVariable], !path.isEmpty { return path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import onnxruntime, os, glob; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so*')))[0])",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }()

    /// The configuration the tests load ONNX bundles with.
    static func configuration() throws -> ONNXRuntimeConfiguration {
        let path = try #require(
            libraryPath,
            "ONNX Runtime not found: run `make test` (it installs it), or `pip install onnxruntime`, or set \(ONNXRuntimeConfiguration.environmentVariable)")
        return ONNXRuntimeConfiguration(libraryPath: path)
    }

    static func options(runSelfTest: Bool = true) throws -> ModelBundle.LoadOptions {
        ModelBundle.LoadOptions(runSelfTest: runSelfTest, onnxRuntime: try configuration())
    }

    /// `Fixtures/onnx/<name>/1`.
    static func fixture(_ name: String) -> URL {
        TestSupport.fixturesDirectory.appendingPathComponent("onnx/\(name)/1", isDirectory: true)
    }

    /// Copies an ONNX fixture to `root/<name>/<version>`.
    static func copy(_ name: String, to root: URL, version: String = "1") throws -> URL {
        let destination = root.appendingPathComponent("\(name)/\(version)", isDirectory: true)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixture(name), to: destination)
        return destination
    }

    /// Rewrites a bundle's manifest through `edit` (a JSON object), keeping the file digests.
    static func editManifest(_ directory: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = directory.appendingPathComponent("manifest.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }

    /// Replaces a listed file's bytes and its digest in the manifest.
    static func replaceFile(_ directory: URL, _ name: String, with data: Data) throws {
        try data.write(to: directory.appendingPathComponent(name))
        try editManifest(directory) { manifest in
            var files = manifest["files"] as? [String: Any] ?? [:]
            files[name] = TestSupport.sha256(data)
            manifest["files"] = files
        }
    }

    /// Float32 little-endian values of a file.
    static func floats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
