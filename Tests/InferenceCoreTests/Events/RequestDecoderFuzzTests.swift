import InferenceCore
import Testing

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
