public import Foundation
import Crypto

/// Loads and verifies model bundles: `<root>/<model-name>/<version>/manifest.json` plus weights files.
///
/// Loading is all-or-nothing: every listed file's size and SHA-256 are checked, every shape is checked
/// against the input and output schemas, and (by default) the bundle's reference rows are replayed.
/// Any problem becomes a `ModelBundleError` naming the file and the fix. See docs/model-bundle.md.
public enum ModelBundle {
    /// The bundle format version this build reads.
    public static let formatVersion = 1
    /// The manifest's file name inside a version directory.
    public static let manifestFileName = "manifest.json"

    /// What `load` checks beyond the format itself.
    public struct LoadOptions: Sendable {
        /// Replay the reference rows (if the bundle has them) and refuse the bundle if they do not
        /// reproduce. Default `true`.
        public var runSelfTest: Bool
        /// When set, the manifest's `name` must equal it (the registry passes the model directory's name).
        public var expectedName: String?
        /// When set, the manifest's `version` must equal it (the registry passes the version directory's name).
        public var expectedVersion: String?
        /// Where ONNX Runtime is and how many threads a session uses (`onnx` bundles only).
        public var onnxRuntime: ONNXRuntimeConfiguration

        /// Creates options; by default the self-test runs, names are not checked, and ONNX Runtime is
        /// found through its environment variable or the library search path.
        public init(
            runSelfTest: Bool = true, expectedName: String? = nil, expectedVersion: String? = nil,
            onnxRuntime: ONNXRuntimeConfiguration = ONNXRuntimeConfiguration()
        ) {
            self.runSelfTest = runSelfTest
            self.expectedName = expectedName
            self.expectedVersion = expectedVersion
            self.onnxRuntime = onnxRuntime
        }
    }

