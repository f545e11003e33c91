import Crypto
import Foundation
@testable import InferenceCore

/// Locations of the committed fixtures and scratch directories for tests.
enum TestSupport {
    static var fixturesDirectory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    }

    /// `Fixtures/bundles/<name>/1`.
    static func fixtureBundle(_ name: String) -> URL {
        fixturesDirectory.appendingPathComponent("bundles/\(name)/1", isDirectory: true)
    }

    /// The fixture bundles produced by scripts/fixtures/make_sklearn_fixtures.py, one per kernel kind/activation.
    static let fixtureNames = [
        "linear-regression", "logistic-binary", "softmax-3class", "mlp-relu-binary", "mlp-tanh-softmax", "mlp-sigmoid-regression",
    ]

    /// A fresh, empty temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("inference-core-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Copies a fixture bundle into `root/<name>/<version>` and returns the copy's directory.
    static func copyFixture(_ name: String, to root: URL, as modelName: String? = nil, version: String = "1") throws -> URL {
        let destination = root.appendingPathComponent("\(modelName ?? name)/\(version)", isDirectory: true)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixtureBundle(name), to: destination)
        return destination
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static func float32Data(_ values: [Float]) -> Data {
        var data = Data(capacity: values.count * 4)
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    static func readManifestJSON(_ bundle: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: bundle.appendingPathComponent("manifest.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func writeManifestJSON(_ manifest: [String: Any], to bundle: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: bundle.appendingPathComponent("manifest.json"))
    }

    /// Rewrites `file` in `bundle` and updates its digest in the manifest (a consistent, re-signed edit).
    static func replaceFile(_ file: String, in bundle: URL, with data: Data) throws {
        try data.write(to: bundle.appendingPathComponent(file))
        var manifest = try readManifestJSON(bundle)
        var files = manifest["files"] as! [String: String]
        files[file] = sha256(data)
        manifest["files"] = files
        try writeManifestJSON(manifest, to: bundle)
    }

    /// Writes a one-feature linear bundle `y = weight * x + bias` with optional reference rows,
    /// into `root/<name>/<version>/`. Used by registry tests: the bias tells versions apart.
    @discardableResult
    static func writeLinearBundle(
        root: URL, name: String = "toy", version: String, weight: Float = 1, bias: Float,
        referenceExpectedBias: Float? = nil, manifestVersion: String? = nil
    ) throws -> URL {
        let directory = root.appendingPathComponent("\(name)/\(version)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [String: String] = [:]
        func write(_ file: String, _ values: [Float]) throws -> [String: Any] {
            let data = float32Data(values)
            try data.write(to: directory.appendingPathComponent(file))
            files[file] = sha256(data)
            return ["file": file, "shape": [values.count]]
        }
        let weights = try write("weights.f32", [weight])
        let biasRef = try write("bias.f32", [bias])
        var manifest: [String: Any] = [
            "format_version": 1, "name": name, "version": manifestVersion ?? version, "kind": "linear",
            "created_at": "2026-11-22T00:00:00Z", "training": ["note": "test"],
            "model": ["weights": weights, "bias": biasRef],
            "input": ["features": [["name": "x", "type": "numeric", "min": -1000.0, "max": 1000.0]]],
            "output": ["type": "regression"],
        ]
        if let expectedBias = referenceExpectedBias {
            let xs: [Float] = [0, 1, -2.5, 10]
            var inputs = try write("reference_inputs.f32", xs)
            inputs["shape"] = [xs.count, 1]
            var outputs = try write("reference_outputs.f32", xs.map { weight * $0 + expectedBias })
            outputs["shape"] = [xs.count, 1]
            manifest["reference"] = ["inputs": inputs, "outputs": outputs]
        }
        manifest["files"] = files
        try writeManifestJSON(manifest, to: directory)
        return directory
    }
}
