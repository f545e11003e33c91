import Crypto
import Testing

@testable import InferenceCore

@Suite struct DeadLetterTruncationTests {
    let context = [KafkaHeader(key: "__connect.errors.topic", string: "requests"), KafkaHeader(key: "inference.errors.reason", string: "oversized_payload")]

    private func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
    }

    @Test func aValueThatFitsIsLeftAlone() {
        let cut = DeadLetterTruncation(key: [1, 2], value: [UInt8](repeating: 7, count: 100), originalHeaders: [], contextHeaders: context, budget: 10_000)
        #expect(!cut.isTruncated)
        #expect(cut.value?.count == 100 && cut.key == [1, 2])
        #expect(cut.headers == context)
    }

    @Test func aTooLargeValueIsCutToTheBudgetAndSaysSoWithSizeAndDigest() {
        let value = (0..<50_000).map { UInt8(truncatingIfNeeded: $0) }
        let cut = DeadLetterTruncation(key: Array("k".utf8), value: value, originalHeaders: [KafkaHeader(key: "traceparent", string: "00-abc")], contextHeaders: context, budget: 8_000)
        #expect(cut.isTruncated)
        let kept = cut.value ?? []
        let headerBytes = cut.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        #expect(kept.count + (cut.key?.count ?? 0) + headerBytes <= 8_000)
        #expect(kept == Array(value.prefix(kept.count)))
        #expect(cut.key == Array("k".utf8), "a small key stays")
        #expect(cut.headers.first?.key == "traceparent", "original headers that fit stay first")
        func header(_ key: String) -> String? { cut.headers.last { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(header(DeadLetterTruncation.Key.valueTruncated) == "true")
        #expect(header(DeadLetterTruncation.Key.valueOriginalSize) == "50000")
        #expect(header(DeadLetterTruncation.Key.valueSHA256) == hex(value))
        #expect(header(DeadLetterTruncation.Key.keyTruncated) == nil)
    }

    @Test func aTinyBudgetDropsOriginalHeadersAndCutsTheKeyButKeepsTheContext() {
        let key = [UInt8](repeating: 1, count: 5_000)
        let originals = [KafkaHeader(key: "big", value: [UInt8](repeating: 2, count: 5_000))]
        let cut = DeadLetterTruncation(key: key, value: [3, 3, 3], originalHeaders: originals, contextHeaders: context, budget: 1_200)
        #expect(cut.isTruncated)
        #expect(!cut.headers.contains { $0.key == "big" })
        #expect(cut.headers.contains { $0.key == DeadLetterTruncation.Key.headersTruncated })
        #expect(cut.headers.contains { $0.key == DeadLetterTruncation.Key.keyTruncated })
        #expect((cut.key?.count ?? 0) < key.count)
        #expect(Array(cut.headers.prefix(2)) == context, "the context headers are always written")
    }
}
