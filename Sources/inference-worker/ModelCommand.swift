import ArgumentParser
import Foundation
import InferenceCore

/// `inference-worker model ...`: tools for model bundles (docs/model-bundle.md).
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Validate, inspect and benchmark model bundles.",
        subcommands: [Validate.self, Inspect.self, Bench.self]
    )
}

extension ModelCommand {
    /// Full load: manifest, digests, shapes, schema, then the self-test on the bundle's reference rows.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a bundle: manifest, SHA-256 of every file, shapes, schema, and the self-test on its reference rows.",
            discussion: """
                Exits 0 when the bundle would be accepted by the worker, 1 otherwise (with the reason and how to fix it). \
                Warns (on standard error) when the bundle has no reference rows, or when its rows never leave a feature \
                that allows missing values missing or never use a vocabulary entry: a wrong export (transposed weights, \
                features in the wrong order, a wrong default) could then pass. With --strict, warnings exit 1 too.
                """
        )

        @Argument(help: "The bundle's version directory, e.g. models/fraud-mlp/1.")
        var directory: String

        @Flag(help: "Do not require the manifest's name and version to match the <name>/<version> directory names (the registry requires it).")
        var ignoreDirectoryNames = false

        @Flag(help: "Treat warnings (no reference rows; rows that skip a missing-value path or a category) as failure: exit 1.")
        var strict = false

        @Option(help: "ONNX Runtime library for onnx bundles (env INFERENCE_WORKER_ONNXRUNTIME_LIBRARY; default libonnxruntime.so.1 on the search path).")
        var onnxruntimeLibrary: String?

        func run() throws {
            let url = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
            let options = ModelBundle.LoadOptions(
                runSelfTest: false,
                expectedName: ignoreDirectoryNames ? nil : url.deletingLastPathComponent().lastPathComponent,
                expectedVersion: ignoreDirectoryNames ? nil : url.lastPathComponent,
                onnxRuntime: ONNXRuntimeConfiguration(libraryPath: onnxruntimeLibrary))
            let model: LoadedModel
            do {
                model = try ModelBundle.load(from: url, options: options)
            } catch {
                printError("INVALID \(directory)\n  \(error.code): \(error.message)" + (error.path.map { "\n  path: \($0)" } ?? ""))
                throw ExitCode(1)
            }
            print("bundle   \(model.name) version \(model.version) (\(model.kind.rawValue))")
            print("files    \(model.manifest?.files.count ?? 0) verified (size and SHA-256)")
            print("input    \(model.schema.features.count) features, encoded width \(model.schema.width)")
            print("output   \(model.output.task.rawValue)\(model.output.labels.isEmpty ? "" : " \(model.output.labels)"), kernel writes \(model.runtime.outputWidth) per row")
            if let report = model.selfTest() {
                print("selftest \(report.summary)")
                guard report.passed else {
                    printError("INVALID \(directory)\n  self_test_failed: the reference rows do not reproduce; re-export the bundle")
                    for failure in report.failures { printError("  row \(failure.row): \(failure.reason)") }
                    throw ExitCode(1)
                }
            } else {
                print("selftest skipped: the bundle has no reference rows")
            }
            let warnings = model.bundleWarnings()
            for warning in warnings { printError("WARNING \(warning)") }
            if strict && !warnings.isEmpty {
                printError("INVALID \(directory) (--strict)\n  \(warnings.count) warning\(warnings.count == 1 ? "" : "s"); fix the export or drop --strict")
                throw ExitCode(1)
            }
            print(warnings.isEmpty ? "OK" : "OK with \(warnings.count) warning\(warnings.count == 1 ? "" : "s")")
        }
    }

    /// Human-readable summary of a bundle.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a bundle's name, version, kind, features, output schema, baseline summary, and files with digests."
        )

        @Argument(help: "The bundle's version directory, e.g. models/fraud-mlp/1.")
        var directory: String

        func run() throws {
            let url = URL(fileURLWithPath: directory, isDirectory: true)
            let manifest: ModelManifest
            do {
                manifest = try ModelBundle.readManifest(at: url)
            } catch {
                printError("cannot read manifest: \(error.code): \(error.message)")
                throw ExitCode(1)
            }
            print("name       \(manifest.name)")
            print("version    \(manifest.version)")
            print("kind       \(manifest.kind)")
            print("format     \(manifest.formatVersion)")
            print("created    \(manifest.createdAt ?? "-")")
            if case .object(let training)? = manifest.training {
                let scalars = training.sorted { $0.key < $1.key }.compactMap { key, value in value.scalarText.map { "\(key)=\($0)" } }
                print("training   \(scalars.joined(separator: " "))")
            }
            print("model      \(describeModel(manifest))")

            print("\ninput features (schema order):")
            print(pad("  #", 5) + pad("name", 26) + pad("type", 12) + pad("range", 26) + pad("missing", 18) + "preprocess")
            for (index, feature) in manifest.input.features.enumerated() {
                let range = feature.type == "numeric" ? "[\(feature.min.map { format($0) } ?? "-inf"), \(feature.max.map { format($0) } ?? "+inf")]" : "\(feature.vocabulary?.count ?? 0) categories"
                var missing = feature.missing ?? "forbidden"
                switch feature.default {
                case .number(let value)?: missing += " ->\(format(value))"
                case .string(let value)?: missing += " ->\(value)"
                default: break
                }
                var preprocess: [String] = []
                if let scale = feature.preprocess?.standardScale { preprocess.append("standard_scale(mean \(format(scale.mean)), std \(format(scale.std)))") }
                if feature.preprocess?.ordinal == true { preprocess.append("ordinal") } else if feature.type == "categorical" { preprocess.append("one_hot") }
                if let vocabulary = feature.vocabulary { preprocess.append("vocabulary \(vocabulary)") }
                print(pad("  \(index)", 5) + pad(feature.name, 26) + pad(feature.type, 12) + pad(range, 26) + pad(missing, 18) + preprocess.joined(separator: " "))
            }

            let output = manifest.output
            print("\noutput     \(output.type)" + (output.labels.map { " labels \($0)" } ?? "")
                + (output.threshold.map { " threshold \($0)" } ?? "") + (output.range.map { " range \($0)" } ?? "")
                + (output.sumTolerance.map { " sum_tolerance \($0)" } ?? ""))

            if let baseline = manifest.baseline {
                print("\nbaseline:")
                print(pad("  feature", 28) + pad("count", 8) + pad("missing", 9) + pad("mean", 12) + pad("std", 12) + pad("p01", 12) + pad("p50", 12) + pad("p99", 12) + "bins / categories")
                let order = manifest.input.features.map(\.name)
                for name in order {
                    guard let distribution = baseline.features[name] else {
                        print(pad("  \(name)", 28) + "(no baseline)")
                        continue
                    }
                    print(describe(distribution, name: "  \(name)"))
                }
                if let distribution = baseline.output { print(describe(distribution, name: "  (output)")) }
            } else {
                print("\nbaseline   none (drift monitoring needs one)")
            }
            if let reference = manifest.reference {
                print("\nreference  \(reference.inputs.shape.first ?? 0) rows (\(reference.inputs.file), \(reference.outputs.file)), tolerance \(reference.tolerance.map { "\($0.relative) x max(|expected|, \($0.absoluteFloor))" } ?? "default")")
            } else {
                print("\nreference  none (validate cannot self-test)")
            }

            print("\nfiles:")
            for (file, digest) in manifest.files.sorted(by: { $0.key < $1.key }) {
                let size = (try? FileManager.default.attributesOfItem(atPath: url.appendingPathComponent(file).path)[.size] as? Int).flatMap { $0 }
                print("  " + pad(file, 28) + pad(size.map { "\($0) B" } ?? "MISSING", 12) + "sha256:\(digest)")
            }
            do {
                _ = try ModelBundle.load(from: url, options: .init(runSelfTest: false))
                print("\nverification: OK (digests, sizes, shapes, schema; run `model validate` for the self-test)")
            } catch {
                print("\nverification: FAILED \(error.code): \(error.message)")
                throw ExitCode(1)
            }
        }

        private func describeModel(_ manifest: ModelManifest) -> String {
            let model = manifest.model
            if let layers = model.layers {
                let chain = layers.map { "\($0.weights.shape.last ?? 0) (\($0.activation ?? "identity"))" }.joined(separator: " -> ")
                return "\(layers.first?.weights.shape.first ?? 0) -> \(chain), output activation \(model.outputActivation ?? "identity")"
            }
            if let weights = model.weights { return "weights \(weights.shape) (\(weights.file)), bias \(model.bias?.shape ?? [])" }
            if let file = model.file { return "\(model.format ?? "?") \(file)" }
            return "?"
        }

        private func describe(_ distribution: DistributionBaseline, name: String) -> String {
            var line = pad(name, 28) + pad(distribution.count.map { "\($0)" } ?? "-", 8) + pad(distribution.missingRate.map { format($0) } ?? "-", 9)
            line += pad(distribution.mean.map { format($0) } ?? "-", 12) + pad(distribution.std.map { format($0) } ?? "-", 12)
            for quantile in ["0.01", "0.5", "0.99"] {
                line += pad(distribution.quantiles?[quantile].map { format($0) } ?? "-", 12)
            }
            if let proportions = distribution.proportions { line += "\(proportions.count) bins" }
            if let categories = distribution.categories {
                line += categories.sorted { $0.value > $1.value }.prefix(5).map { "\($0.key) \(format($0.value))" }.joined(separator: ", ")
            }
            return line
        }
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func format(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
    return String(format: "%.4g", value)
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
