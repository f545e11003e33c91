import InferenceCore
import Testing

/// Malformed and misshapen payloads, each with the error code it must produce.
@Suite struct RequestDecoderCorpusTests {
    let decoder = try! RequestDecoder(featureNames: ["a", "b"])

    static let corpus: [(String, RequestDecodingError.Code)] = [
        // Not JSON at all / truncated
        ("", .malformedJSON),
        ("   ", .malformedJSON),
        ("{", .malformedJSON),
        (#"{"features""#, .malformedJSON),
        (#"{"features":"#, .malformedJSON),
        (#"{"features":[1,2"#, .malformedJSON),
        (#"{"features":[1,2]"#, .malformedJSON),
        (#"{"features":[1,2],}"#, .malformedJSON),
        (#"{"features":[1,2,]}"#, .malformedJSON),
        (#"{"features":[,1,2]}"#, .malformedJSON),
        (#"{"features":[1 2]}"#, .malformedJSON),
        (#"{"features" [1,2]}"#, .malformedJSON),
        (#"{features:[1,2]}"#, .malformedJSON),
        (#"{'features':[1,2]}"#, .malformedJSON),
        (#"{"features":[1,2]}}"#, .malformedJSON),
        (#"{"features":[1,2]} x"#, .malformedJSON),
        (#"{"features":[1,2]}{}"#, .malformedJSON),
        ("\u{FEFF}{\"features\":[1,2]}", .malformedJSON),
        // Numbers
        (#"{"features":[01,2]}"#, .malformedJSON),
        (#"{"features":[-01,2]}"#, .malformedJSON),
        (#"{"features":[1.,2]}"#, .malformedJSON),
        (#"{"features":[.5,2]}"#, .malformedJSON),
        (#"{"features":[-,2]}"#, .malformedJSON),
        (#"{"features":[+1,2]}"#, .malformedJSON),
        (#"{"features":[1e,2]}"#, .malformedJSON),
        (#"{"features":[1e+,2]}"#, .malformedJSON),
        (#"{"features":[1.5e-,2]}"#, .malformedJSON),
        (#"{"features":[NaN,2]}"#, .malformedJSON),
        (#"{"features":[Infinity,2]}"#, .malformedJSON),
        (#"{"features":[-Infinity,2]}"#, .malformedJSON),
        (#"{"features":[0x10,2]}"#, .malformedJSON),
        (#"{"features":[1_000,2]}"#, .malformedJSON),
        (#"{"id": 01, "features":[1,2]}"#, .malformedJSON),
        // Literals
        (#"{"features":[tru,2]}"#, .malformedJSON),
        (#"{"features":[True,2]}"#, .malformedJSON),
        (#"{"features":[nul,2]}"#, .malformedJSON),
        (#"{"features":[undefined,2]}"#, .malformedJSON),
        // Strings
        (#"{"features":["abc,2]}"#, .malformedJSON),
        (#"{"features":["a\x",2]}"#, .malformedJSON),
        (#"{"features":["a\u12",2]}"#, .malformedJSON),
        (#"{"features":["a\u12G4",2]}"#, .malformedJSON),
        (#"{"features":["\uD800",2]}"#, .malformedJSON),
        (#"{"features":["\uDC00",2]}"#, .malformedJSON),
        (#"{"features":["\uD800\u0041",2]}"#, .malformedJSON),
        (#"{"features":["\uD800x",2]}"#, .malformedJSON),
        ("{\"features\":[\"a\tb\",2]}", .malformedJSON),
        ("{\"features\":[\"a\nb\",2]}", .malformedJSON),
        ("{\"features\":[\"a\u{0}b\",2]}", .malformedJSON),
        (#"{"unknown": "a\q", "features":[1,2]}"#, .malformedJSON),
        // Not an object
        ("[1,2]", .notAnObject),
        ("1", .notAnObject),
        (#""features""#, .notAnObject),
        ("null", .notAnObject),
        ("[1,2", .malformedJSON),
        // Shape
        ("{}", .missingFeatures),
        (#"{"id":"a"}"#, .missingFeatures),
        (#"{"Features":[1,2]}"#, .missingFeatures),
        (#"{"features":null}"#, .featuresWrongType),
        (#"{"features":"1,2"}"#, .featuresWrongType),
        (#"{"features":12}"#, .featuresWrongType),
        (#"{"features":[1,{"x":1}]}"#, .featureWrongType),
        (#"{"features":{"a":[]}}"#, .featureWrongType),
        (#"{"features":[]}"#, .wrongArity),
        (#"{"features":[1]}"#, .wrongArity),
        (#"{"features":[1,2,3]}"#, .wrongArity),
        (#"{"features":{"a":1,"c":2}}"#, .unknownFeature),
        (#"{"features":{"A":1}}"#, .unknownFeature),
        (#"{"features":{"a":1,"a":2}}"#, .duplicateFeature),
        (#"{"features":{"a":1,"\u0061":2}}"#, .duplicateFeature),
        (#"{"features":[1,2],"features":[1,2]}"#, .duplicateKey),
        (#"{"id":"x","id":"y","features":[1,2]}"#, .duplicateKey),
        (#"{"id":true,"features":[1,2]}"#, .invalidID),
        (#"{"id":{"v":1},"features":[1,2]}"#, .invalidID),
        (#"{"id":["x"],"features":[1,2]}"#, .invalidID),
    ]

    @Test(arguments: corpus)
    func producesTheRightCode(json: String, code: RequestDecodingError.Code) {
        var values: [RawFeatureValue] = []
        do {
            let request = try decoder.decode(Array(json.utf8), into: &values)
            Issue.record("decoded \(json) as \(request) \(values); expected \(code)")
        } catch {
            #expect(error.code == code, "\(json): \(error)")
            #expect(error.byteOffset >= 0 && error.byteOffset <= json.utf8.count)
            #expect(!error.message.isEmpty)
        }
    }

    static let invalidUTF8: [[UInt8]] = [
        [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x80, 0x80, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xC3], [0xE2, 0x82], [0xC3, 0x28],
    ]

    @Test(arguments: invalidUTF8)
    func invalidUTF8InStringsIsMalformed(sequence: [UInt8]) {
        let payload = Array(#"{"features":["x"#.utf8) + sequence + Array(#"y",2]}"#.utf8)
        var values: [RawFeatureValue] = []
        #expect(throws: RequestDecodingError.self) { _ = try decoder.decode(payload, into: &values) }
        do { _ = try decoder.decode(payload, into: &values) } catch { #expect(error.code == .malformedJSON) }
    }

    @Test func validUTF8IsAccepted() throws {
        var values: [RawFeatureValue] = []
        _ = try decoder.decode(Array("{\"features\":[\"é€😀\u{10FFFF}\u{FFFD}\",2]}".utf8), into: &values)
        #expect(values[0] == .string("é€😀\u{10FFFF}\u{FFFD}"))
    }
}

/// Random bytes, truncations and mutations of valid documents: the decoder must never crash, and
/// always return either a result or a typed error whose offset lies inside the payload.
@Suite struct RequestDecoderFuzzTests {
    let decoder = try! RequestDecoder(featureNames: ["amount", "count", "country", "flag"], configuration: .init(maxPayloadBytes: 4096, maxDepth: 16))

    static let seeds = [
        #"{"id": "abc", "features": [1.5, 2, "DE", null]}"#,
        #"{"id": 42, "features": {"amount": -1.5e-3, "country": "D\u00c9", "flag": true}}"#,
        #"{"meta": {"a": [1, {"b": null}, "x\"y"], "c": [true, false]}, "features": [0, -0.0, "\uD83D\uDE00", false]}"#,
    ]

    func check(_ bytes: [UInt8]) {
        var values: [RawFeatureValue] = []
        do {
            _ = try decoder.decode(bytes, into: &values)
            #expect(values.count == 4)
        } catch {
            #expect(error.byteOffset >= 0 && error.byteOffset <= max(bytes.count, 4096))
        }
    }

    @Test func everyTruncationOfValidDocuments() throws {
        for seed in Self.seeds {
            let bytes = Array(seed.utf8)
            var values: [RawFeatureValue] = []
            _ = try decoder.decode(bytes, into: &values) // the seed itself is valid
            for length in 0..<bytes.count {
                var truncated = values
                do {
                    _ = try decoder.decode(Array(bytes[..<length]), into: &truncated)
                    Issue.record("a truncation decoded: \(String(decoding: bytes[..<length], as: UTF8.self))")
                } catch {
                    #expect(error.code == .malformedJSON || error.code == .notAnObject)
                }
            }
        }
    }

    @Test func randomMutationsOfValidDocuments() {
        var random = SplitMix64(seed: 0xFEED)
        let interesting: [UInt8] = Array(#"{}[]",:\-+.eE0123456789tfnu "#.utf8) + [0x00, 0x80, 0xC3, 0xFF, 0xED]
        for _ in 0..<20_000 {
            var bytes = Array(Self.seeds.randomElement(using: &random)!.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] = interesting.randomElement(using: &random)!
                case 1: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 2: bytes.insert(interesting.randomElement(using: &random)!, at: index)
                default: if bytes.count > 1 { bytes.remove(at: index) }
                }
            }
            check(bytes)
        }
    }

    @Test func randomBytes() {
        var random = SplitMix64(seed: 0xBEEF)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...64, using: &random)
            check((0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }

    @Test func randomJSONishText() {
        var random = SplitMix64(seed: 0xC0FFEE)
        let alphabet: [UInt8] = Array(#"{}[]",:\-+.eE0123456789tfnrulsa "#.utf8)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...48, using: &random)
            check([UInt8(ascii: "{")] + (0..<count).map { _ in alphabet.randomElement(using: &random)! })
        }
    }
}
