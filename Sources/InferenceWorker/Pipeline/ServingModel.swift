import InferenceCore

/// One model version prepared for the hot path: its request decoder (feature-name lookup built
/// once), its prediction encoder (model name and version escaped once), and its labels.
final class ServingModel: Sendable {
    let model: LoadedModel
    let decoder: RequestDecoder
    let encoder: PredictionEncoder
    let labels: PredictionLabels

    init(_ model: LoadedModel, maxPayloadBytes: Int) throws {
        self.model = model
        decoder = try RequestDecoder(
            featureNames: model.schema.features.map(\.name),
            configuration: .init(maxPayloadBytes: maxPayloadBytes)
        )
        encoder = PredictionEncoder(modelName: model.name, modelVersion: model.version)
        labels = PredictionLabels(model.output.labels)
    }

    var name: String { model.name }
    var version: String { model.version }

    /// Writes one prediction's JSON for an interpreted output.
    func encode(_ output: PredictionOutput, context: PredictionContext, into buffer: inout [UInt8]) {
        switch output {
        case .regression(let score):
            encoder.encode(.regression(score: score), context: context, into: &buffer)
        case .binary(let score, _, let isPositive):
            encoder.encode(.binary(score: score, labelIndex: isPositive ? 1 : 0, labels: labels), context: context, into: &buffer)
        case .multiclass(let probabilities, let classIndex, _):
            probabilities.withUnsafeBufferPointer { p in
                encoder.encode(.multiclass(probabilities: p, labelIndex: classIndex, labels: labels), context: context, into: &buffer)
            }
        }
    }
}
