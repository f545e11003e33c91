import CONNXRuntime
import Foundation
import Testing
@testable import InferenceCore

@Suite("ONNX bundles through ONNX Runtime")
struct ONNXBundleTests {
    /// The C declarations sit at the positions the official header gives (scripts/onnxruntime/
    /// ort-api-entries.txt, written from onnxruntime_c_api.h by check-c-api.sh, which also checks
    /// every function type at compile time).
    @Test func cDeclarationsMatchTheOfficialHeaderPositions() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("scripts/onnxruntime/ort-api-entries.txt"), encoding: .utf8)
        let entries = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ") }
        #expect(entries.count == 37)
        for entry in entries {
            let name = String(entry[0])
            #expect(Int32(iw_ort_entry_index(name)) == Int32(entry[1]), "OrtApi::\(name)")
        }
        #expect(iw_ort_entry_index("NotAnEntry") == -1)
    }

    /// Outputs equal onnxruntime's Python API (the bundle's reference rows, 1e-6 relative, floor 1) and
    /// the training library (training_outputs.f32, 1e-5 relative, floor 1), on >= 1,000 rows with edge
    /// and missing values.
    @Test(arguments: ["sk-pipeline", "rf-classifier", "gb-regressor", "mlp-classifier", "lgbm-binary", "multi-output"])
    func fidelity(name: String) throws {
        let directory = ONNXTestSupport.fixture(name)
        let model = try ModelBundle.load(from: directory, options: ONNXTestSupport.options())
        #expect(model.kind == .onnx)
        let reference = try #require(model.reference)
        #expect(reference.rowCount >= 1000)
        #expect(reference.rawInputs.contains { $0.isNaN }, "the rows include missing values")
        #expect(reference.tolerance.relative == 1e-6)
        let report = try #require(model.selfTest())
        #expect(report.passed, "\(report.summary)")
        #expect(report.maxScaledError <= 1e-6)

        let training = try ONNXTestSupport.floats(directory.appendingPathComponent("training_outputs.f32"))
        let width = model.output.width
        #expect(training.count == reference.rowCount * width)
        let rows = (0..<reference.rowCount).map { reference.rawRow($0, schema: model.schema) }
        var worst = 0.0
        for (row, result) in model.predict(rows).enumerated() {
            let output = try result.get()
            let actual: [Float] = switch output {
            case .regression(let score), .binary(let score, _, _): [score]
            case .multiclass(let values, _, _), .multiOutputRegression(let values): Array(values)
            }
            for column in 0..<width {
                let expected = Double(training[row * width + column])
                worst = max(worst, abs(Double(actual[column]) - expected) / max(abs(expected), 1))
            }
        }
        #expect(worst <= 1e-5, "max scaled difference to the training library: \(worst)")
    }

    @Test func stringCategoricalReachesTheGraphAsRawValues() throws {
        let model = try ModelBundle.load(from: ONNXTestSupport.fixture("sk-pipeline"), options: ONNXTestSupport.options())
        #expect(model.runtime.feed == .rawFeatures)
        // The same row with different countries scores differently (the graph one-hot encodes them),
        // and a missing country is the declared default "DE".
        let rows: [[RawFeatureValue]] = ["DE", "US", "GB"].map { [.number(4000), .number(10), .string($0)] } + [[.number(4000), .number(10), .null]]
        let scores = try model.predict(rows).map { try $0.get().score }
        #expect(Set(scores.prefix(3)).count == 3)
        #expect(scores[3] == scores[0])
        // An unknown category is refused before the graph, as for every kind.
        guard case .failure(.invalidInput(let error)) = model.predict([[.number(1), .number(1), .string("XX")]])[0] else {
            Issue.record("an unknown category must be refused"); return
        }
        #expect(error.code == .unknownCategory)
    }

    @Test func multiOutputRegressionPublishesEveryScore() throws {
        let model = try ModelBundle.load(from: ONNXTestSupport.fixture("multi-output"), options: ONNXTestSupport.options())
        #expect(model.output.width == 2)
        var scorer = model.makeScorer(maxRows: 1)
        #expect(scorer.append(row: [.number(1), .number(2), .number(3)]) == nil)
        scorer.score()
        let output = try scorer.outcome(ofRow: 0).get()
        guard case .multiOutputRegression(let scores) = output else { Issue.record("\(output)"); return }
        var buffer: [UInt8] = []
        scorer.encodePrediction(output, context: PredictionContext(requestID: "r1", source: KafkaTopicPartition(topic: "t", partition: 0), offset: KafkaOffset(5), eventTimeMilliseconds: nil, processingTimeMilliseconds: 0), into: &buffer)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(buffer)) as? [String: Any])
        let outputs = try #require(event["outputs"] as? [String: Any])
        let named = try #require(outputs["scores"] as? [String: Double])
        #expect(named.keys.sorted() == ["demand", "price"])
        #expect(Float(named["price"]!) == scores[scores.startIndex])
        #expect(Float(named["demand"]!) == scores[scores.startIndex + 1])
        #expect(Float(outputs["score"] as! Double) == scores[scores.startIndex])
    }

    // MARK: - Errors

    @Test func runtimeFailureFailsOnlyTheBadRows() throws {
        // score = table[index] + x; an index outside 0..4 makes ONNX Runtime's Gather fail the run.
        let model = try ModelBundle.load(from: ONNXTestSupport.fixture("gather-index"), options: ONNXTestSupport.options())
        let indices: [Double] = [0, 1, 7, 2, 3, 4, 0, 1, 2, 3, 4, -9, 0, 1, 2, 3]
        let rows: [[RawFeatureValue]] = indices.enumerated().map { row, index in [.number(index), .number(Double(row) / 100)] }
        let results = model.predict(rows)
        for (row, result) in results.enumerated() {
            if indices[row] == 7 || indices[row] == -9 {
                guard case .failure(.invalidOutput(let error)) = result, case .runtimeFailure(let cause) = error.reason else {
                    Issue.record("row \(row): \(result)"); continue
                }
                #expect(error.code == .runtimeFailure)
                #expect(cause.code == .runFailed)
            } else {
                let score = try result.get().score
                #expect(score == Float(10 * (indices[row] + 1)) + Float(Double(row) / 100), "row \(row)")
            }
        }
        // A fraction cannot go into the int64 input: that row alone fails, with its own code.
        let mixed = model.predict([[.number(1), .number(0)], [.number(1.5), .number(0)], [.number(2), .number(0)]])
        #expect((try? mixed[0].get().score) == 20)
        #expect((try? mixed[2].get().score) == 30)
        guard case .failure(.invalidOutput(let error)) = mixed[1], case .runtimeFailure(let cause) = error.reason else {
            Issue.record("\(mixed[1])"); return
        }
        #expect(cause.code == .unrepresentableInput)
    }

    @Test func scorerReportsIsolatedFailuresAsDeadLetterReasons() throws {
        let model = try ModelBundle.load(from: ONNXTestSupport.fixture("gather-index"), options: ONNXTestSupport.options())
        var scorer = model.makeScorer(maxRows: 4)
        for index in [0.0, 9, 1, 2] { #expect(scorer.append(row: [.number(index), .number(0)]) == nil) }
        scorer.score()
        guard case .failure(let failure) = scorer.outcome(ofRow: 1) else { Issue.record("row 1 must fail"); return }
        #expect(failure.reason.code == DeadLetterReason.modelFailure.code, "the model failed to run on it: model_failure, not an invalid output")
        #expect(failure.reason.className == "InferenceCore.ExternalModelKernel")
        #expect(failure.reason.exceptionClassName == "InferenceCore.ModelRuntimeError")
        #expect(failure.message.hasPrefix("the model runtime failed on this row"), "\(failure.message)")
        #expect((try? scorer.outcome(ofRow: 3).get().score) == 30)
        // The next batch on the same scorer starts clean.
        scorer.reset()
        #expect(scorer.append(row: [.number(4), .number(0)]) == nil)
        scorer.score()
        #expect((try? scorer.outcome(ofRow: 0).get().score) == 50)
    }

    @Test func corruptModelFileIsRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try ONNXTestSupport.copy("sk-pipeline", to: root)
        let bytes = try Data(contentsOf: directory.appendingPathComponent("model.onnx"))
        try ONNXTestSupport.replaceFile(directory, "model.onnx", with: bytes.prefix(bytes.count / 2))
        #expect { try ModelBundle.load(from: directory, options: ONNXTestSupport.options()) } throws: { error in
            (error as? ModelBundleError)?.code == .onnxModelRejected
        }
    }

    @Test func graphInputsThatDoNotMatchTheManifestAreRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("unknown graph input", { m in
                var model = m["model"] as! [String: Any]
                model["inputs"] = [["name": "amount", "features": ["amount"]], ["name": "age", "features": ["account_age_days"]], ["name": "country", "features": ["country"]]]
                m["model"] = model
            }),
            ("encoded feed on a graph with three inputs", { m in
                var model = m["model"] as! [String: Any]
                model["feed"] = "encoded"
                model["inputs"] = nil
                m["model"] = model
            }),
            ("a string input fed a numeric feature", { m in
                var model = m["model"] as! [String: Any]
                model["inputs"] = [["name": "amount", "features": ["amount"]], ["name": "account_age_days", "features": ["country"]], ["name": "country", "features": ["account_age_days"]]]
                m["model"] = model
            }),
            ("probabilities read from the int64 label output", { m in
                var model = m["model"] as! [String: Any]
                model["outputs"] = ["probabilities": "label"]
                m["model"] = model
            }),
        ]
        for (index, (what, edit)) in edits.enumerated() {
            let directory = try ONNXTestSupport.copy("sk-pipeline", to: root, version: "\(index + 1)")
            try ONNXTestSupport.editManifest(directory, edit)
            try Self.expectGraphMismatch(directory, what, saying: [])
        }
    }

    @Test func outputOfTheWrongWidthIsRefused() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // The forest predicts 3 classes; a manifest declaring 2 labels (binary) or 4 does not match.
        for (version, labels, type) in [("1", ["a", "b", "c", "d"], "multiclass"), ("2", ["a", "b"], "binary")] {
            let directory = try ONNXTestSupport.copy("rf-classifier", to: root, version: version)
            try ONNXTestSupport.editManifest(directory) { m in
                m["output"] = ["type": type, "labels": labels]
                m["reference"] = nil
                m["baseline"] = nil
            }
            try Self.expectGraphMismatch(directory, "labels \(labels)", saying: [])
        }
    }

    @Test func missingOrForeignLibraryGivesOneClearError() throws {
        for path in ["/nonexistent/libonnxruntime.so.1", "libc.so.6"] {
            let options = ModelBundle.LoadOptions(onnxRuntime: ONNXRuntimeConfiguration(libraryPath: path))
            do {
                _ = try ModelBundle.load(from: ONNXTestSupport.fixture("gather-index"), options: options)
                Issue.record("\(path) must not load")
            } catch {
                #expect(error.code == .runtimeUnavailable)
                #expect(error.message.contains("pip install onnxruntime"))
                #expect(error.message.contains("--onnxruntime-library"))
                if path == "libc.so.6" { #expect(error.message.contains("OrtGetApiBase")) }
            }
        }
        #expect(throws: ConfigurationValidationError.self) { try ONNXRuntimeConfiguration(intraOpThreads: 0).validate() }
        #expect(throws: ConfigurationValidationError.self) { try ONNXRuntimeConfiguration(libraryPath: "").validate() }
    }

    @Test func nativeBundlesNeverOpenTheLibrary() throws {
        // A native bundle loads with a library path that does not exist: ONNX Runtime is only opened for onnx bundles.
        let options = ModelBundle.LoadOptions(onnxRuntime: ONNXRuntimeConfiguration(libraryPath: "/nonexistent/libonnxruntime.so.1"))
        let model = try ModelBundle.load(from: TestSupport.fixtureBundle("logistic-binary"), options: options)
        #expect(model.kernel != nil)
    }

    // MARK: - Graphs as exporters write them by default (Fixtures/onnx-variants, make_onnx_variant_fixtures.py)

    /// A copy of fixture bundle `name` whose model.onnx is `Fixtures/onnx-variants/<variant>.onnx`.
    static func variant(_ variant: String, of name: String, in root: URL, version: String = "1") throws -> URL {
        let directory = try ONNXTestSupport.copy(name, to: root, version: version)
        let graph = try Data(contentsOf: TestSupport.fixturesDirectory.appendingPathComponent("onnx-variants/\(variant).onnx"))
        try ONNXTestSupport.replaceFile(directory, "model.onnx", with: graph)
        return directory
    }

    /// skl2onnx's default for a classifier ends in a ZipMap: probabilities as a sequence of maps.
    /// Named in the manifest or not, the graph is refused with how to re-export it.
    @Test func aZipMapClassifierIsRefusedWithHowToReExportIt() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let manifests: [(String, [String: String]?)] = [("named", ["probabilities": "output_probability"]), ("not named", nil)]
        for (index, (what, outputs)) in manifests.enumerated() {
            let directory = try Self.variant("rf-classifier-zipmap", of: "rf-classifier", in: root, version: "\(index + 1)")
            try ONNXTestSupport.editManifest(directory) { m in
                var model = m["model"] as! [String: Any]
                model["outputs"] = outputs
                m["model"] = model
            }
            try Self.expectGraphMismatch(directory, "a ZipMap output (\(what))", saying: ["output_probability", "options={'zipmap': False}"])
        }
    }

    /// Loading `directory` fails with `graph_mismatch`, and the message contains each of `phrases`.
    static func expectGraphMismatch(_ directory: URL, _ what: String, saying phrases: [String]) throws {
        let options = try ONNXTestSupport.options()
        do {
            _ = try ModelBundle.load(from: directory, options: options)
            Issue.record("\(what) must be refused")
        } catch {
            #expect(error.code == .graphMismatch, "\(what): \(error)")
            for phrase in phrases { #expect(error.message.contains(phrase), "\(what): \(error.message)") }
        }
    }

    /// The worker scores batches: a graph exported for one row at a time is refused with the fix.
    @Test func aFixedBatchDimensionIsRefusedWithHowToExportADynamicOne() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try Self.variant("gather-index-fixed-batch", of: "gather-index", in: root)
        try Self.expectGraphMismatch(directory, "a fixed batch dimension", saying: ["fixed batch dimension", "dynamic_axes"])
    }

    /// An int32 graph input is fed int32: the graph accepts no other type, and its outputs reproduce
    /// the int64 graph's reference rows.
    @Test func anInt32InputIsFedAsInt32AndReproducesTheReferenceRows() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try Self.variant("gather-index-int32", of: "gather-index", in: root)
        let model = try ModelBundle.load(from: directory, options: ONNXTestSupport.options())
        #expect(model.runtime.feed == .rawFeatures)
        let report = try #require(model.selfTest())
        #expect(report.passed, "\(report.summary)")
        let reference = try #require(model.reference)
        #expect(reference.rowCount == 200)
        let rows = (0..<4).map { reference.rawRow($0, schema: model.schema) }
        for (row, result) in zip(rows, model.predict(rows)) {
            guard case .regression(let score) = try result.get() else { Issue.record("a regression"); continue }
            guard case .number(let index) = row[0], case .number(let x) = row[1] else { Issue.record("numeric rows: \(row)"); continue }
            #expect(abs(Double(score) - (10 * (1 + index) + x)) <= 1e-5 * max(1, abs(Double(score))), "table[index] + x for \(row)")
        }
    }

    /// A library older than the C API the worker needs is named as too old, with its version.
    @Test func aLibraryTooOldForTheCAPIIsNamedAsTooOld() throws {
        let path = try #require(ONNXTestSupport.libraryPath)
        #expect { try ONNXRuntimeLibrary(path: path, apiVersion: 10_000) } throws: { error in
            guard let error = error as? ModelRuntimeError else { return false }
            return error.code == .libraryUnavailable && error.message.contains("does not serve C API version 10000") && error.message.hasSuffix("(too old)")
        }
    }

    // MARK: - Hot reload

    @Test func hotReloadKeepsTheOldVersionWhenTheNewGraphIsBroken() throws {
        let root = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try ONNXTestSupport.copy("gather-index", to: root, version: "1")
        let registry = ModelRegistry(configuration: .init(root: root, modelName: "gather-index", onnxRuntime: try ONNXTestSupport.configuration()))
        #expect(registry.refresh() == .activated(version: "1"))
        let broken = try ONNXTestSupport.copy("gather-index", to: root, version: "2")
        try ONNXTestSupport.editManifest(broken) { m in m["version"] = "2" }
        try ONNXTestSupport.replaceFile(broken, "model.onnx", with: Data("not a graph".utf8))
        #expect(registry.refresh() == .unchanged)
        #expect(registry.current?.version == "1")
        let rejected = registry.events.compactMap { event -> ModelBundleError? in
            if case .rejected("2", let error) = event.kind { error } else { nil }
        }
        #expect(rejected.first?.code == .onnxModelRejected)

        let good = try ONNXTestSupport.copy("gather-index", to: root, version: "3")
        try ONNXTestSupport.editManifest(good) { m in m["version"] = "3" }
        #expect(registry.refresh() == .activated(version: "3"))
        #expect((try? registry.current?.predict([[.number(4), .number(0.5)]])[0].get().score) == 50.5)
    }

    @Test func replacedSessionsAreReleased() throws {
        weak var released: ONNXSession?
        do {
            let model = try ModelBundle.load(from: ONNXTestSupport.fixture("gather-index"), options: ONNXTestSupport.options())
            guard case .external(let kernel) = model.runtime, let onnx = kernel as? ONNXModelKernel else {
                Issue.record("not an ONNX kernel"); return
            }
            released = onnx.session
            #expect(released != nil)
        }
        #expect(released == nil, "the session outlived its model version")
    }
}
