import Foundation

/// A record of the output topic that cannot be turned back into a pending prediction.
public struct PredictionEventDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Where a prediction read back from the output topic came from.
public struct PredictionEventSource: Sendable, Hashable {
    /// The request topic.
    public var topic: String
    /// The request partition: the partition of the join store it belongs to.
    public var partition: Int32
    /// The request offset.
    public var offset: Int64
}

extension PendingPrediction {
    /// Reads a prediction back from a record of the output topic (format in docs/events.md), for
    /// ``PendingPredictions/rebuild(partition:predictions:settledIDs:nowMs:)``.
    ///
    /// - Parameters:
    ///   - payload: the record value.
    ///   - labels: the class labels of a model version (its output schema's `labels`), to order
    ///     multiclass probabilities and tell the positive label of a binary model; `nil` for a version
    ///     the worker does not know (such records are refused).
    /// - Returns: the prediction and where its request was read.
    /// - Throws: ``PredictionEventDecodingError`` naming the problem.
    public static func decodePredictionEvent(
        _ payload: [UInt8], labels: (String) -> [String]?
    ) throws(PredictionEventDecodingError) -> (prediction: PendingPrediction, source: PredictionEventSource) {
        func fail(_ message: String) -> PredictionEventDecodingError { PredictionEventDecodingError(message: message) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        guard let id = object["id"] as? String else { throw fail("no string \"id\"") }
        guard let model = object["model"] as? [String: Any], let version = model["version"] as? String else {
            throw fail("no \"model.version\"")
        }
        guard let source = object["source"] as? [String: Any], let topic = source["topic"] as? String,
              let partition = (source["partition"] as? NSNumber)?.int32Value, let offset = (source["offset"] as? NSNumber)?.int64Value else {
            throw fail("no \"source\" topic, partition and offset")
        }
        guard let time = (object["processing_time"] as? NSNumber)?.int64Value else { throw fail("no \"processing_time\"") }
        guard let outputs = object["outputs"] as? [String: Any] else { throw fail("no \"outputs\"") }
        let output: Output
        if let probabilities = outputs["probabilities"] as? [String: Any] {
            guard let names = labels(version) else { throw fail("unknown model version \(version): cannot order its probabilities") }
            var values: [Float] = []
            for name in names {
                guard let p = (probabilities[name] as? NSNumber)?.floatValue else { throw fail("no probability for label \(name)") }
                values.append(p)
            }
            guard let label = outputs["label"] as? String, let index = names.firstIndex(of: label) else { throw fail("label not among the version's labels") }
            output = .multiclass(probabilities: values, predictedIndex: index)
        } else if let score = (outputs["score"] as? NSNumber)?.floatValue {
            if let label = outputs["label"] as? String {
                guard let names = labels(version), names.count == 2 else { throw fail("unknown binary model version \(version)") }
                guard names.contains(label) else { throw fail("label \(label) is not one of \(names)") }
                output = .binary(score: score, predictedPositive: label == names[1])
            } else {
                output = .regression(score: score)
            }
        } else {
            throw fail("\"outputs\" has neither a score nor probabilities")
        }
        return (PendingPrediction(id: id, modelVersion: version, output: output, predictionTimeMs: time, sourceOffset: offset),
                PredictionEventSource(topic: topic, partition: partition, offset: offset))
    }
}
