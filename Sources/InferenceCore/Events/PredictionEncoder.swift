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
        var prefix: [UInt8] = Array(#","model":{"name":"#.utf8)
        prefix.appendJSONString(modelName)
        prefix.append(contentsOf: #","version":"#.utf8)
        prefix.appendJSONString(modelVersion)
        prefix.append(contentsOf: #"},"outputs":"#.utf8)
        self.modelPrefix = prefix
    }

    /// Replaces `buffer`'s contents with the prediction's JSON. Keep the buffer between calls: once
    /// it has grown to a message's size, encoding allocates nothing.
    public func encode(_ outputs: PredictionOutputView, context: PredictionContext, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        append(outputs, context: context, to: &buffer)
    }

    /// Replaces `buffer`'s contents with the prediction's JSON, taking the id from the request's
    /// raw bytes instead of `context.requestID`: no `String` per record.
    ///
    /// - Parameter rawRequestID: the bytes ``DecodedRequest/idSpan`` designates in the payload of a
    ///   request that decoded successfully (valid JSON string contents or a JSON number's text, copied
    ///   between quotes as they are); `nil` derives the id as `<topic>-<partition>-<offset>`.
    ///   Other bytes may produce invalid JSON.
    public func encode(_ outputs: PredictionOutputView, context: PredictionContext, rawRequestID: UnsafeRawBufferPointer?, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        append(outputs, context: context, rawRequestID: rawRequestID, to: &buffer)
    }

    /// Appends the prediction's JSON to `buffer` (for callers that pack several messages in one buffer).
    public func append(_ outputs: PredictionOutputView, context: PredictionContext, to buffer: inout [UInt8]) {
        append(outputs, context: context, rawRequestID: nil, useContextID: true, to: &buffer)
    }

    /// Appends the prediction's JSON with the id taken from raw request bytes; see
    /// ``encode(_:context:rawRequestID:into:)``.
    public func append(_ outputs: PredictionOutputView, context: PredictionContext, rawRequestID: UnsafeRawBufferPointer?, to buffer: inout [UInt8]) {
        append(outputs, context: context, rawRequestID: rawRequestID, useContextID: false, to: &buffer)
    }

    private func append(_ outputs: PredictionOutputView, context: PredictionContext, rawRequestID: UnsafeRawBufferPointer?, useContextID: Bool, to buffer: inout [UInt8]) {
        let topicBound = JSONWriter.escapedBound(context.source.topic)
        var bound = 160 + modelPrefix.count + 2 * topicBound + 4 * JSONWriter.integerBound + outputsBound(outputs)
        let contextID = useContextID ? context.requestID : nil
        if let rawRequestID {
            bound += rawRequestID.count + 2
        } else {
            bound += contextID.map(JSONWriter.escapedBound) ?? JSONWriter.integerBound * 2
        }
        JSONWriter.append(to: &buffer, upperBound: bound) { w in
            w.raw(#"{"id":"#)
            if let rawRequestID {
                w.byte(UInt8(ascii: "\""))
                w.raw(UnsafeBufferPointer(start: rawRequestID.baseAddress?.assumingMemoryBound(to: UInt8.self), count: rawRequestID.count))
                w.byte(UInt8(ascii: "\""))
            } else if let id = contextID {
                w.string(id)
            } else {
                // <topic>-<partition>-<offset>: unique per record in a cluster, stable across redeliveries.
                // Written piecewise, the same text as `derivedID(topic:partition:offset:)` without building a String.
                w.byte(UInt8(ascii: "\""))
                w.escapedContents(context.source.topic)
                w.byte(UInt8(ascii: "-"))
                w.integer(Int64(context.source.partition.rawValue))
                w.byte(UInt8(ascii: "-"))
                w.integer(context.offset.rawValue)
                w.byte(UInt8(ascii: "\""))
            }
            modelPrefix.withUnsafeBufferPointer { w.raw($0) }
            writeOutputs(outputs, to: &w)
            w.raw(#","source":{"topic":"#)
            w.string(context.source.topic)
            w.raw(#","partition":"#)
            w.integer(Int64(context.source.partition.rawValue))
            w.raw(#","offset":"#)
            w.integer(context.offset.rawValue)
            w.raw(#"},"event_time":"#)
            if let eventTime = context.eventTimeMilliseconds {
                w.integer(eventTime)
            } else {
                w.raw("null")
            }
            w.raw(#","processing_time":"#)
            w.integer(context.processingTimeMilliseconds)
            w.byte(UInt8(ascii: "}"))
        }
    }

    /// The id a request without one gets: `<topic>-<partition>-<offset>`.
    public static func derivedID(topic: String, partition: Int32, offset: KafkaOffset) -> String {
        "\(topic)-\(partition)-\(offset.rawValue)"
    }

    private func outputsBound(_ outputs: PredictionOutputView) -> Int {
        switch outputs {
        case .regression: 16 + JSONWriter.floatBound
        case .binary(_, _, let labels): 32 + JSONWriter.floatBound + labels.longestEncoded
        case .multiclass(let probabilities, _, let labels):
            48 + labels.longestEncoded + labels.encoded.count + min(probabilities.count, labels.count) * (JSONWriter.floatBound + 2)
        }
    }

    private func writeOutputs(_ outputs: PredictionOutputView, to w: inout JSONWriter) {
        switch outputs {
        case .regression(let score):
            w.raw(#"{"score":"#)
            w.float(score)
            w.byte(UInt8(ascii: "}"))
        case .binary(let score, let labelIndex, let labels):
            w.raw(#"{"score":"#)
            w.float(score)
            w.raw(#","label":"#)
            writeLabel(labelIndex, labels, to: &w)
            w.byte(UInt8(ascii: "}"))
        case .multiclass(let probabilities, let labelIndex, let labels):
            w.raw(#"{"label":"#)
            writeLabel(labelIndex, labels, to: &w)
            w.raw(#","probabilities":{"#)
            let count = min(probabilities.count, labels.count)
            for i in 0..<count {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                writeLabel(i, labels, to: &w)
                w.byte(UInt8(ascii: ":"))
                w.float(probabilities[i])
            }
            w.raw("}}")
        }
    }

    /// Writes the label, or `null` for an index outside the label set (a caller bug made visible
    /// in the output rather than a crash).
    private func writeLabel(_ index: Int, _ labels: PredictionLabels, to w: inout JSONWriter) {
        guard labels.ranges.indices.contains(index) else {
            w.raw("null")
            return
        }
        let range = labels.ranges[index]
        labels.encoded.withUnsafeBufferPointer { w.raw(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The index of the largest probability (the first on ties); `0` for an empty buffer.
    public static func argmax(_ probabilities: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in probabilities.indices where probabilities[i] > probabilities[best] { best = i }
        return best
    }
}
