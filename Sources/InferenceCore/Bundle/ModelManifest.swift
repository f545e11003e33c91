/// `manifest.json` of a model bundle, as decoded (see docs/model-bundle.md for every field).
///
/// Decoding checks only JSON shapes; `ModelBundle.load` checks meaning (widths, digests, ranges).
public struct ModelManifest: Sendable, Codable {
    /// Bundle format; this build reads version 1.
    public var formatVersion: Int
    public var name: String
    public var version: String
    /// `linear`, `logistic`, `softmax`, `mlp`, `tree_ensemble` or `onnx` (kept as text for a clear error on unknown kinds).
    public var kind: String
    /// RFC 3339 time of export.
    public var createdAt: String?
    /// Free-form training metadata.
    public var training: JSONValue?
    /// Relative path -> lowercase hex SHA-256 of every file the bundle uses besides the manifest.
    public var files: [String: String]
    public var model: ModelSection
    public var input: InputSection
    public var output: OutputSection
    public var baseline: ModelBaseline?
    /// Reference rows for self-test.
    public var reference: ReferenceSection?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", name, version, kind, createdAt = "created_at", training, files
        case model, input, output, baseline, reference
    }

    /// A little-endian float32 tensor file, C order.
    public struct TensorReference: Sendable, Codable, Hashable {
        public var file: String
        public var shape: [Int]

        /// Values in the tensor.
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Kind-specific model description. Which fields are required depends on `kind`.
    public struct ModelSection: Sendable, Codable {
        /// linear / logistic: `[in]`; softmax: `[in, classes]`.
        public var weights: TensorReference?
        /// linear / logistic: `[1]`; softmax: `[classes]`.
        public var bias: TensorReference?
        /// mlp: dense layers, first to last.
        public var layers: [LayerSection]?
        /// mlp: `sigmoid`, `softmax` or `identity` after the last layer.
        public var outputActivation: String?
        /// tree_ensemble: `xgboost_json`; onnx: `onnx`.
        public var format: String?
        /// tree_ensemble: the model file; onnx: the `.onnx` file.
        public var file: String?
        /// onnx: `encoded` (default: the worker's preprocessing into one float input `[batch, width]`)
        /// or `raw` (each graph input gets its features' raw values).
        public var feed: String?
        /// onnx with feed `raw`: which features go into which graph input, in column order. Default:
        /// one input per feature, named like the feature.
        public var inputs: [GraphInputSection]?
        /// onnx: which graph outputs hold the score or probabilities (and the label).
        public var outputs: GraphOutputSection?

        enum CodingKeys: String, CodingKey {
            case weights, bias, layers, outputActivation = "output_activation", format, file, feed, inputs, outputs
        }
    }

    /// onnx: one graph input and the features it receives, in column order.
    public struct GraphInputSection: Sendable, Codable {
        public var name: String
        public var features: [String]
    }

    /// onnx: names of graph outputs. `score` (regression) or `probabilities` (binary: `[batch, 2]` or
    /// `[batch, 1]`; multiclass: `[batch, classes]`) is read; `label` is documentation only: the worker
    /// derives the label from the probabilities with `output.threshold` / argmax, as for every kind.
    public struct GraphOutputSection: Sendable, Codable {
        public var score: String?
        public var probabilities: String?
        public var label: String?
    }

    /// One dense layer: `weights` `[in, out]` row-major, `bias` `[out]`.
    public struct LayerSection: Sendable, Codable {
        public var weights: TensorReference
        public var bias: TensorReference
        /// `relu`, `tanh`, `sigmoid` or `identity` (default).
        public var activation: String?
    }

    public struct InputSection: Sendable, Codable {
        public var features: [FeatureSection]
    }

    /// One entry of `input.features`.
    public struct FeatureSection: Sendable, Codable {
        public var name: String
        /// `numeric` or `categorical`.
        public var type: String
        public var min: Double?
        public var max: Double?
        /// `allowed` or `forbidden` (default).
        public var missing: String?
        /// A number (numeric) or a string (categorical).
        public var `default`: JSONValue?
        public var vocabulary: [String]?
        public var preprocess: PreprocessSection?
    }

    /// `{"standard_scale": {"mean", "std"}}`, `{"one_hot": true}` or `{"ordinal": true}`.
    public struct PreprocessSection: Sendable, Codable {
        public var standardScale: StandardScale?
        public var oneHot: Bool?
        public var ordinal: Bool?

        enum CodingKeys: String, CodingKey {
            case standardScale = "standard_scale", oneHot = "one_hot", ordinal
        }
    }

    public struct StandardScale: Sendable, Codable {
        public var mean: Double
        public var std: Double
    }

    public struct OutputSection: Sendable, Codable {
        /// `regression`, `binary` or `multiclass`.
        public var type: String
        public var labels: [String]?
        public var threshold: Double?
        public var range: [Double]?
        public var sumTolerance: Double?

        enum CodingKeys: String, CodingKey {
            case type, labels, threshold, range, sumTolerance = "sum_tolerance"
        }
    }

    /// Raw reference inputs `[rows, features]` (numeric value or vocabulary index, NaN = missing) and
    /// expected outputs `[rows, outputWidth]`.
    public struct ReferenceSection: Sendable, Codable {
        public var inputs: TensorReference
        public var outputs: TensorReference
        public var tolerance: Tolerance?
    }

    /// A row passes when `|actual - expected| <= relative * max(|expected|, absoluteFloor)`.
    public struct Tolerance: Sendable, Codable, Hashable {
        public var relative: Double
        public var absoluteFloor: Double

        public init(relative: Double = 1e-5, absoluteFloor: Double = 1) {
            self.relative = relative
            self.absoluteFloor = absoluteFloor
        }

        enum CodingKeys: String, CodingKey {
            case relative, absoluteFloor = "absolute_floor"
        }
    }
}
