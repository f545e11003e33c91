/// Decodes inference requests from JSON bytes into one ``RawFeatureValue`` per model feature,
/// without Foundation and without allocating per record on the numeric path.
///
/// Accepted shapes (see docs/events.md):
/// ```json
/// {"id": "abc", "features": [1.5, 2, "DE", null]}
/// {"id": "abc", "features": {"amount": 1.5, "country": "DE"}}
/// ```
/// - `features` as an array gives the values in the model's declared order and must have exactly
///   one value per feature; as an object it is keyed by feature name, absent features decode as
///   ``RawFeatureValue/missing`` and unknown or repeated names are errors.
/// - `id` is optional: a string, a number (kept as its exact text) or `null`.
/// - Other top-level keys are skipped for forward compatibility, but must be valid JSON.
///
/// The whole payload is validated against RFC 8259 (strings with all escapes and surrogate pairs,
/// UTF-8, the number grammar, no trailing data) with one extension: the bare literals `NaN`,
/// `Infinity` and `-Infinity` that Python's `json.dumps` writes by default are read as numbers
/// (the input schema treats NaN as a missing value and rejects infinity as `non_finite`); nesting is bounded by
/// ``Configuration/maxDepth`` and size by ``Configuration/maxPayloadBytes``. A syntax error is
/// reported as soon as it is found; a shape error (unknown feature, wrong arity...) is remembered and
/// reported only once the rest of the payload has proved to be valid JSON, so a truncated document is
/// always `malformed_json`.
///
/// A decoder is immutable and `Sendable`: build it once per model (it precomputes the name lookup),
/// share it between threads.
public struct RequestDecoder: Sendable {
    /// Limits applied to every payload.
    public struct Configuration: Sendable, Hashable {
        /// Payloads larger than this are rejected with ``RequestDecodingError/Code/oversizedPayload``
        /// before being parsed. Default 1 MiB (Kafka's default `message.max.bytes` is about 1 MB).
        public var maxPayloadBytes: Int
        /// Deepest nesting of objects and arrays accepted (the request object itself is level 1).
        /// Default 64.
        public var maxDepth: Int
        /// Whether ``DecodedRequest/id`` is filled in. An id longer than 15 UTF-8 bytes (a UUID, say)
        /// costs one heap allocation per record as a `String`; with `false` the decoder only reports
        /// ``DecodedRequest/idSpan`` and the worker hands those bytes to
        /// ``PredictionEncoder/encode(_:context:rawRequestID:into:)``. Default `true`.
        public var materializesID: Bool

        /// Creates a configuration; see each property for its default.
        public init(maxPayloadBytes: Int = 1 << 20, maxDepth: Int = 64, materializesID: Bool = true) {
            self.maxPayloadBytes = maxPayloadBytes
            self.maxDepth = maxDepth
            self.materializesID = materializesID
        }

        /// Rejects limits that could not decode any request or would risk the stack.
        public func validate() throws(ConfigurationValidationError) {
            guard maxPayloadBytes >= 16 else { throw .init(message: "maxPayloadBytes is \(maxPayloadBytes); no request fits in fewer than 16 bytes") }
            guard (2...1024).contains(maxDepth) else { throw .init(message: "maxDepth is \(maxDepth); it must lie in 2...1024 (the request object and its features are two levels)") }
        }
    }

    /// The model's features, in declared order.
    public var featureNames: [String] { features.names }
    /// The limits.
    public let configuration: Configuration
    /// Names and lookup table behind one reference, so that a parse retains one object, not five arrays.
    private let features: Features

    fileprivate final class Features: Sendable {
        let names: [String]
        let table: FeatureNameTable
        init(names: [String], table: FeatureNameTable) {
            self.names = names
            self.table = table
        }
    }

    /// Creates a decoder for a model's ordered feature names; throws on duplicate names or a bad configuration.
    public init(featureNames: [String], configuration: Configuration = .init()) throws(ConfigurationValidationError) {
        try configuration.validate()
        switch FeatureNameTable.make(featureNames) {
        case .success(let table): self.features = Features(names: featureNames, table: table)
        case .failure(let duplicate):
            throw ConfigurationValidationError(message: "feature name \"\(featureNames[duplicate.index])\" appears twice in the model's feature list")
        }
        self.configuration = configuration
    }

