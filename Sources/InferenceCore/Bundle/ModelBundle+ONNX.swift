import Foundation

extension ModelBundle {
    /// What a graph whose probabilities are not a tensor is told: skl2onnx's classifiers end in a
    /// ZipMap (a sequence of maps) unless it is turned off.
    static let zipMapAdvice = "classifiers exported by skl2onnx return probabilities as a sequence of maps (ZipMap) unless converted with options={'zipmap': False}; re-export without ZipMap"

    /// Builds the ONNX Runtime kernel of an `onnx` bundle and checks the graph against the manifest:
    /// inputs (names, element types, widths, a dynamic batch dimension) and the output read (a tensor
    /// of float or double whose width matches the output schema).
    static func makeONNXKernel(
        manifest: ModelManifest, contents: [String: Data], schema: InputSchema, output: OutputSchema, directory: URL,
        configuration: ONNXRuntimeConfiguration
    ) throws(ModelBundleError) -> ONNXModelKernel {
        let path = directory.appendingPathComponent(manifestFileName).path
        let model = manifest.model
        guard model.format == nil || model.format == "onnx", let file = model.file else {
            throw ModelBundleError(code: .manifestInvalid, message: "kind 'onnx' needs model.file (the .onnx file) and model.format \"onnx\" (or none)", path: path)
        }
        let feedName = model.feed ?? "encoded"
        guard feedName == "encoded" || feedName == "raw" else {
            throw ModelBundleError(code: .manifestInvalid, message: "model.feed '\(feedName)' is unknown: use encoded (the worker's preprocessing) or raw (the graph's own)", path: path)
        }
        let filePath = directory.appendingPathComponent(file).path
        func mismatch(_ problem: String) -> ModelBundleError {
            ModelBundleError(code: .graphMismatch, message: "\(file): \(problem)", path: filePath)
        }

        let library: ONNXRuntimeLibrary
        do {
            library = try ONNXRuntimeLibrary.shared(configuration)
        } catch {
            throw ModelBundleError(code: .runtimeUnavailable, message: error.message, path: filePath, underlying: error)
        }
        let session: ONNXSession
        do {
            session = try ONNXSession(library: library, model: contents[file] ?? Data(), configuration: configuration)
        } catch {
            throw ModelBundleError(code: .onnxModelRejected, message: "ONNX Runtime \(library.version) refused the model (corrupt file or unsupported operators; re-export it with a supported opset): \(error.message)", path: filePath, underlying: error)
        }

        func requireDynamicBatch(_ port: ONNXSession.Port) throws(ModelBundleError) {
            guard let first = port.shape.first, first < 0 else {
                throw mismatch("input \(port) has a fixed batch dimension: export it with a dynamic first dimension (skl2onnx: initial_types [None, n]; torch.onnx.export: dynamic_axes)")
            }
        }

        // Inputs.
        let plan: ONNXModelKernel.Plan
        let inputNames: [String]
        if feedName == "encoded" {
            guard session.inputs.count == 1, let port = session.inputs.first else {
                throw mismatch("the graph has \(session.inputs.count) inputs (\(session.inputs.map(\.description).joined(separator: ", "))) but model.feed 'encoded' feeds one float input [batch, \(schema.width)]: use feed 'raw' with model.inputs")
            }
            guard port.isTensor, port.elementType == 1, port.shape.count == 2 else {
                throw mismatch("input \(port) must be float[N, \(schema.width)] for model.feed 'encoded'")
            }
            try requireDynamicBatch(port)
            guard port.shape[1] < 0 || port.shape[1] == Int64(schema.width) else {
                throw mismatch("input \(port) has \(port.shape[1]) columns but the schema encodes \(schema.width) (numerics 1 column, one-hot categoricals 1 per vocabulary entry)")
            }
            plan = .encoded(width: schema.width)
            inputNames = [port.name]
        } else {
            let sections = model.inputs ?? schema.features.map { ModelManifest.GraphInputSection(name: $0.name, features: [$0.name]) }
            var used: Set<String> = []
            var rawInputs: [ONNXModelKernel.RawInput] = []
            for section in sections {
                guard let port = session.inputs.first(where: { $0.name == section.name }) else {
                    throw mismatch("model.inputs names '\(section.name)', which the graph does not have (its inputs: \(session.inputs.map(\.description).joined(separator: ", ")))")
                }
                guard !section.features.isEmpty else { throw mismatch("model.inputs '\(section.name)' lists no features") }
                var positions: [Int] = []
                for name in section.features {
                    guard let position = schema.featureIndex[name] else {
                        throw mismatch("model.inputs '\(section.name)' lists '\(name)', which is not in input.features")
                    }
                    guard used.insert(name).inserted else { throw mismatch("feature '\(name)' is fed to more than one graph input") }
                    positions.append(position)
                }
                guard port.isTensor else { throw mismatch("input \(port) is not a tensor") }
                try requireDynamicBatch(port)
                let k = positions.count
                guard (port.shape.count == 2 && (port.shape[1] < 0 || port.shape[1] == Int64(k))) || (port.shape.count == 1 && k == 1) else {
                    throw mismatch("input \(port) does not take \(k) column\(k == 1 ? "" : "s") (\(section.features.joined(separator: ", ")))")
                }
                let types = Set(positions.map { schema.features[$0].valueType })
                let element = ONNXSession.Port.elementName(port.elementType)
                switch element {
                case "string":
                    guard types == [.categorical] else { throw mismatch("input \(port) takes strings but receives numeric features: declare them categorical with their vocabulary") }
                case "float", "double", "int64", "int32":
                    guard types == [.numeric] else { throw mismatch("input \(port) takes numbers but receives categorical features: a categorical feature needs a string input") }
                default:
                    throw mismatch("input \(port) has element type \(element): supported are float, double, int64, int32 and string")
                }
                rawInputs.append(.init(
                    features: positions, names: section.features, elementType: port.elementType, rank: port.shape.count,
                    vocabularies: element == "string" ? positions.map { CStringArray(schema.features[$0].vocabulary) } : []))
            }
            let unfed = session.inputs.map(\.name).filter { name in !sections.contains { $0.name == name } }
            guard unfed.isEmpty else { throw mismatch("graph inputs \(unfed) are fed no features: list them in model.inputs") }
            let unused = schema.features.map(\.name).filter { !used.contains($0) }
            guard unused.isEmpty else { throw mismatch("features \(unused) go to no graph input: add them to model.inputs") }
            plan = .raw(rawInputs)
            inputNames = sections.map(\.name)
        }

        // The output read.
        let outputs = model.outputs
        let wanted = output.task == .regression ? outputs?.score : outputs?.probabilities
        let key = output.task == .regression ? "score" : "probabilities"
        let name: String
        if let wanted {
            name = wanted
        } else if session.outputs.count == 1 {
            name = session.outputs[0].name
        } else if output.task != .regression, session.outputs.contains(where: { $0.name == "probabilities" }) {
            name = "probabilities"  // skl2onnx's classifier outputs are label and probabilities
        } else if output.task != .regression, let zipMap = session.outputs.first(where: { !$0.isTensor }) {
            throw mismatch("output \(zipMap): \(Self.zipMapAdvice)")
        } else {
            throw ModelBundleError(code: .manifestInvalid, message: "the graph has outputs \(session.outputs.map(\.description).joined(separator: ", ")): name the one to read in model.outputs.\(key)", path: path)
        }
        if let label = outputs?.label, !session.outputs.contains(where: { $0.name == label }) {
            throw mismatch("model.outputs.label '\(label)' is not a graph output")
        }
        guard let port = session.outputs.first(where: { $0.name == name }) else {
            throw mismatch("model.outputs.\(key) '\(name)' is not a graph output (outputs: \(session.outputs.map(\.description).joined(separator: ", ")))")
        }
        guard port.isTensor else {
            throw mismatch("output \(port): \(Self.zipMapAdvice)")
        }
        guard port.elementType == 1 || port.elementType == 11 else {
            throw mismatch("output \(port) must be float or double")
        }
        guard port.shape.count == 1 || port.shape.count == 2 else { throw mismatch("output \(port) must be [batch] or [batch, columns]") }
        let declared = port.shape.count == 2 ? port.shape[1] : 1
        let width = output.width
        var columns = width
        var firstColumn = 0
        if output.task == .binary, declared == 2 {
            columns = 2
            firstColumn = 1  // [P(negative), P(positive)]
        }
        guard declared < 0 || declared == Int64(columns) else {
            throw mismatch("output \(port) has \(declared) columns but output '\(output.task.rawValue)' needs \(width)\(output.task == .binary ? " (or 2: both class probabilities)" : "")")
        }
        return ONNXModelKernel(
            session: session, plan: plan, inputNames: CStringArray(inputNames), outputNames: CStringArray([name]),
            outputColumns: columns, firstColumn: firstColumn, outputWidth: width)
    }
}
