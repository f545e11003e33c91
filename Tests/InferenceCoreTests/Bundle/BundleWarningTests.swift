import Foundation
import Testing
@testable import InferenceCore

/// Issue 13 item 4: wrong exports that loaded as OK. With reference rows the self-test catches a
/// transposed square weight matrix, features listed in the wrong order and a wrong default; without
/// them (or with rows that skip a missing value or a category) `model validate` warns.
@Suite("Bundle warnings and what reference rows catch")
struct BundleWarningTests {
    // A 2 -> 2 (tanh) -> 1 MLP on features x, y: its first weight matrix is square and not symmetric.
    static let w0: [Float] = [0.9, -0.4, 0.3, 1.2]   // [in, out] row-major
    static let b0: [Float] = [0.1, -0.2]
    static let w1: [Float] = [1.5, -0.7]
    static let b1: [Float] = [0.05]
    static let rows: [(x: Float, y: Float)] = [(1, 2), (-3, 0.5), (0, 0), (4, -1), (2.5, 2.5), (-1, -4)]

    /// The model's output for (x, y), in Double: what a training library would have written.
    static func expected(_ x: Float, _ y: Float) -> Float {
        let (x, y) = (Double(x), Double(y))
        let h0 = tanh(x * Double(w0[0]) + y * Double(w0[2]) + Double(b0[0]))
        let h1 = tanh(x * Double(w0[1]) + y * Double(w0[3]) + Double(b0[1]))
        return Float(h0 * Double(w1[0]) + h1 * Double(w1[1]) + Double(b1[0]))
    }

    /// Writes the bundle to `root/mlp/1`; `swapFeatures` lists y before x (and writes the raw reference
    /// columns in that listed order, as an exporter would), `transpose` stores `w0` transposed.
    static func writeBundle(root: URL, reference: Bool, swapFeatures: Bool = false, transpose: Bool = false) throws -> URL {
        let directory = root.appendingPathComponent("mlp/1", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [String: String] = [:]
        func write(_ file: String, _ values: [Float], _ shape: [Int]) throws -> [String: Any] {
            let data = TestSupport.float32Data(values)
            try data.write(to: directory.appendingPathComponent(file))
            files[file] = TestSupport.sha256(data)
            return ["file": file, "shape": shape]
        }
        let first = transpose ? [w0[0], w0[2], w0[1], w0[3]] : w0
        let layers: [[String: Any]] = [
            ["weights": try write("l0_w.f32", first, [2, 2]), "bias": try write("l0_b.f32", b0, [2]), "activation": "tanh"],
            ["weights": try write("l1_w.f32", w1, [2, 1]), "bias": try write("l1_b.f32", b1, [1]), "activation": "identity"],
        ]
        let x: [String: Any] = ["name": "x", "type": "numeric", "min": -10.0, "max": 10.0]
        let y: [String: Any] = ["name": "y", "type": "numeric", "min": -10.0, "max": 10.0]
        var manifest: [String: Any] = [
            "format_version": 1, "name": "mlp", "version": "1", "kind": "mlp",
            "model": ["layers": layers, "output_activation": "identity"],
            "input": ["features": swapFeatures ? [y, x] : [x, y]],
            "output": ["type": "regression"],
        ]
        if reference {
            let raw = rows.flatMap { swapFeatures ? [$0.y, $0.x] : [$0.x, $0.y] }
            manifest["reference"] = [
                "inputs": try write("reference_inputs.f32", raw, [rows.count, 2]),
                "outputs": try write("reference_outputs.f32", rows.map { expected($0.x, $0.y) }, [rows.count, 1]),
            ]
        }
        manifest["files"] = files
        try TestSupport.writeManifestJSON(manifest, to: directory)
        return directory
    }

    func expectSelfTestFailure(_ directory: URL, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ModelBundle.load(from: directory)
            Issue.record("a wrong export loaded", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .selfTestFailed, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func correctExportPassesWithoutWarnings() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try ModelBundle.load(from: try Self.writeBundle(root: root, reference: true))
        #expect(try #require(model.selfTest()).passed)
        #expect(model.bundleWarnings().isEmpty)
    }

    @Test func aBundleWithoutReferenceRowsWarns() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // Transposed weights, yet it loads: nothing checks them. It must at least warn.
        let model = try ModelBundle.load(from: try Self.writeBundle(root: root, reference: false, transpose: true))
        #expect(model.selfTest() == nil)
        let warnings = model.bundleWarnings()
        #expect(warnings.map(\.code) == [.noReferenceRows])
        #expect(warnings.first?.message.contains("reference()") == true)
    }

    @Test func aTransposedSquareWeightMatrixIsCaughtByReferenceRows() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        expectSelfTestFailure(try Self.writeBundle(root: root, reference: true, transpose: true))
    }

    @Test func featuresInTheWrongOrderAreCaughtByReferenceRows() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        expectSelfTestFailure(try Self.writeBundle(root: root, reference: true, swapFeatures: true))
    }

    @Test func aWrongDefaultIsCaughtByReferenceRowsWithMissingValues() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("logistic-binary", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        var input = manifest["input"] as! [String: Any]
        var features = input["features"] as! [[String: Any]]
        let ratio = try #require(features.firstIndex { $0["name"] as? String == "ratio" })
        #expect(features[ratio]["default"] as? Double == 0.25)
        features[ratio]["default"] = 0.75
        input["features"] = features
        manifest["input"] = input
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectSelfTestFailure(bundle)
    }

    @Test func referenceRowsThatSkipMissingValuesAndCategoriesWarn() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        let full = try ModelBundle.load(from: bundle, options: .init(runSelfTest: false))
        #expect(full.bundleWarnings().isEmpty, "\(full.bundleWarnings())")
        // Keep only rows with no missing value and a country other than "GB" (vocabulary index 3).
        let reference = try #require(full.reference)
        let width = reference.featureCount
        let country = try #require(full.schema.featureIndex["country"])
        let kept = (0..<reference.rowCount).filter { row in
            let values = reference.rawInputs[(row * width)..<((row + 1) * width)]
            return !values.contains { $0.isNaN } && values[row * width + country] != 3
        }
        #expect(kept.count > 100 && kept.count < reference.rowCount)
        try TestSupport.replaceFile("reference_inputs.f32", in: bundle, with: TestSupport.float32Data(kept.flatMap { reference.rawInputs[($0 * width)..<(($0 + 1) * width)] }))
        try TestSupport.replaceFile("reference_outputs.f32", in: bundle, with: TestSupport.float32Data(kept.map { reference.expectedOutputs[$0] }))
        var manifest = try TestSupport.readManifestJSON(bundle)
        var section = manifest["reference"] as! [String: Any]
        var inputs = section["inputs"] as! [String: Any]
        inputs["shape"] = [kept.count, width]
        var outputs = section["outputs"] as! [String: Any]
        outputs["shape"] = [kept.count, 1]
        section["inputs"] = inputs
        section["outputs"] = outputs
        manifest["reference"] = section
        try TestSupport.writeManifestJSON(manifest, to: bundle)

        let model = try ModelBundle.load(from: bundle)   // the self-test still passes...
        let warnings = model.bundleWarnings()              // ...but it no longer checks these paths
        let missing = warnings.filter { $0.code == .missingValueNotExercised }.compactMap(\.feature)
        #expect(Set(missing) == ["ratio", "raw", "country"])
        let categories = warnings.filter { $0.code == .categoryNotExercised }
        #expect(categories.map(\.feature) == ["country"])
        #expect(categories.first?.message.contains("'GB'") == true)
    }
}