    /// The number of values written per request.
    public var featureCount: Int { featureNames.count }

    /// Decodes `payload`, writing exactly ``featureCount`` values into `values[0..<featureCount]`.
    ///
    /// `values` must hold at least ``featureCount`` initialised elements (reuse one buffer for every
    /// record). After a thrown error its contents are unspecified.
    public func decode(_ payload: UnsafeRawBufferPointer, into values: UnsafeMutableBufferPointer<RawFeatureValue>) throws(RequestDecodingError) -> DecodedRequest {
        precondition(values.count >= featureNames.count, "the values buffer holds \(values.count) elements; the decoder writes \(featureNames.count)")
        guard payload.count <= configuration.maxPayloadBytes else {
            throw RequestDecodingError(code: .oversizedPayload, byteOffset: configuration.maxPayloadBytes, message: "payload of \(payload.count) bytes exceeds the limit of \(configuration.maxPayloadBytes) bytes")
        }
        guard let base = payload.baseAddress, payload.count > 0 else {
            throw RequestDecodingError(code: .malformedJSON, byteOffset: 0, message: "empty payload")
        }
        var parser = Parser(
            cursor: JSONCursor(base: base.assumingMemoryBound(to: UInt8.self), count: payload.count, maxDepth: configuration.maxDepth),
            features: features,
            values: values,
            materializesID: configuration.materializesID
        )
        return try parser.parseRequest()
    }

    /// Decodes `payload` into `values`, resizing it to ``featureCount`` elements if needed (a reused
    /// array of the right size is written in place, without allocating).
    public func decode(_ payload: UnsafeRawBufferPointer, into values: inout [RawFeatureValue]) throws(RequestDecodingError) -> DecodedRequest {
        if values.count != featureNames.count {
            values = Array(repeating: .missing, count: featureNames.count)
        }
        return try values.withUnsafeMutableBufferPointer { (buffer) throws(RequestDecodingError) -> DecodedRequest in
            try decode(payload, into: buffer)
        }
    }

    /// Decodes a byte array; see ``decode(_:into:)-(UnsafeRawBufferPointer,_)``.
    public func decode(_ payload: [UInt8], into values: inout [RawFeatureValue]) throws(RequestDecodingError) -> DecodedRequest {
        // `Array.withUnsafeBytes` rethrows untyped errors; a Result keeps the error type.
        try payload.withUnsafeBytes { bytes in
            Result { () throws(RequestDecodingError) -> DecodedRequest in try decode(bytes, into: &values) }
        }.get()
    }

}

