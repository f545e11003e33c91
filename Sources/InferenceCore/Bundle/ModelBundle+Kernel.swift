import Foundation

extension ModelBundle {
    static func makeKernel(
        kind: ModelKind, manifest: ModelManifest, contents: [String: Data], schema: InputSchema, output: OutputSchema, directory: URL,
        onnxRuntime: ONNXRuntimeConfiguration = ONNXRuntimeConfiguration()
    ) throws(ModelBundleError) -> ModelRuntime {
        if kind == .onnx {
            return .external(try makeONNXKernel(
                manifest: manifest, contents: contents, schema: schema, output: output, directory: directory, configuration: onnxRuntime))
        }
        return .native(try makeNativeKernel(kind: kind, manifest: manifest, contents: contents, schema: schema, output: output, directory: directory))
    }

    static func makeNativeKernel(
        kind: ModelKind, manifest: ModelManifest, contents: [String: Data], schema: InputSchema, output: OutputSchema, directory: URL
    ) throws(ModelBundleError) -> any ModelKernel {
        let path = directory.appendingPathComponent(manifestFileName).path
        let model = manifest.model
        func shapeError(_ problem: String) -> ModelBundleError {
            ModelBundleError(code: .shapeMismatch, message: problem, path: path)
        }
        func require(_ tensor: ModelManifest.TensorReference?, _ field: String) throws(ModelBundleError) -> ModelManifest.TensorReference {
            guard let tensor else {
                throw ModelBundleError(code: .manifestInvalid, message: "kind '\(kind.rawValue)' needs model.\(field): see docs/model-bundle.md", path: path)
            }
            return tensor
        }
        func expectShape(_ tensor: ModelManifest.TensorReference, _ shape: [Int], _ field: String, _ why: String) throws(ModelBundleError) {
            guard tensor.shape == shape else {
                throw shapeError("model.\(field) ('\(tensor.file)') has shape \(tensor.shape), expected \(shape) (\(why))")
            }
        }
        func load(_ tensor: ModelManifest.TensorReference) throws(ModelBundleError) -> [Float] {
            try floats(tensor, contents: contents, directory: directory, requireFinite: true)
        }
        func requireTask(_ task: OutputSchema.Task, _ why: String) throws(ModelBundleError) {
            guard output.task == task else {
                throw ModelBundleError(code: .schemaInvalid, message: "output.type is '\(output.task.rawValue)' but \(why): set output.type to '\(task.rawValue)'", path: path)
            }
        }
        let width = schema.width
        let encodedWidth = "the encoded input width: numerics 1 column, one-hot categoricals 1 per vocabulary entry"
        do {
            switch kind {
            case .linear, .logistic:
                try requireTask(kind == .linear ? .regression : .binary, "kind '\(kind.rawValue)' predicts \(kind == .linear ? "a score" : "a probability")")
                let weights = try require(model.weights, "weights")
                let bias = try require(model.bias, "bias")
                try expectShape(weights, [width], "weights", encodedWidth)
                try expectShape(bias, [1], "bias", "one intercept")
                let w = try load(weights)
                let b = try load(bias)[0]
                return kind == .linear ? try LinearKernel(weights: w, bias: b) : try LogisticKernel(weights: w, bias: b)
            case .softmax:
                try requireTask(.multiclass, "kind 'softmax' predicts class probabilities")
                let weights = try require(model.weights, "weights")
                let bias = try require(model.bias, "bias")
                try expectShape(weights, [width, output.width], "weights", "[encoded input width, number of output.labels]")
                try expectShape(bias, [output.width], "bias", "one per output label")
                return try SoftmaxKernel(inputWidth: width, classCount: output.width, weights: load(weights), bias: load(bias))
            case .mlp:
                guard let sections = model.layers, !sections.isEmpty else {
                    throw ModelBundleError(code: .manifestInvalid, message: "kind 'mlp' needs model.layers (at least one dense layer)", path: path)
                }
                var layers: [DenseLayer] = []
                var previous = width
                for (index, section) in sections.enumerated() {
                    guard section.weights.shape.count == 2 else {
                        throw shapeError("model.layers[\(index)].weights has shape \(section.weights.shape), expected [in, out]")
                    }
                    let (inputs, outputs) = (section.weights.shape[0], section.weights.shape[1])
                    guard inputs == previous else {
                        throw shapeError("model.layers[\(index)].weights reads \(inputs) values but \(index == 0 ? "the encoded input has" : "the previous layer writes") \(previous): weights are [in, out] row-major (scikit-learn coefs_; PyTorch weight.T)")
                    }
                    try expectShape(section.bias, [outputs], "layers[\(index)].bias", "one per output unit")
                    let name = section.activation ?? "identity"
                    guard let activation = Activation(rawValue: name), activation != .softmax else {
                        throw ModelBundleError(code: .manifestInvalid, message: "model.layers[\(index)].activation '\(name)' is unknown: use relu, tanh, sigmoid or identity (softmax goes in output_activation)", path: path)
                    }
                    layers.append(try DenseLayer(inputWidth: inputs, outputWidth: outputs, weights: load(section.weights), bias: load(section.bias), activation: activation))
                    previous = outputs
                }
                let name = model.outputActivation ?? "identity"
                guard let outputActivation = Activation(rawValue: name), [.identity, .sigmoid, .softmax].contains(outputActivation) else {
                    throw ModelBundleError(code: .manifestInvalid, message: "model.output_activation '\(name)' is unknown: use sigmoid, softmax or identity", path: path)
                }
                guard previous == output.width else {
                    throw shapeError("the last layer writes \(previous) values but output '\(output.task.rawValue)' needs \(output.width)")
                }
                switch output.task {
                case .binary where outputActivation != .sigmoid:
                    throw ModelBundleError(code: .schemaInvalid, message: "a binary MLP needs output_activation 'sigmoid' (one positive-class probability)", path: path)
                case .multiclass where outputActivation != .softmax:
                    throw ModelBundleError(code: .schemaInvalid, message: "a multiclass MLP needs output_activation 'softmax'", path: path)
                case .regression where outputActivation == .softmax:
                    throw ModelBundleError(code: .schemaInvalid, message: "a regression MLP cannot use softmax: use identity or sigmoid", path: path)
                default:
                    break
                }
                return try MLPKernel(layers: layers, outputActivation: outputActivation)
            case .treeEnsemble:
                guard model.format == "xgboost_json", let file = model.file else {
                    throw ModelBundleError(code: .manifestInvalid, message: "kind 'tree_ensemble' needs model.format \"xgboost_json\" and model.file", path: path)
                }
                let kernel: TreeEnsembleKernel
                do {
                    kernel = try TreeEnsembleKernel(xgboostJSON: contents[file] ?? Data())
                } catch {
                    throw ModelBundleError(code: .kernelRejected, message: "the tree-ensemble kernel refused '\(file)': \(error)", path: directory.appendingPathComponent(file).path, underlying: error)
                }
                guard kernel.inputWidth == width, kernel.outputWidth == output.width else {
                    throw shapeError("'\(file)' reads \(kernel.inputWidth) and writes \(kernel.outputWidth) values per row, but the schema encodes \(width) and the output needs \(output.width)")
                }
                return kernel
            case .onnx:
                preconditionFailure("onnx bundles are built by makeONNXKernel")
            }
        } catch let error as KernelConfigurationError {
            throw shapeError(error.message)
        } catch let error as ModelBundleError {
            throw error
        } catch {
            throw ModelBundleError(code: .kernelRejected, message: "the kernel could not be built: \(error)", path: path, underlying: error)
        }
    }

