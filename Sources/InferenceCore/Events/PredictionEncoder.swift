/// Writes prediction messages as JSON into a reusable byte buffer, without Foundation.
///
/// Output (one line, keys in this order; see docs/events.md):
/// ```json
/// {"id":"abc","model":{"name":"fraud","version":"3"},"outputs":{"score":0.93,"label":"fraud"},
///  "source":{"topic":"requests","partition":0,"offset":42},"event_time":1700000000000,"processing_time":1700000000012}
/// ```
/// - `id`: the request's id (a numeric id as its exact text, always written as a JSON string), or
///   `<topic>-<partition>-<offset>` when the request had none;
/// - `event_time` / `processing_time`: integer milliseconds since the Unix epoch (UTC) - Kafka's own
///   timestamp unit, cheap to write and unambiguous; `event_time` is the request record's Kafka
///   timestamp (`null` when it has none);
/// - floats are written as their shortest round-tripping decimal; NaN and infinity as `null`.
///
/// The model name and version are escaped once at initialisation.
public struct PredictionEncoder: Sendable {
    /// The model name.
    public let modelName: String
    /// The model version.
    public let modelVersion: String
    private let modelPrefix: [UInt8]

    /// Creates an encoder for one model version.
    public init(modelName: String, modelVersion: String) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        var prefix: [UInt8] = []
        JSONWriter.appendRaw(",\"model\":{\"name\":", to: &prefix)
        JSONWriter.appendString(modelName, to: &prefix)
        JSONWriter.appendRaw(",\"version\":", to: &prefix)
        JSONWriter.appendString(modelVersion, to: &prefix)
        JSONWriter.appendRaw("},\"outputs\":", to: &prefix)
        self.modelPrefix = prefix
    }

    /// Replaces `buffer`'s contents with the prediction's JSON. Keep the buffer between calls: once
    /// it has grown to a message's size, encoding allocates nothing.
    public func encode(_ outputs: PredictionOutputView, context: PredictionContext, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        append(outputs, context: context, to: &buffer)
    }

    /// Appends the prediction's JSON to `buffer` (for callers that pack several messages in one buffer).
    public func append(_ outputs: PredictionOutputView, context: PredictionContext, to buffer: inout [UInt8]) {
        JSONWriter.appendRaw("{\"id\":", to: &buffer)
        if let id = context.requestID {
            JSONWriter.appendString(id, to: &buffer)
        } else {
            // <topic>-<partition>-<offset>: unique per record in a cluster, stable across redeliveries.
            appendDerivedID(context, to: &buffer)
        }
        buffer.append(contentsOf: modelPrefix)
        appendOutputs(outputs, to: &buffer)
        JSONWriter.appendRaw(",\"source\":{\"topic\":", to: &buffer)
        JSONWriter.appendString(context.source.topic, to: &buffer)
        JSONWriter.appendRaw(",\"partition\":", to: &buffer)
        JSONWriter.appendInteger(Int64(context.source.partition), to: &buffer)
        JSONWriter.appendRaw(",\"offset\":", to: &buffer)
        JSONWriter.appendInteger(context.offset.rawValue, to: &buffer)
        JSONWriter.appendRaw("},\"event_time\":", to: &buffer)
        if let eventTime = context.eventTimeMilliseconds {
            JSONWriter.appendInteger(eventTime, to: &buffer)
        } else {
            JSONWriter.appendRaw("null", to: &buffer)
        }
        JSONWriter.appendRaw(",\"processing_time\":", to: &buffer)
        JSONWriter.appendInteger(context.processingTimeMilliseconds, to: &buffer)
        buffer.append(UInt8(ascii: "}"))
    }

    /// The id a request without one gets: `<topic>-<partition>-<offset>`.
    public static func derivedID(topic: String, partition: Int32, offset: RecordOffset) -> String {
        "\(topic)-\(partition)-\(offset.rawValue)"
    }

    private func appendDerivedID(_ context: PredictionContext, to buffer: inout [UInt8]) {
        // Escaping the topic then splicing the numbers in before the closing quote avoids building a String.
        JSONWriter.appendString(context.source.topic, to: &buffer)
        buffer.removeLast()
        buffer.append(UInt8(ascii: "-"))
        JSONWriter.appendInteger(Int64(context.source.partition), to: &buffer)
        buffer.append(UInt8(ascii: "-"))
        JSONWriter.appendInteger(context.offset.rawValue, to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    private func appendOutputs(_ outputs: PredictionOutputView, to buffer: inout [UInt8]) {
        switch outputs {
        case .regression(let score):
            JSONWriter.appendRaw("{\"score\":", to: &buffer)
            JSONWriter.appendFloat(score, to: &buffer)
            buffer.append(UInt8(ascii: "}"))
        case .binary(let score, let labelIndex, let labels):
            JSONWriter.appendRaw("{\"score\":", to: &buffer)
            JSONWriter.appendFloat(score, to: &buffer)
            JSONWriter.appendRaw(",\"label\":", to: &buffer)
            appendLabel(labelIndex, labels, to: &buffer)
            buffer.append(UInt8(ascii: "}"))
        case .multiclass(let probabilities, let labelIndex, let labels):
            JSONWriter.appendRaw("{\"label\":", to: &buffer)
            appendLabel(labelIndex, labels, to: &buffer)
            JSONWriter.appendRaw(",\"probabilities\":{", to: &buffer)
            let count = min(probabilities.count, labels.count)
            for i in 0..<count {
                if i > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer.append(contentsOf: labels.encoded[labels.ranges[i]])
                buffer.append(UInt8(ascii: ":"))
                JSONWriter.appendFloat(probabilities[i], to: &buffer)
            }
            JSONWriter.appendRaw("}}", to: &buffer)
        }
    }

    /// Writes the label, or `null` for an index outside the label set (a caller bug made visible
    /// in the output rather than a crash).
    private func appendLabel(_ index: Int, _ labels: PredictionLabels, to buffer: inout [UInt8]) {
        if labels.ranges.indices.contains(index) {
            buffer.append(contentsOf: labels.encoded[labels.ranges[index]])
        } else {
            JSONWriter.appendRaw("null", to: &buffer)
        }
    }

    /// The index of the largest probability (the first on ties); `0` for an empty buffer.
    public static func argmax(_ probabilities: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in probabilities.indices where probabilities[i] > probabilities[best] { best = i }
        return best
    }
}