extension RequestDecoder {
    /// One pass over one payload.
    fileprivate struct Parser {
        var cursor: JSONCursor
        let features: Features
        let values: UnsafeMutableBufferPointer<RawFeatureValue>
        let materializesID: Bool
        /// The first shape error, reported once the payload has proved to be valid JSON.
        var pending: RequestDecodingError?

        init(cursor: JSONCursor, features: Features, values: UnsafeMutableBufferPointer<RawFeatureValue>, materializesID: Bool) {
            self.cursor = cursor
            self.materializesID = materializesID
            self.features = features
            self.values = values
        }

        mutating func remember(_ error: RequestDecodingError) {
            if pending == nil { pending = error }
        }

        private enum TopLevelKey { case id, features, other }

        mutating func parseRequest() throws(RequestDecodingError) -> DecodedRequest {
            cursor.skipWhitespace()
            guard cursor.peek == UInt8(ascii: "{") else {
                let start = cursor.position
                try cursor.skipValue(depth: 0)
                try finishDocument()
                throw RequestDecodingError(code: .notAnObject, byteOffset: start, message: "a request must be a JSON object with a \"features\" key")
            }
            let objectStart = cursor.position
            cursor.position += 1
            var id: String?
            var idIsNumber = false
            var idSpan: Range<Int>?
            var sawID = false
            var layout: DecodedRequest.FeatureLayout?
            cursor.skipWhitespace()
            if cursor.peek == UInt8(ascii: "}") {
                cursor.position += 1
            } else {
                while true {
                    guard cursor.peek == UInt8(ascii: "\"") else { throw cursor.unexpected(expecting: "a string key") }
                    let keyStart = cursor.position
                    let span = try cursor.scanString()
                    let key = cursor.withKeyBytes(span) { bytes -> TopLevelKey in
                        if Self.equals(bytes, "features") { return .features }
                        if Self.equals(bytes, "id") { return .id }
                        return .other
                    }
                    cursor.skipWhitespace()
                    try cursor.expect(UInt8(ascii: ":"), "':' after an object key")
                    cursor.skipWhitespace()
                    switch key {
                    case .id:
                        if sawID {
                            remember(RequestDecodingError(code: .duplicateKey, byteOffset: keyStart, message: "\"id\" appears twice"))
                            try cursor.skipValue(depth: 1)
                        } else {
                            sawID = true
                            (id, idIsNumber, idSpan) = try parseID()
                        }
                    case .features:
                        if layout != nil {
                            remember(RequestDecodingError(code: .duplicateKey, byteOffset: keyStart, message: "\"features\" appears twice"))
                            try cursor.skipValue(depth: 1)
                        } else {
                            layout = try parseFeatures()
                        }
                    case .other:
                        try cursor.skipValue(depth: 1)
                    }
                    cursor.skipWhitespace()
                    if cursor.peek == UInt8(ascii: ",") {
                        cursor.position += 1
                        cursor.skipWhitespace()
                        continue
                    }
                    try cursor.expect(UInt8(ascii: "}"), "',' or '}' in the request object")
                    break
                }
            }
            try finishDocument()
            if let pending { throw pending }
            guard let layout else {
                throw RequestDecodingError(code: .missingFeatures, byteOffset: objectStart, message: "the request has no \"features\" key; send \"features\": [values in model order] or {\"name\": value}")
            }
            return DecodedRequest(id: id, idIsNumber: idIsNumber, idSpan: idSpan, layout: layout)
        }

        /// Only whitespace may follow the document.
        mutating func finishDocument() throws(RequestDecodingError) {
            cursor.skipWhitespace()
            guard cursor.atEnd else { throw cursor.malformed("trailing data after the JSON document") }
        }

        /// The id's text (when materialised), whether it was a number, and its raw span.
        mutating func parseID() throws(RequestDecodingError) -> (String?, Bool, Range<Int>?) {
            switch cursor.peek {
            case UInt8(ascii: "\""):
                let span = try cursor.scanString()
                let text = materializesID ? cursor.decodeString(span) : nil
                return (text, false, span.start..<span.end)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = cursor.position
                _ = try cursor.scanNumber()
                let text = materializesID ? cursor.text(start, cursor.position) : nil
                return (text, true, start..<cursor.position)
            case UInt8(ascii: "n"):
                let start = cursor.position
                if case .null = try cursor.scanLiteral() { return (nil, false, nil) }
                remember(RequestDecodingError(code: .invalidID, byteOffset: start, message: "\"id\" must be a string, a number or null"))
                return (nil, false, nil)
            default:
                remember(RequestDecodingError(code: .invalidID, byteOffset: cursor.position, message: "\"id\" must be a string, a number or null"))
                try cursor.skipValue(depth: 1)
                return (nil, false, nil)
            }
        }

        mutating func parseFeatures() throws(RequestDecodingError) -> DecodedRequest.FeatureLayout {
            let count = features.names.count
            switch cursor.peek {
            case UInt8(ascii: "["):
                let arrayStart = cursor.position
                guard cursor.maxDepth > 1 else { throw cursor.tooDeep() }
                cursor.position += 1
                cursor.skipWhitespace()
                var index = 0
                if cursor.peek == UInt8(ascii: "]") {
                    cursor.position += 1
                } else {
                    while true {
                        if index < count {
                            try parseFeatureValue(index)
                        } else {
                            try cursor.skipValue(depth: 2)
                        }
                        index += 1
                        cursor.skipWhitespace()
                        if cursor.peek == UInt8(ascii: ",") {
                            cursor.position += 1
                            cursor.skipWhitespace()
                            continue
                        }
                        try cursor.expect(UInt8(ascii: "]"), "',' or ']' in the features array")
                        break
                    }
                }
                if index != count {
                    remember(RequestDecodingError(
                        code: .wrongArity, byteOffset: arrayStart,
                        message: "the features array has \(index) values; the model expects \(count), in this order: \(Self.list(features.names))",
                        expectedCount: count, actualCount: index
                    ))
                }
                return .array
            case UInt8(ascii: "{"):
                guard cursor.maxDepth > 1 else { throw cursor.tooDeep() }
                cursor.position += 1
                for i in 0..<count { values[i] = .missing }
                cursor.skipWhitespace()
                if cursor.peek == UInt8(ascii: "}") {
                    cursor.position += 1
                    return .object
                }
                while true {
                    guard cursor.peek == UInt8(ascii: "\"") else { throw cursor.unexpected(expecting: "a feature name") }
                    let keyStart = cursor.position
                    let span = try cursor.scanString()
                    let index = cursor.withKeyBytes(span) { features.table.index(of: $0) }
                    cursor.skipWhitespace()
                    try cursor.expect(UInt8(ascii: ":"), "':' after a feature name")
                    cursor.skipWhitespace()
                    if let index {
                        if case .missing = values[index] {
                            try parseFeatureValue(index)
                        } else {
                            let name = features.names[index]
                            remember(RequestDecodingError(code: .duplicateFeature, byteOffset: keyStart, message: "feature \"\(name)\" appears twice", feature: name))
                            try cursor.skipValue(depth: 2)
                        }
                    } else {
                        let name = Self.truncated(cursor.decodeString(span))
                        remember(RequestDecodingError(
                            code: .unknownFeature, byteOffset: keyStart,
                            message: "unknown feature \"\(name)\"; the model's features are \(Self.list(features.names))", feature: name
                        ))
                        try cursor.skipValue(depth: 2)
                    }
                    cursor.skipWhitespace()
                    if cursor.peek == UInt8(ascii: ",") {
                        cursor.position += 1
                        cursor.skipWhitespace()
                        continue
                    }
                    try cursor.expect(UInt8(ascii: "}"), "',' or '}' in the features object")
                    return .object
                }
            default:
                let start = cursor.position
                try cursor.skipValue(depth: 1)
                remember(RequestDecodingError(code: .featuresWrongType, byteOffset: start, message: "\"features\" must be an array (values in model order) or an object (keyed by feature name)"))
                return .array
            }
        }

        /// Parses one scalar into `values[index]`; an object or array is a shape error.
        @inline(__always)
        mutating func parseFeatureValue(_ index: Int) throws(RequestDecodingError) {
            switch cursor.peek {
            case UInt8(ascii: "-") where cursor.atNegativeInfinity:
                values[index] = .number(try cursor.scanNonFiniteNumber())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                values[index] = .number(try cursor.scanNumber())
            case UInt8(ascii: "\""):
                let span = try cursor.scanString()
                values[index] = .string(cursor.decodeString(span))
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                values[index] = try cursor.scanLiteral()
            case UInt8(ascii: "N"), UInt8(ascii: "I"):
                values[index] = .number(try cursor.scanNonFiniteNumber())
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let name = features.names[index]
                remember(RequestDecodingError(
                    code: .featureWrongType, byteOffset: cursor.position,
                    message: "feature \"\(name)\" is an \(cursor.peek == UInt8(ascii: "{") ? "object" : "array"); features must be numbers, strings, booleans or null",
                    feature: name
                ))
                values[index] = .null
                try cursor.skipValue(depth: 2)
            default:
                throw cursor.unexpected(expecting: "a feature value")
            }
        }

        @inline(__always)
        static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
            guard bytes.count == literal.utf8CodeUnitCount else { return false }
            let expected = literal.utf8Start
            for i in 0..<bytes.count where bytes[i] != expected[i] { return false }
            return true
        }

        static func list(_ names: [String]) -> String {
            let shown = names.prefix(20).map { "\"\($0)\"" }.joined(separator: ", ")
            return names.count > 20 ? "[\(shown), ... (\(names.count) in all)]" : "[\(shown)]"
        }

        static func truncated(_ name: String) -> String {
            name.count > 100 ? String(name.prefix(100)) + "..." : name
        }
    }
}
