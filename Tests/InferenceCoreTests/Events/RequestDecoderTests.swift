import InferenceCore
import Testing

@Suite struct RequestDecoderTests {
    static let names = ["amount", "count", "country", "flag"]
    let decoder = try! RequestDecoder(featureNames: RequestDecoderTests.names)

    func decode(_ json: String, with decoder: RequestDecoder? = nil) throws(RequestDecodingError) -> (DecodedRequest, [RawFeatureValue]) {
        var values: [RawFeatureValue] = []
        let request = try (decoder ?? self.decoder).decode(Array(json.utf8), into: &values)
        return (request, values)
    }

    func error(_ json: String, with decoder: RequestDecoder? = nil) -> RequestDecodingError? {
        do {
            _ = try decode(json, with: decoder)
            return nil
        } catch {
            return error
        }
    }

    @Test func arrayInModelOrder() throws {
        let (request, values) = try decode(#"{"id": "abc", "features": [1.5, 2, "DE", null]}"#)
        #expect(request == DecodedRequest(id: "abc", idIsNumber: false, idSpan: 8..<11, layout: .array))
        #expect(values == [.number(1.5), .number(2), .string("DE"), .null])
    }

    @Test func objectKeyedByName() throws {
        let (request, values) = try decode(#"{"features": {"country": "DE", "amount": 1.5, "flag": true}, "id": "x"}"#)
        #expect(request == DecodedRequest(id: "x", idSpan: 68..<69, layout: .object))
        #expect(values == [.number(1.5), .missing, .string("DE"), .bool(true)])
    }

    @Test func idIsOptionalAndMayBeANumberOrNull() throws {
        #expect(try decode(#"{"features":[1,2,3,4]}"#).0.id == nil)
        #expect(try decode(#"{"id":null,"features":[1,2,3,4]}"#).0.id == nil)
        let (numeric, _) = try decode(#"{"id": 12345678901234567890123, "features":[1,2,3,4]}"#)
        #expect(numeric.id == "12345678901234567890123")
        #expect(numeric.idIsNumber)
        #expect(try decode(#"{"id":-1.5e3,"features":[1,2,3,4]}"#).0.id == "-1.5e3")
    }

    @Test func idSpanPointsAtTheRawText() throws {
        let json = #"{"id": "a\"b", "features": [1, 2, 3, 4]}"#
        let bytes = Array(json.utf8)
        let lazy = try RequestDecoder(featureNames: Self.names, configuration: .init(materializesID: false))
        var values: [RawFeatureValue] = []
        let request = try lazy.decode(bytes, into: &values)
        #expect(request.id == nil)
        let span = try #require(request.idSpan)
        #expect(String(decoding: bytes[span], as: UTF8.self) == #"a\"b"#)
        #expect(try decoder.decode(bytes, into: &values).id == "a\"b")
        let numeric = Array(#"{"id":-12.5e3,"features":[1,2,3,4]}"#.utf8)
        let numericSpan = try #require(try lazy.decode(numeric, into: &values).idSpan)
        #expect(String(decoding: numeric[numericSpan], as: UTF8.self) == "-12.5e3")
        #expect(try lazy.decode(Array(#"{"id":null,"features":[1,2,3,4]}"#.utf8), into: &values).idSpan == nil)
    }

    @Test func unknownTopLevelKeysAreSkipped() throws {
        let json = #"{"meta": {"a": [1, {"b": null}, "x\"y"], "c": true}, "version": 2, "features": [1, 2, "x", false], "extra": [[[]]]}"#
        let (_, values) = try decode(json)
        #expect(values == [.number(1), .number(2), .string("x"), .bool(false)])
    }

    @Test func whitespaceEverywhere() throws {
        let (request, values) = try decode(" \n\t\r{ \"id\" : \"a\" ,\n \"features\" : [ 1 , 2 , \"x\" , true ] } \n")
        #expect(request.id == "a")
        #expect(values == [.number(1), .number(2), .string("x"), .bool(true)])
    }

    @Test func stringEscapes() throws {
        let json = #"{"id": "q\"\\\/\b\f\n\r\t\u00e9\u20AC\uD83D\uDE00z", "features": ["\u0041", 2, "日本", null]}"#
        let (request, values) = try decode(json)
        #expect(request.id == "q\"\\/\u{8}\u{C}\n\r\té€😀z")
        #expect(values[0] == .string("A"))
        #expect(values[2] == .string("日本"))
    }

    @Test func escapedKeysMatchFeatureNames() throws {
        let (_, values) = try decode(#"{"\u0066eatures": {"\u0061mount": 3, "c\u006funt": 4}}"#)
        #expect(values == [.number(3), .number(4), .missing, .missing])
    }

    @Test(arguments: [
        ("0", 0.0), ("-0", -0.0), ("1", 1.0), ("-1", -1.0), ("1.5", 1.5), ("0.1", 0.1), ("1e3", 1000.0), ("1E+3", 1000.0),
        ("1e-3", 0.001), ("2.5E-1", 0.25), ("123456789012345678", 123456789012345678.0),
        ("0.30000000000000004", 0.30000000000000004), ("1.7976931348623157e308", 1.7976931348623157e308),
        ("4.9406564584124654e-324", .leastNonzeroMagnitude), ("2.2250738585072014e-308", 2.2250738585072014e-308),
        ("9007199254740993", 9007199254740993.0), ("0.000001234", 0.000001234), ("1e-400", 0.0),
        ("123.456e-2", 1.23456), ("100000000000000000000000000000", 1e29),
    ])
    func numbersMatchSwiftsCorrectlyRoundedParser(text: String, expected: Double) throws {
        let (_, values) = try decode(#"{"features": [\#(text), 0, "", null]}"#)
        guard case .number(let value) = values[0] else {
            Issue.record("not a number: \(values[0])")
            return
        }
        #expect(value == expected)
        #expect(value.sign == expected.sign)
        #expect(value == Double(text)!)
    }

    /// The scanner reads eight digits at a time where eight bytes remain: numbers of every digit
    /// count, with and without fraction and exponent, and at every distance from the end of the
    /// payload (so that both the eight-byte and the byte-by-byte paths and their hand-over run)
    /// decode exactly as Swift's correctly rounded parser reads them.
    @Test func randomNumbersOfEveryLengthMatchSwiftsParserAtEveryDistanceFromTheEnd() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(next() % 10)) }) }
        let single = try RequestDecoder(featureNames: ["x"])
        let four = try RequestDecoder(featureNames: ["x", "a", "b", "c"])
        var checked = 0
        for _ in 0..<4000 {
            let intDigits = Int(next() % 22) + 1
            var text = (next() % 4 == 0 ? "-" : "") + (intDigits == 1 ? digits(1) : String(next() % 9 + 1) + digits(intDigits - 1))
            if next() % 3 != 0 { text += "." + (next() % 5 == 0 ? String(repeating: "0", count: Int(next() % 9)) : "") + digits(Int(next() % 22) + 1) }
            if next() % 5 == 0 { text += (next() % 2 == 0 ? "e" : "E-") + String(next() % 40) }
            let expected = try #require(Double(text))
            // Closed right after the number (fewer than eight bytes left) and with a long tail.
            for (json, decoder) in [(#"{"features":[\#(text)]}"#, single), (#"{"features":[\#(text), 0, "", null]}"#, four)] {
                var values: [RawFeatureValue] = []
                _ = try decoder.decode(Array(json.utf8), into: &values)
                guard case .number(let value) = values[0] else { Issue.record("\(text): \(values[0])"); continue }
                #expect(value == expected && value.sign == expected.sign, "\(text) -> \(value), expected \(expected)")
                checked += 1
            }
        }
        #expect(checked == 8000)
    }

    @Test func hugeNumbersDecodeAsInfinity() throws {
        let (_, values) = try decode(#"{"features": [1e400, -1e400, 0, 0]}"#)
        #expect(values[0] == .number(.infinity))
        #expect(values[1] == .number(-.infinity))
    }

    /// Issue 13 item 5: Python's `json.dumps` writes `NaN`, `Infinity` and `-Infinity` for non-finite
    /// floats; they decode as numbers wherever a number may appear (the input schema decides).
    @Test func pythonNonFiniteLiteralsDecodeAsNumbers() throws {
        let (_, values) = try decode(#"{"features": [NaN, Infinity, -Infinity, -1.5], "meta": {"score": NaN, "x": [-Infinity]}}"#)
        guard case .number(let nan) = values[0] else { Issue.record("\(values[0])"); return }
        #expect(nan.isNaN)
        #expect(values[1] == .number(.infinity))
        #expect(values[2] == .number(-.infinity))
        #expect(values[3] == .number(-1.5))
        let (_, keyed) = try decode(#"{"features": {"count": NaN, "flag": Infinity}}"#)
        guard case .number(let keyedNaN) = keyed[1] else { Issue.record("\(keyed[1])"); return }
        #expect(keyedNaN.isNaN)
        #expect(keyed[3] == .number(.infinity))
        #expect(keyed[0] == .missing)
    }

    /// Issue 13 item 5, end to end through the input schema: a Python client's `NaN` is a missing value
    /// where the feature allows one, `non_finite` otherwise; `true` / `false` are 1 / 0 for numerics.
    @Test func pythonPayloadsThroughTheInputSchema() throws {
        let schema = InputSchema(features: [
            .numeric("amount", minimum: 0, maximum: 1000),
            .numeric("count", missing: .allowed, default: 3),
            .categorical("country", vocabulary: ["DE", "FR"], missing: .allowed, default: "FR"),
            .numeric("flag", minimum: 0, maximum: 1),
        ])
        func encode(_ json: String) throws -> Result<[Float], InputValidationError> {
            let (_, values) = try decode(json)
            var out = [Float](repeating: -7, count: schema.width)
            do throws(InputValidationError) {
                try out.withUnsafeMutableBufferPointer { buffer throws(InputValidationError) in try schema.encode(row: values, into: buffer) }
                return .success(out)
            } catch {
                return .failure(error)
            }
        }
        #expect(try encode(#"{"features": [12.5, NaN, NaN, true]}"#).get() == [12.5, 3, 0, 1, 1])
        #expect(try encode(#"{"features": {"amount": 1, "flag": false}}"#).get() == [1, 3, 0, 1, 0])
        guard case .failure(let nanError) = try encode(#"{"features": [NaN, 1, "DE", true]}"#) else { Issue.record("NaN amount accepted"); return }
        #expect(nanError.code == .nonFinite)
        #expect(nanError.deadLetterReason?.code == "non_finite")
        guard case .failure(let infinityError) = try encode(#"{"features": [Infinity, 1, "DE", true]}"#) else { Issue.record("Infinity accepted"); return }
        #expect(infinityError.code == .nonFinite)
        #expect(infinityError.feature == "amount")
        guard case .failure(let boolCategory) = try encode(#"{"features": [1, 1, true, true]}"#) else { Issue.record("bool category accepted"); return }
        #expect(boolCategory.code == .wrongType)
    }

    @Test func randomDoublesRoundTrip() throws {
        var random = SplitMix64(seed: 2024)
        for _ in 0..<2000 {
            let bits = random.next()
            let value = Double(bitPattern: bits)
            guard value.isFinite else { continue }
            for text in [value.description, String(Float(value).isFinite ? Double(Float(value)) : 1.0)] {
                let (_, values) = try decode(#"{"features": [\#(text), 0, 0, 0]}"#)
                #expect(values[0] == .number(Double(text)!), "\(text)")
            }
        }
        for _ in 0..<2000 {
            // Short decimals, the common case (fast path).
            let digits = Int64.random(in: -99_999_999...99_999_999, using: &random)
            let scale = Int.random(in: 0...12, using: &random)
            var text = String(digits.magnitude)
            if scale > 0 {
                while text.count <= scale { text = "0" + text }
                text.insert(".", at: text.index(text.endIndex, offsetBy: -scale))
            }
            if digits < 0 { text = "-" + text }
            let (_, values) = try decode(#"{"features": [\#(text), 0, 0, 0]}"#)
            #expect(values[0] == .number(Double(text)!), "\(text)")
        }
    }

    @Test func reusesTheCallersBuffer() throws {
        var values = [RawFeatureValue](repeating: .null, count: 4)
        try values.withUnsafeMutableBufferPointer { buffer in
            let bytes = Array(#"{"features":[1,2,3,4]}"#.utf8)
            _ = try bytes.withUnsafeBytes { try decoder.decode($0, into: buffer) }
        }
        #expect(values == [.number(1), .number(2), .number(3), .number(4)])
        // The object form resets every slot, so a previous record's values never leak into this one.
        _ = try decoder.decode(Array(#"{"features":{"flag":false}}"#.utf8), into: &values)
        #expect(values == [.missing, .missing, .missing, .bool(false)])
    }

    @Test func errorsNameTheFeature() throws {
        let arity = try #require(error(#"{"features": [1, 2, 3]}"#))
        #expect(arity.code == .wrongArity)
        #expect(arity.expectedCount == 4)
        #expect(arity.actualCount == 3)
        #expect(arity.byteOffset == 13)
        #expect(arity.message.contains("\"amount\", \"count\", \"country\", \"flag\""))

        let tooMany = try #require(error(#"{"features": [1, 2, 3, 4, 5, 6]}"#))
        #expect(tooMany.code == .wrongArity)
        #expect(tooMany.actualCount == 6)

        let unknown = try #require(error(#"{"features": {"amount": 1, "colour": "red"}}"#))
        #expect(unknown.code == .unknownFeature)
        #expect(unknown.feature == "colour")
        #expect(unknown.byteOffset == 27)
        #expect(unknown.message.contains("\"colour\""))

        let duplicate = try #require(error(#"{"features": {"amount": 1, "amount": 2}}"#))
        #expect(duplicate.code == .duplicateFeature)
        #expect(duplicate.feature == "amount")

        let nested = try #require(error(#"{"features": [1, [2], "x", null]}"#))
        #expect(nested.code == .featureWrongType)
        #expect(nested.feature == "count")
        #expect(nested.message.contains("array"))

        let nestedObject = try #require(error(#"{"features": {"country": {"iso": "DE"}}}"#))
        #expect(nestedObject.code == .featureWrongType)
        #expect(nestedObject.feature == "country")
    }

    @Test func syntaxErrorsWinOverShapeErrorsFoundEarlier() throws {
        // The unknown feature comes first, but the document is truncated: that is what gets reported.
        let truncated = try #require(error(#"{"features": {"colour": "red", "amount": 1"#))
        #expect(truncated.code == .malformedJSON)
    }

    @Test func oversizedPayloadIsRejectedBeforeParsing() throws {
        let small = try RequestDecoder(featureNames: ["a"], configuration: .init(maxPayloadBytes: 32))
        let ok = #"{"features":[1]}"#
        #expect(try decode(ok, with: small).1 == [.number(1)])
        let big = #"{"features":[1], "padding": "\#(String(repeating: "x", count: 40))"}"#
        let failure = try #require(error(big, with: small))
        #expect(failure.code == .oversizedPayload)
        #expect(failure.byteOffset == 32)
        #expect(failure.deadLetterReason == .oversizedPayload)
    }

    @Test func nestingDepthIsBounded() throws {
        let shallow = try RequestDecoder(featureNames: ["a"], configuration: .init(maxDepth: 4))
        #expect(throws: Never.self) { try decode(#"{"x": [[[1]]], "features": [1]}"#, with: shallow) }
        let failure = try #require(error(#"{"x": [[[[1]]]], "features": [1]}"#, with: shallow))
        #expect(failure.code == .nestingTooDeep)
        // Deep nesting in the default configuration is an error, not a stack overflow.
        let deep = #"{"x": "# + String(repeating: "[", count: 100_000) + "}"
        #expect(self.error(deep)?.code == .nestingTooDeep)
    }

    @Test func rejectsDuplicateFeatureNamesInTheModel() {
        #expect(throws: ConfigurationValidationError.self) { _ = try RequestDecoder(featureNames: ["a", "b", "a"]) }
    }

    @Test func manyFeaturesLookUpByName() throws {
        let names = (0..<500).map { "feature_\($0)" }
        let wide = try RequestDecoder(featureNames: names)
        let json = "{\"features\": {" + names.reversed().enumerated().map { "\"\($0.element)\": \($0.offset)" }.joined(separator: ",") + "}}"
        let (_, values) = try decode(json, with: wide)
        #expect(values == (0..<500).map { .number(Double(499 - $0)) })
    }
}
