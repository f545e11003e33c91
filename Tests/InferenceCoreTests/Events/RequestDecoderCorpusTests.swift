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
        // NaN, Infinity and -Infinity are accepted (Python's json.dumps); near misses are not.
        (#"{"features":[nan,2]}"#, .malformedJSON),
        (#"{"features":[NAN,2]}"#, .malformedJSON),
        (#"{"features":[NaN1,2]}"#, .malformedJSON),
        (#"{"features":[-NaN,2]}"#, .malformedJSON),
        (#"{"features":[+Infinity,2]}"#, .malformedJSON),
        (#"{"features":[Inf,2]}"#, .malformedJSON),
        (#"{"features":[-Inf,2]}"#, .malformedJSON),
        (#"{"features":[Infinit"#, .malformedJSON),
        (#"{"meta":Infinityx,"features":[1,2]}"#, .malformedJSON),
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
        (#"{"id":NaN,"features":[1,2]}"#, .invalidID),
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
