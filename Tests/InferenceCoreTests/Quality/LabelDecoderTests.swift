@testable import InferenceCore
import Testing

@Suite struct LabelDecoderTests {
    let decoder = LabelDecoder()

    func decode(_ text: String) throws(LabelDecodingError) -> LabelEvent { try decoder.decode(Array(text.utf8)) }

    func code(_ text: String) -> LabelDecodingError.Code? {
        do { _ = try decode(text); return nil } catch { return error.code }
    }

    @Test func decodesClassNamesIndicesBooleansAndTargets() throws {
        #expect(try decode(#"{"id": "txn-1", "label": "fraud"}"#) == LabelEvent(id: "txn-1", value: .text("fraud")))
        #expect(try decode(#"{"label": 1, "id": "txn-2"}"#) == LabelEvent(id: "txn-2", value: .number(1)))
        #expect(try decode(#"{"id":"a","label":true}"#).value == .bool(true))
        #expect(try decode(#"{"id":"a","label":-57.25e1}"#).value == .number(-572.5))
        #expect(try decode(#"{"id":"caf\u00e9","label":"x","extra":{"nested":[1,2,NaN]}}"#).id == "café")
    }

    @Test func numericIDsKeepTheirExactText() throws {
        #expect(try decode(#"{"id": 12345678901234567890, "label": 0}"#).id == "12345678901234567890")
        #expect(try decode(#"{"id": 42, "label": 0}"#).id == "42")
    }

    @Test(arguments: [
        (#"{"id": "a", "label": "x""#, "malformed_json"),
        (#"{"id": "a", "label": "x"} trailing"#, "malformed_json"),
        (#"[1, 2]"#, "not_an_object"),
        (#"{"label": "x"}"#, "missing_id"),
        (#"{"id": null, "label": "x"}"#, "missing_id"),
        (#"{"id": "", "label": "x"}"#, "invalid_id"),
        (#"{"id": {"a": 1}, "label": "x"}"#, "invalid_id"),
        (#"{"id": "a"}"#, "missing_label"),
        (#"{"id": "a", "label": null}"#, "missing_label"),
        (#"{"id": "a", "label": [1]}"#, "invalid_label"),
        (#"{"id": "a", "label": NaN}"#, "invalid_label"),
        (#"{"id": "a", "label": -Infinity}"#, "invalid_label"),
        (#"{"id": "a", "label": 1e400}"#, "invalid_label"),
        (#"{"id": "a", "id": "b", "label": 1}"#, "duplicate_key"),
        (#"{"id": "a", "label": 1, "label": 2}"#, "duplicate_key"),
        ("", "oversized_payload"),
    ])
    func badEventsGiveTypedErrors(payload: String, expected: String) {
        #expect(code(payload)?.rawValue == expected, "\(payload)")
    }

    @Test func oversizedAndDeeplyNestedPayloadsAreRefusedWithoutTrapping() {
        let small = LabelDecoder(maxPayloadBytes: 32, maxDepth: 4)
        let big = #"{"id": "a", "label": "a label that is far too long for the limit"}"#
        #expect(throws: LabelDecodingError.self) { try small.decode(Array(big.utf8)) }
        let deep = #"{"id":"a","label":1,"x":"# + String(repeating: "[", count: 50) + String(repeating: "]", count: 50) + "}"
        #expect(throws: LabelDecodingError.self) { try small.decode(Array(deep.utf8)) }
        // Every truncation of a valid event is an error, never a crash.
        let valid = Array(#"{"id": "txn-1", "label": "fraud", "x": [1, {"y": "\u00e9"}]}"#.utf8)
        for length in 0..<valid.count {
            #expect(throws: LabelDecodingError.self) { try decoder.decode(Array(valid[0..<length])) }
        }
    }
}
