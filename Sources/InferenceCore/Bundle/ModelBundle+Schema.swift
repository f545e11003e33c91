extension ModelBundle {
    static func inputSchema(of manifest: ModelManifest, kind: ModelKind, path: String) throws(ModelBundleError) -> InputSchema {
        guard !manifest.input.features.isEmpty else {
            throw ModelBundleError(code: .schemaInvalid, message: "input.features is empty: declare the model's features in order", path: path)
        }
        // An ONNX graph fed raw features does its own preprocessing; the schema only validates, and
        // encodes categoricals as their vocabulary index (one column) for the raw columns.
        let rawFeed = kind == .onnx && manifest.model.feed == "raw"
        var specs: [FeatureSpec] = []
        var seen: Set<String> = []
        for (position, section) in manifest.input.features.enumerated() {
            let location = "input.features[\(position)] ('\(section.name)')"
            func invalid(_ problem: String) -> ModelBundleError {
                ModelBundleError(code: .schemaInvalid, message: "\(location): \(problem)", path: path)
            }
            guard seen.insert(section.name).inserted else { throw invalid("duplicate feature name") }
            guard let valueType = FeatureSpec.ValueType(rawValue: section.type) else {
                throw invalid("type '\(section.type)' is unknown: use numeric or categorical")
            }
            guard let missing = FeatureSpec.MissingPolicy(rawValue: section.missing ?? "forbidden") else {
                throw invalid("missing '\(section.missing ?? "")' is unknown: use allowed or forbidden")
            }
            let preprocess = section.preprocess
            if rawFeed, preprocess != nil {
                throw invalid("model.feed is 'raw': the graph does its own preprocessing, so remove \"preprocess\" (or use feed 'encoded')")
            }
            let spec: FeatureSpec
            switch valueType {
            case .numeric:
                if preprocess?.oneHot == true || preprocess?.ordinal == true { throw invalid("one_hot/ordinal apply to categorical features only") }
                if section.vocabulary != nil { throw invalid("vocabulary applies to categorical features only") }
                var numericDefault: Double?
                switch section.default {
                case nil, .null?: numericDefault = nil
                case .number(let value)?: numericDefault = value
                default: throw invalid("default must be a number")
                }
                let encoding: FeatureSpec.Encoding = preprocess?.standardScale.map { .standardScale(mean: $0.mean, std: $0.std) } ?? .identity
                spec = .numeric(section.name, minimum: section.min, maximum: section.max, missing: missing, default: numericDefault, encoding: encoding)
            case .categorical:
                if preprocess?.standardScale != nil { throw invalid("standard_scale applies to numeric features only") }
                if preprocess?.oneHot == true && preprocess?.ordinal == true { throw invalid("choose one of one_hot and ordinal") }
                var categoricalDefault: String?
                switch section.default {
                case nil, .null?: categoricalDefault = nil
                case .string(let value)?: categoricalDefault = value
                default: throw invalid("default must be a string from the vocabulary")
                }
                spec = FeatureSpec(
                    name: section.name, valueType: .categorical, minimum: section.min, maximum: section.max, missing: missing,
                    numericDefault: nil, categoricalDefault: categoricalDefault, vocabulary: section.vocabulary ?? [],
                    encoding: rawFeed || preprocess?.ordinal == true ? .ordinal : .oneHot)
            }
            if let problem = spec.consistencyProblem(nativeMissing: kind.handlesMissingNatively) { throw invalid(problem) }
            specs.append(spec)
        }
        return InputSchema(features: specs, nativeMissing: kind.handlesMissingNatively)
    }

    static func outputSchema(of manifest: ModelManifest, path: String) throws(ModelBundleError) -> OutputSchema {
        let section = manifest.output
        guard let task = OutputSchema.Task(rawValue: section.type) else {
            throw ModelBundleError(code: .schemaInvalid, message: "output.type '\(section.type)' is unknown: use regression, binary or multiclass", path: path)
        }
        var range: ClosedRange<Double>?
        if let bounds = section.range {
            guard bounds.count == 2, bounds[0] <= bounds[1] else {
                throw ModelBundleError(code: .schemaInvalid, message: "output.range must be [lo, hi] with lo <= hi, got \(bounds)", path: path)
            }
            range = bounds[0]...bounds[1]
        }
        let schema = OutputSchema(
            task: task, labels: section.labels ?? [], threshold: Float(section.threshold ?? 0.5), range: range,
            sumTolerance: section.sumTolerance ?? 1e-4)
        if let problem = schema.consistencyProblem() {
            throw ModelBundleError(code: .schemaInvalid, message: "output: \(problem)", path: path)
        }
        return schema
    }
}
