/// Decodes label events, `{"id": "txn-0001", "label": "fraud"}`, strictly (RFC 8259, with the bare
/// `NaN` / `Infinity` of Python's `json.dumps` read like the request decoder reads them).
///
/// - `id`: a string, or a number kept as its exact text (`12345678901234567890` keeps every digit),
///   matching how predictions echo numeric request ids.
/// - `label`: a string (class name), a number (class index, or a regression target) or a boolean.
/// - Any other key is ignored (forward compatibility) but must be valid JSON.
///
/// It shares the request decoder's validating scanner, so it never traps on any input: every problem
/// is a ``LabelDecodingError``.
public struct LabelDecoder: Sendable {
    /// The largest payload accepted, in bytes. Default 64 KiB (a label event is tiny).
    public var maxPayloadBytes: Int
    /// Deepest nesting accepted (the event object is level 1). Default 16.
    public var maxDepth: Int

    /// Creates a decoder.
    ///
    /// - Parameters:
    ///   - maxPayloadBytes: the largest payload accepted; default 65,536.
    ///   - maxDepth: the deepest nesting accepted; default 16.
    public init(maxPayloadBytes: Int = 65_536, maxDepth: Int = 16) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxDepth = Swift.max(1, maxDepth)
    }

    /// Decodes one Kafka record value.
    ///
    /// - Parameter payload: the record value (UTF-8 JSON).
    /// - Returns: the event.
    /// - Throws: ``LabelDecodingError`` naming what is wrong.
    public func decode(_ payload: [UInt8]) throws(LabelDecodingError) -> LabelEvent {
        try payload.withUnsafeBytes { bytes in
            Result { () throws(LabelDecodingError) -> LabelEvent in try decode(bytes) }
        }.get()
    }

    /// Decodes one Kafka record value in place; see ``decode(_:)-([UInt8])``.
    public func decode(_ payload: UnsafeRawBufferPointer) throws(LabelDecodingError) -> LabelEvent {
        guard payload.count > 0, let base = payload.baseAddress else {
            throw LabelDecodingError(code: .oversizedPayload, byteOffset: 0, message: "the label event is empty; send {\"id\": ..., \"label\": ...}")
        }
        guard payload.count <= maxPayloadBytes else {
            throw LabelDecodingError(code: .oversizedPayload, byteOffset: 0,
                                     message: "the label event has \(payload.count) bytes; at most \(maxPayloadBytes) are accepted")
        }
        var parser = Parser(cursor: JSONCursor(base: base.assumingMemoryBound(to: UInt8.self), count: payload.count, maxDepth: maxDepth))
        do {
            return try parser.parse()
        } catch let error as LabelDecodingError {
            throw error
        } catch let error as RequestDecodingError {
            throw LabelDecodingError(code: .malformedJSON, byteOffset: error.byteOffset, message: error.message)
        } catch {
            throw LabelDecodingError(code: .malformedJSON, byteOffset: 0, message: "\(error)")
        }
    }

    private struct Parser {
        var cursor: JSONCursor
        /// The first shape error, reported once the payload has proved to be valid JSON.
        var pending: LabelDecodingError?

        init(cursor: JSONCursor) { self.cursor = cursor }

        mutating func remember(_ code: LabelDecodingError.Code, at offset: Int, _ message: String) {
            if pending == nil { pending = LabelDecodingError(code: code, byteOffset: offset, message: message) }
        }

        mutating func parse() throws -> LabelEvent {
            cursor.skipWhitespace()
            guard cursor.peek == UInt8(ascii: "{") else {
                let start = cursor.position
                try cursor.skipValue(depth: 0)
                try finish()
                throw LabelDecodingError(code: .notAnObject, byteOffset: start, message: "a label event must be a JSON object {\"id\": ..., \"label\": ...}")
            }
            let objectStart = cursor.position
            cursor.position += 1
            var id: String?
            var value: LabelEvent.Value?
            var sawID = false, sawLabel = false
            cursor.skipWhitespace()
            if cursor.peek == UInt8(ascii: "}") {
                cursor.position += 1
            } else {
                while true {
                    guard cursor.peek == UInt8(ascii: "\"") else { throw cursor.unexpected(expecting: "a string key") }
                    let keyStart = cursor.position
                    let key = cursor.decodeString(try cursor.scanString())
                    cursor.skipWhitespace()
                    try cursor.expect(UInt8(ascii: ":"), "':' after an object key")
                    cursor.skipWhitespace()
                    switch key {
                    case "id":
                        if sawID {
                            remember(.duplicateKey, at: keyStart, "\"id\" appears twice")
                            try cursor.skipValue(depth: 1)
                        } else {
                            sawID = true
                            id = try parseID()
                        }
                    case "label":
                        if sawLabel {
                            remember(.duplicateKey, at: keyStart, "\"label\" appears twice")
                            try cursor.skipValue(depth: 1)
                        } else {
                            sawLabel = true
                            value = try parseLabel()
                        }
                    default:
                        try cursor.skipValue(depth: 1)
                    }
                    cursor.skipWhitespace()
                    if cursor.peek == UInt8(ascii: ",") {
                        cursor.position += 1
                        cursor.skipWhitespace()
                        continue
                    }
                    try cursor.expect(UInt8(ascii: "}"), "',' or '}' in the label event")
                    break
                }
            }
            try finish()
            if let pending { throw pending }
            guard let id else {
                throw LabelDecodingError(code: .missingID, byteOffset: objectStart, message: "the label event has no \"id\"; send the id of the request it is about")
            }
            guard let value else {
                throw LabelDecodingError(code: .missingLabel, byteOffset: objectStart, message: "the label event has no \"label\"; send a class name, a class index or a number")
            }
            return LabelEvent(id: id, value: value)
        }

        mutating func finish() throws {
            cursor.skipWhitespace()
            guard cursor.atEnd else { throw cursor.malformed("trailing data after the JSON document") }
        }

        mutating func parseID() throws -> String? {
            let start = cursor.position
            switch cursor.peek {
            case UInt8(ascii: "\""):
                let text = cursor.decodeString(try cursor.scanString())
                if text.isEmpty { remember(.invalidID, at: start, "\"id\" is an empty string") }
                return text
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                _ = try cursor.scanNumber()
                return cursor.text(start, cursor.position)
            case UInt8(ascii: "n"):
                if case .null = try cursor.scanLiteral() { return nil }
                remember(.invalidID, at: start, "\"id\" must be a string or a number")
                return nil
            default:
                try cursor.skipValue(depth: 1)
                remember(.invalidID, at: start, "\"id\" must be a string or a number")
                return nil
            }
        }

        mutating func parseLabel() throws -> LabelEvent.Value? {
            let start = cursor.position
            switch cursor.peek {
            case UInt8(ascii: "\""):
                return .text(cursor.decodeString(try cursor.scanString()))
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                try cursor.skipValue(depth: 1)
                remember(.invalidLabel, at: start, "\"label\" must be a class name, a class index or a number, not an object or an array")
                return nil
            case UInt8(ascii: "N"), UInt8(ascii: "I"):
                _ = try cursor.scanNonFiniteNumber()
                remember(.invalidLabel, at: start, "\"label\" must be a finite number")
                return nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                if cursor.atNegativeInfinity {
                    _ = try cursor.scanNonFiniteNumber()
                    remember(.invalidLabel, at: start, "\"label\" must be a finite number")
                    return nil
                }
                let x = try cursor.scanNumber()
                guard x.isFinite else {
                    remember(.invalidLabel, at: start, "\"label\" is beyond the range of a double")
                    return nil
                }
                return .number(x)
            default:
                switch try cursor.scanLiteral() {
                case .bool(let flag): return .bool(flag)
                case .null:
                    remember(.missingLabel, at: start, "\"label\" is null; send the true class or value, or no event")
                    return nil
                default:
                    remember(.invalidLabel, at: start, "\"label\" must be a class name, a class index or a number")
                    return nil
                }
            }
        }
    }
}
