import Foundation
import Testing
@testable import InferenceCore

@Suite("Model bundle loading and verification")
struct ModelBundleLoadingTests {
    func expectBundleError(_ code: ModelBundleError.Code, _ directory: URL, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ModelBundle.load(from: directory)
            Issue.record("expected \(code), but the bundle loaded", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        }
    }

    @Test func intactFixtureLoadsWithItsMetadata() throws {
        let model = try ModelBundle.load(from: TestSupport.fixtureBundle("logistic-binary"))
        #expect(model.name == "logistic-binary")
        #expect(model.version == "1")
        #expect(model.kind == .logistic)
        #expect(model.schema.features.map(\.name) == ["amount", "ratio", "tiny", "raw", "country", "channel"])
        #expect(model.schema.width == 4 + 4 + 3)
        #expect(model.output.task == .binary)
        #expect(model.manifest?.createdAt == "2026-11-22T00:00:00Z")
        #expect(model.baseline?.features["country"]?.categories?["DE"] != nil)
    }

    @Test func tamperedWeightsAreRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("mlp-relu-binary", to: root)
        let url = bundle.appendingPathComponent("layer0_weights.f32")
        var data = try Data(contentsOf: url)
        data[5] ^= 0x40  // same size, different content
        try data.write(to: url)
        expectBundleError(.digestMismatch, bundle)
    }

    @Test func truncatedWeightsAreRefusedAsSizeMismatch() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("softmax-3class", to: root)
        let url = bundle.appendingPathComponent("weights.f32")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 4).write(to: url)
        expectBundleError(.sizeMismatch, bundle)
    }

    @Test func extraBytesAreRefusedEvenWhenTheDigestIsUpdated() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        let data = try Data(contentsOf: bundle.appendingPathComponent("weights.f32"))
        try TestSupport.replaceFile("weights.f32", in: bundle, with: data + TestSupport.float32Data([1]))
        expectBundleError(.sizeMismatch, bundle)
    }

    @Test func missingFileIsRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        try FileManager.default.removeItem(at: bundle.appendingPathComponent("bias.f32"))
        expectBundleError(.fileMissing, bundle)
    }

    @Test func missingManifestIsRetriable() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            _ = try ModelBundle.load(from: root)
            Issue.record("loaded an empty directory")
        } catch {
            #expect(error.code == .manifestMissing)
            #expect(error.isRetriable)
        }
    }

    @Test func unlistedFileIsRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        var files = manifest["files"] as! [String: String]
        files["bias.f32"] = nil
        manifest["files"] = files
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectBundleError(.fileNotListed, bundle)
    }

    @Test func pathEscapingTheBundleIsRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        var files = manifest["files"] as! [String: String]
        files["../../etc/passwd"] = String(repeating: "0", count: 64)
        manifest["files"] = files
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectBundleError(.manifestInvalid, bundle)
    }

    @Test func inconsistentShapesAreRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("mlp-tanh-softmax", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        var model = manifest["model"] as! [String: Any]
        var layers = model["layers"] as! [[String: Any]]
        var weights = layers[0]["weights"] as! [String: Any]
        let shape = weights["shape"] as! [Int]
        weights["shape"] = [shape[1], shape[0]]  // same byte count, transposed: in no longer matches the encoded width
        layers[0]["weights"] = weights
        model["layers"] = layers
        manifest["model"] = model
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectBundleError(.shapeMismatch, bundle)
    }

    @Test func outputTypeMustMatchTheKind() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("logistic-binary", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        manifest["output"] = ["type": "regression"]
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectBundleError(.schemaInvalid, bundle)
    }

    @Test func schemaProblemsAreRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        var input = manifest["input"] as! [String: Any]
        var features = input["features"] as! [[String: Any]]
        features[1]["default"] = nil  // 'ratio' allows missing values: without a default a linear model cannot take them
        input["features"] = features
        manifest["input"] = input
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        do {
            _ = try ModelBundle.load(from: bundle)
            Issue.record("loaded a schema without a default")
        } catch {
            #expect(error.code == .schemaInvalid)
            #expect(error.message.contains("ratio"))
            #expect(error.message.contains("default"))
        }
    }

    @Test func unknownKindAndFormatVersionAreRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        manifest["kind"] = "transformer"
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectBundleError(.unsupportedKind, bundle)
        manifest["format_version"] = 2
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectBundleError(.unsupportedFormatVersion, bundle)
        manifest["output"] = nil
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        expectBundleError(.manifestInvalid, bundle)
    }

    @Test func nonFiniteWeightsAreRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        var weights = try Data(contentsOf: bundle.appendingPathComponent("weights.f32"))
        weights.replaceSubrange(0..<4, with: TestSupport.float32Data([.nan]))
        try TestSupport.replaceFile("weights.f32", in: bundle, with: weights)
        expectBundleError(.nonFiniteWeights, bundle)
    }

    @Test func wrongReferenceOutputsFailTheSelfTest() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("softmax-3class", to: root)
        // Consistently re-signed, so only the self-test can notice that the weights changed.
        var weights = try Data(contentsOf: bundle.appendingPathComponent("weights.f32"))
        weights.replaceSubrange(0..<4, with: TestSupport.float32Data([3.5]))
        try TestSupport.replaceFile("weights.f32", in: bundle, with: weights)
        expectBundleError(.selfTestFailed, bundle)
        let loaded = try ModelBundle.load(from: bundle, options: .init(runSelfTest: false))
        let report = try #require(loaded.selfTest())
        #expect(!report.passed)
        #expect(report.failureCount > 0)
        #expect(!report.failures.isEmpty)
    }

    @Test func treeEnsembleDispatchesToTheTreeKernel() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root)
        var manifest = try TestSupport.readManifestJSON(bundle)
        let json = Data(#"{"learner": {}}"#.utf8)
        try json.write(to: bundle.appendingPathComponent("model.json"))
        var files = manifest["files"] as! [String: String]
        files["model.json"] = TestSupport.sha256(json)
        manifest["files"] = files
        manifest["kind"] = "tree_ensemble"
        manifest["model"] = ["format": "xgboost_json", "file": "model.json"]
        manifest["reference"] = nil
        try TestSupport.writeManifestJSON(manifest, to: bundle)
        // On this branch the tree kernel is a placeholder whose initialiser throws: the loader must
        // have called it and wrapped its error.
        do {
            _ = try ModelBundle.load(from: bundle)
            Issue.record("placeholder tree kernel accepted a model")
        } catch {
            #expect(error.code == .kernelRejected || error.code == .shapeMismatch)
        }
    }

    @Test func nameAndVersionMustMatchTheDirectoryWhenAsked() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bundle = try TestSupport.copyFixture("linear-regression", to: root, version: "7")
        #expect(throws: ModelBundleError.self) {
            try ModelBundle.load(from: bundle, options: .init(expectedName: "linear-regression", expectedVersion: "7"))
        }
        _ = try ModelBundle.load(from: bundle, options: .init(expectedName: "linear-regression", expectedVersion: "1"))
    }
}
