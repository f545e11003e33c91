/// The model's input features in order, and the encoding of raw rows into the kernel's Float32 rows.
///
/// Encoding validates every value (type, infinity, range, vocabulary, missing policy), replaces a
/// missing value by the feature's declared `default`, scales numerics and one-hot encodes
/// categoricals, writing straight into the destination matrix: nothing is allocated per row.
///
/// Missing values: absent, `null` and NaN (Python's `json.dumps` writes a missing float as `NaN`) are
/// all missing. A declared `default` is always used, as an imputing training pipeline
/// (`SimpleImputer`) would; only a feature that allows missing values *and* declares no default
/// reaches a kernel that handles missing values natively (tree ensembles) as NaN. A NaN for a feature
/// that does not allow missing values is rejected as `non_finite`.
///
/// Booleans: `true` / `false` are 1 / 0 for a numeric feature (what pandas and scikit-learn do with
/// a bool column), then range-checked and scaled like any number; a categorical feature refuses them.
public struct InputSchema: Sendable {
    /// The features, in the order the request decoder delivers values.
    public let features: [FeatureSpec]
    /// The kernel handles missing values itself: a missing value of a feature without a declared
    /// `default` is encoded as NaN. A declared default is used regardless.
    public let nativeMissing: Bool
    /// Float32 columns per encoded row (the kernel's `inputWidth`).
    public let width: Int
    /// First column of each feature in the encoded row.
    public let offsets: [Int]
    /// Feature name -> position, for decoders mapping object keys.
    public let featureIndex: [String: Int]
    /// Per feature, what the hot loop needs, as trivial values.
    let steps: [EncodingStep]
    /// Per feature, category -> index (empty for numerics).
    let vocabularies: [[String: Int]]

    /// Creates a schema. The features should be consistent (see `FeatureSpec.consistencyProblem`);
    /// the bundle loader checks that and reports problems as `ModelBundleError`.
    public init(features: [FeatureSpec], nativeMissing: Bool = false) {
        self.features = features
        self.nativeMissing = nativeMissing
        var offsets: [Int] = []
        var width = 0
        var index: [String: Int] = [:]
        for (position, feature) in features.enumerated() {
            offsets.append(width)
            width += feature.width
            index[feature.name] = position
        }
        self.offsets = offsets
        self.width = width
        self.featureIndex = index
        self.steps = features.map(EncodingStep.init)
        self.vocabularies = features.map(\.vocabularyIndex)
    }

    /// Validates `row` (one value per feature, schema order) and writes its encoding into
    /// `destination[0..<width]`. On error, `destination` holds garbage and may be reused.
    public func encode(row: [RawFeatureValue], into destination: UnsafeMutableBufferPointer<Float>) throws(InputValidationError) {
        guard row.count == features.count else {
            throw .wrongArity(expected: features.count, got: row.count)
        }
        precondition(destination.count >= width, "InputSchema.encode: destination smaller than the schema width")
        let base = destination.baseAddress!
        for position in 0..<steps.count {
            try encode(row[position], position: position, into: base + offsets[position])
        }
    }

    /// Encodes `rows` into one matrix, packing only the rows that validate.
    public func encode(rows: [[RawFeatureValue]]) -> EncodedBatch {
        var batch = EncodedBatch(width: width, capacity: rows.count)
        var matrix = [Float](repeating: 0, count: rows.count * width)
        var packed = 0
        matrix.withUnsafeMutableBufferPointer { buffer in
            for row in rows {
                let slot = UnsafeMutableBufferPointer(rebasing: buffer[(packed * width)..<((packed + 1) * width)])
                do throws(InputValidationError) {
                    try encode(row: row, into: slot)
                    batch.rows.append(.packed(index: packed))
                    packed += 1
                } catch {
                    batch.rows.append(.rejected(error))
                }
            }
        }
        matrix.removeLast((rows.count - packed) * width)
        batch.matrix = matrix
        batch.packedCount = packed
        return batch
    }

    /// Validates and encodes value `position` of a row into its columns at `destination`.
    ///
    /// Reads only the trivial `EncodingStep` (no reference counting per value); the full
    /// `FeatureSpec` is touched only to name the feature in an error.
    private func encode(_ value: RawFeatureValue, position: Int, into destination: UnsafeMutablePointer<Float>) throws(InputValidationError) {
        let step = steps[position]
        switch step.operation {
        case .numeric:
            let number: Double
            switch value {
            case .missing, .null:
                guard step.missingAllowed else { throw error(position, .missing) }
                if nativeMissing && !step.hasDefault {
                    destination[0] = .nan
                    return
                }
                number = step.numericDefault
            case .number(let x):
                if x.isNaN {
                    // A bare `NaN` in the payload: missing where missing is allowed.
                    guard step.missingAllowed else { throw error(position, .nonFinite(x)) }
                    try encode(.missing, position: position, into: destination)
                    return
                }
                guard x.isFinite else { throw error(position, .nonFinite(x)) }
                if x < step.minimum || x > step.maximum {
                    throw error(position, .outOfRange(value: x, min: features[position].minimum, max: features[position].maximum))
                }
                number = x
            case .bool(let flag):
                let x: Double = flag ? 1 : 0
                if x < step.minimum || x > step.maximum {
                    throw error(position, .outOfRange(value: x, min: features[position].minimum, max: features[position].maximum))
                }
                number = x
            case .string:
                throw error(position, .wrongType(expected: .numeric, got: value.kind))
            }
            destination[0] = step.scales ? Float((number - step.mean) / step.std) : Float(number)
        case .oneHot, .ordinal:
            let category: Int
            switch value {
            case .missing, .null:
                guard step.missingAllowed else { throw error(position, .missing) }
                if nativeMissing && !step.hasDefault {
                    for column in 0..<step.width { destination[column] = .nan }
                    return
                }
                category = step.categoryDefault
            case .string(let text):
                guard let index = vocabularies[position][text] else { throw error(position, .unknownCategory(text)) }
                category = index
            case .number(let x) where x.isNaN:
                // pandas writes a missing category as NaN too.
                guard step.missingAllowed else { throw error(position, .nonFinite(x)) }
                try encode(.missing, position: position, into: destination)
                return
            case .number, .bool:
                throw error(position, .wrongType(expected: .categorical, got: value.kind))
            }
            if step.operation == .oneHot {
                for column in 0..<step.width { destination[column] = 0 }
                destination[category] = 1
            } else {
                destination[0] = Float(category)
            }
        }
    }

    private func error(_ position: Int, _ reason: InputValidationError.Reason) -> InputValidationError {
        InputValidationError(feature: features[position].name, reason: reason)
    }
}
