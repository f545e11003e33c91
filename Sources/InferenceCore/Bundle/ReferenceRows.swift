/// A bundle's reference rows: raw inputs and the outputs the training library computed for them.
///
/// Inputs are stored one raw column per feature: a numeric value as is, a categorical value as its
/// vocabulary index, NaN for a missing value. Replaying them through the full path (validation,
/// preprocessing, kernel) checks that the exported weights, the schema and this engine agree.
public struct ReferenceRows: Sendable {
    /// Rows.
    public let rowCount: Int
    /// Raw columns per row (the schema's feature count).
    public let featureCount: Int
    /// `rowCount * featureCount` raw values, row-major.
    public let rawInputs: [Float]
    /// `rowCount * outputWidth` expected outputs, row-major.
    public let expectedOutputs: [Float]
    /// How close the engine's outputs must be.
    public let tolerance: ModelManifest.Tolerance

    /// The raw request values of row `row`, as the request decoder would produce them.
    public func rawRow(_ row: Int, schema: InputSchema) -> [RawFeatureValue] {
        (0..<featureCount).map { column in
            let value = rawInputs[row * featureCount + column]
            if value.isNaN { return .missing }
            let feature = schema.features[column]
            switch feature.valueType {
            case .numeric:
                return .number(Double(value))
            case .categorical:
                let index = Int(value)
                // An index outside the vocabulary cannot come from a valid exporter; surface it as an
                // unknown category so the self-test reports the row.
                return feature.vocabulary.indices.contains(index) ? .string(feature.vocabulary[index]) : .string("#\(index)")
            }
        }
    }
}
