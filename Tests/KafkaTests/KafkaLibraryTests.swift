import Testing
@testable import Kafka

@Suite struct KafkaLibraryTests {
    @Test func decodesHexVersion() {
        #expect(KafkaVersion(hex: 0x020002ff) == KafkaVersion(major: 2, minor: 0, patch: 2))
        #expect(KafkaVersion(hex: 0x021000ff) == KafkaVersion(major: 2, minor: 16, patch: 0))
    }

    @Test func ordersVersions() {
        #expect(KafkaVersion(major: 2, minor: 0, patch: 2) < KafkaLibrary.recommendedMinimum)
        #expect(!(KafkaVersion(major: 2, minor: 16, patch: 0) < KafkaLibrary.recommendedMinimum))
    }

    @Test func runtimeVersionStringMatchesDecodedVersion() {
        #expect(KafkaLibrary.versionString.hasPrefix(KafkaLibrary.version.description))
    }
}