    static func referenceRows(
        _ section: ModelManifest.ReferenceSection, contents: [String: Data], schema: InputSchema, output: OutputSchema, directory: URL
    ) throws(ModelBundleError) -> ReferenceRows {
        let path = directory.appendingPathComponent(manifestFileName).path
        let inputs = section.inputs
        let outputs = section.outputs
        guard inputs.shape.count == 2, inputs.shape[1] == schema.features.count else {
            throw ModelBundleError(code: .shapeMismatch, message: "reference.inputs has shape \(inputs.shape), expected [rows, \(schema.features.count)] (one raw column per feature)", path: path)
        }
        guard outputs.shape == [inputs.shape[0], output.width] else {
            throw ModelBundleError(code: .shapeMismatch, message: "reference.outputs has shape \(outputs.shape), expected [\(inputs.shape[0]), \(output.width)]", path: path)
        }
        let raw = try floats(inputs, contents: contents, directory: directory, requireFinite: false)
        let expected = try floats(outputs, contents: contents, directory: directory, requireFinite: false)
        let tolerance = section.tolerance ?? ModelManifest.Tolerance()
        guard tolerance.relative > 0, tolerance.absoluteFloor >= 0 else {
            throw ModelBundleError(code: .manifestInvalid, message: "reference.tolerance needs relative > 0 and absolute_floor >= 0", path: path)
        }
        return ReferenceRows(rowCount: inputs.shape[0], featureCount: inputs.shape[1], rawInputs: raw, expectedOutputs: expected, tolerance: tolerance)
    }
}