    /// Reads and decodes `manifest.json` in `directory` without checking anything else.
    public static func readManifest(at directory: URL) throws(ModelBundleError) -> ModelManifest {
        let url = directory.appendingPathComponent(manifestFileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelBundleError(
                code: .manifestMissing,
                message: "no \(manifestFileName) in the bundle directory: point at a <model>/<version>/ directory written by an exporter (the manifest is written last, so a bundle still being copied has none)",
                path: url.path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelBundleError(code: .manifestMissing, message: "cannot read \(manifestFileName): check permissions", path: url.path, underlying: error)
        }
        do {
            return try JSONDecoder().decode(ModelManifest.self, from: data)
        } catch {
            throw ModelBundleError(
                code: .manifestInvalid,
                message: "\(manifestFileName) does not match the bundle format: \(describe(error)); see docs/model-bundle.md",
                path: url.path, underlying: error)
        }
    }

    /// Loads, verifies and (by default) self-tests the bundle in `directory`.
    public static func load(from directory: URL, options: LoadOptions = LoadOptions()) throws(ModelBundleError) -> LoadedModel {
        let manifestPath = directory.appendingPathComponent(manifestFileName).path
        let manifest = try readManifest(at: directory)
        guard manifest.formatVersion == formatVersion else {
            throw ModelBundleError(
                code: .unsupportedFormatVersion,
                message: "format_version \(manifest.formatVersion) is not supported by this build (reads \(formatVersion)): export with a matching bundle writer or upgrade the worker",
                path: manifestPath)
        }
        guard let kind = ModelKind(rawValue: manifest.kind) else {
            throw ModelBundleError(
                code: .unsupportedKind,
                message: "kind '\(manifest.kind)' is unknown: use one of \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))",
                path: manifestPath)
        }
        if let expected = options.expectedName, manifest.name != expected {
            throw ModelBundleError(code: .manifestInvalid, message: "manifest name '\(manifest.name)' differs from the model directory '\(expected)': put the bundle under <root>/\(manifest.name)/", path: manifestPath)
        }
        if let expected = options.expectedVersion, manifest.version != expected {
            throw ModelBundleError(code: .manifestInvalid, message: "manifest version '\(manifest.version)' differs from the version directory '\(expected)': rename the directory to the manifest's version", path: manifestPath)
        }

        let contents = try verifyFiles(of: manifest, in: directory)
        let schema = try inputSchema(of: manifest, kind: kind, path: manifestPath)
        let output = try outputSchema(of: manifest, path: manifestPath)
        let runtime = try makeKernel(
            kind: kind, manifest: manifest, contents: contents, schema: schema, output: output, directory: directory, onnxRuntime: options.onnxRuntime)
        if let baseline = manifest.baseline {
            for (name, distribution) in baseline.features.sorted(by: { $0.key < $1.key }) {
                if schema.featureIndex[name] == nil {
                    throw ModelBundleError(code: .schemaInvalid, message: "baseline.features has '\(name)', which is not an input feature: remove it or fix its name", path: manifestPath)
                }
                if let problem = distribution.consistencyProblem() {
                    throw ModelBundleError(code: .schemaInvalid, message: "baseline.features.\(name): \(problem)", path: manifestPath)
                }
            }
            if let problem = baseline.output?.consistencyProblem() {
                throw ModelBundleError(code: .schemaInvalid, message: "baseline.output: \(problem)", path: manifestPath)
            }
        }
        let reference = try manifest.reference.map { section throws(ModelBundleError) in
            try referenceRows(section, contents: contents, schema: schema, output: output, directory: directory)
        }
        let model = LoadedModel(
            name: manifest.name, version: manifest.version, kind: kind, schema: schema, runtime: runtime,
            output: output, baseline: manifest.baseline, reference: reference, manifest: manifest, directory: directory)
        if options.runSelfTest, let report = model.selfTest(), !report.passed {
            throw ModelBundleError(
                code: .selfTestFailed,
                message: "reference rows do not reproduce: \(report.summary); the weights and the reference outputs disagree, re-export the bundle",
                path: directory.path)
        }
        return model
    }

    // MARK: - Files

    static func verifyFiles(of manifest: ModelManifest, in directory: URL) throws(ModelBundleError) -> [String: Data] {
        let manifestPath = directory.appendingPathComponent(manifestFileName).path
        // Sizes implied by tensor shapes, so that a truncated file is named as such, not just "digest mismatch".
        var expectedSizes: [String: (size: Int, shape: [Int])] = [:]
        for tensor in tensorReferences(of: manifest) {
            guard manifest.files[tensor.file] != nil else {
                throw ModelBundleError(code: .fileNotListed, message: "'\(tensor.file)' is used by the model but not listed in \"files\": add it with its SHA-256", path: manifestPath)
            }
            guard !tensor.shape.isEmpty, tensor.shape.allSatisfy({ $0 > 0 }) else {
                throw ModelBundleError(code: .shapeMismatch, message: "'\(tensor.file)' has shape \(tensor.shape): every dimension must be positive", path: manifestPath)
            }
            expectedSizes[tensor.file] = (tensor.elementCount * 4, tensor.shape)
        }
        if let file = manifest.model.file, manifest.files[file] == nil {
            throw ModelBundleError(code: .fileNotListed, message: "'\(file)' is used by the model but not listed in \"files\": add it with its SHA-256", path: manifestPath)
        }
        var contents: [String: Data] = [:]
        for (relative, digest) in manifest.files.sorted(by: { $0.key < $1.key }) {
            let components = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard !relative.isEmpty, !relative.hasPrefix("/"), !components.contains(".."), !components.contains("") else {
                throw ModelBundleError(code: .manifestInvalid, message: "file path '\(relative)' must be relative and stay inside the bundle directory", path: manifestPath)
            }
            let expectedDigest = digest.lowercased()
            guard expectedDigest.count == 64, expectedDigest.allSatisfy(\.isHexDigit) else {
                throw ModelBundleError(code: .manifestInvalid, message: "digest of '\(relative)' is not 64 hex characters of SHA-256", path: manifestPath)
            }
            let url = directory.appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ModelBundleError(code: .fileMissing, message: "'\(relative)' is listed in the manifest but missing: copy the whole bundle directory", path: url.path)
            }
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw ModelBundleError(code: .fileMissing, message: "'\(relative)' cannot be read: check permissions", path: url.path, underlying: error)
            }
            if let expected = expectedSizes[relative], data.count != expected.size {
                let what = data.count < expected.size ? "truncated" : "longer than its shape (extra bytes)"
                throw ModelBundleError(
                    code: .sizeMismatch,
                    message: "'\(relative)' has \(data.count) bytes but shape \(expected.shape) needs \(expected.size) (float32): the file is \(what); re-copy or re-export the bundle",
                    path: url.path)
            }
            let actual = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            guard actual == expectedDigest else {
                throw ModelBundleError(
                    code: .digestMismatch,
                    message: "'\(relative)' has SHA-256 \(actual) but the manifest lists \(expectedDigest): the file was modified or corrupted after export; restore it or re-export the bundle",
                    path: url.path)
            }
            contents[relative] = data
        }
        return contents
    }

    static func tensorReferences(of manifest: ModelManifest) -> [ModelManifest.TensorReference] {
        var references: [ModelManifest.TensorReference] = []
        if let weights = manifest.model.weights { references.append(weights) }
        if let bias = manifest.model.bias { references.append(bias) }
        for layer in manifest.model.layers ?? [] {
            references.append(layer.weights)
            references.append(layer.bias)
        }
        if let reference = manifest.reference {
            references.append(reference.inputs)
            references.append(reference.outputs)
        }
        return references
    }

    /// Decodes a verified little-endian float32 file.
    static func floats(_ tensor: ModelManifest.TensorReference, contents: [String: Data], directory: URL, requireFinite: Bool) throws(ModelBundleError) -> [Float] {
        // verifyFiles has checked presence and size for every tensor reference.
        let data = contents[tensor.file] ?? Data()
        let count = data.count / 4
        let values = data.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count {
                    buffer[index] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                }
                initialized = count
            }
        }
        if requireFinite, let index = values.firstIndex(where: { !$0.isFinite }) {
            throw ModelBundleError(
                code: .nonFiniteWeights,
                message: "'\(tensor.file)' holds \(values[index]) at index \(index): weights must be finite; check the training run",
                path: directory.appendingPathComponent(tensor.file).path)
        }
        return values
    }

    static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch decoding {
        case .keyNotFound(let key, let context): return "missing field '\(path(context)).\(key.stringValue)'"
        case .typeMismatch(_, let context): return "wrong type at '\(path(context))': \(context.debugDescription)"
        case .valueNotFound(_, let context): return "null at '\(path(context))'"
        case .dataCorrupted(let context): return "invalid JSON at '\(path(context))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
