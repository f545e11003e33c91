import Foundation
@testable import InferenceCore
import Testing

@Suite struct RolloutKeyRouterTests {
    @Test func fnv1aMatchesPublishedVectors() {
        // Test vectors of the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv/).
        #expect(RolloutKeyRouter.fnv1a([UInt8]()) == 0xCBF2_9CE4_8422_2325)
        #expect(RolloutKeyRouter.fnv1a(Array("a".utf8)) == 0xAF63_DC4C_8601_EC8C)
        #expect(RolloutKeyRouter.fnv1a(Array("foobar".utf8)) == 0x8594_4171_F739_67E8)
    }

    @Test func aKeyStaysWithOneVersionAcrossRoutersAndReplicas() throws {
        let record = try RolloutFixtures.record(mode: .canary(fraction: 0.3))
        let decoded = try RolloutRecord.decode(try record.jsonData())
        let a = try #require(RolloutKeyRouter(record: record))
        let b = try #require(RolloutKeyRouter(record: decoded))
        var candidates = 0
        for i in 0..<2000 {
            let key = Array("customer-\(i)".utf8)
            let route = a.route(key: key)
            #expect(route == b.route(key: key))
            #expect(route == a.route(key: key))
            if route == .candidate { candidates += 1 }
        }
        #expect(candidates > 0 && candidates < 2000)
    }

    @Test(arguments: [0.0, 0.1, 0.5, 1.0])
    func theShareOfKeysFollowsTheFraction(_ fraction: Double) {
        let router = RolloutKeyRouter(mode: .canary(fraction: fraction), salt: "fraud@2/1")
        let n = 20_000
        let routed = (0..<n).filter { router.route(key: Array("key-\($0)".utf8)) == .candidate }.count
        let share = Double(routed) / Double(n)
        if fraction == 0 { #expect(routed == 0) } else if fraction == 1 { #expect(routed == n) } else {
            // Binomial standard deviation at n = 20000 is at most 0.0036; allow four.
            #expect(abs(share - fraction) < 0.015, "share \(share) for fraction \(fraction)")
        }
    }

    @Test func shadowSamplesKeysWithoutTakingThemFromThePrimary() {
        let router = RolloutKeyRouter(mode: .shadow(fraction: 0.5), salt: "s")
        let routes = Set((0..<200).map { router.route(key: Array("k\($0)".utf8)) })
        #expect(routes == [.primary, .primaryWithShadow])
    }

    /// Keyless records are routed by their position: the share follows the fraction, a position is
    /// routed the same way by every router of the roll-out (a record read again keeps its version),
    /// and the partition counts as well as the offset.
    @Test func keylessRecordsAreRoutedByPartitionAndOffset() {
        let router = RolloutKeyRouter(mode: .canary(fraction: 0.3), salt: "fraud@2/1")
        let again = RolloutKeyRouter(mode: .canary(fraction: 0.3), salt: "fraud@2/1")
        let positions = (0..<6).flatMap { partition in (0..<4000).map { (Int32(partition), Int64($0)) } }
        let routed = positions.filter { router.route(partition: $0.0, offset: $0.1) == .candidate }
        #expect(abs(Double(routed.count) / Double(positions.count) - 0.3) < 0.015, "\(routed.count) of \(positions.count)")
        #expect(positions.allSatisfy { router.route(partition: $0.0, offset: $0.1) == again.route(partition: $0.0, offset: $0.1) })
        let acrossPartitions = (0..<4000).filter { router.route(partition: 0, offset: Int64($0)) != router.route(partition: 1, offset: Int64($0)) }.count
        #expect(acrossPartitions > 1000, "one offset in two partitions is two records: \(acrossPartitions)")
        let shadow = RolloutKeyRouter(mode: .shadow(fraction: 0.5), salt: "s")
        #expect(Set((0..<200).map { shadow.route(partition: 0, offset: Int64($0)) }) == [.primary, .primaryWithShadow])
        let bytes = withUnsafeBytes(of: RolloutKeyRouter.position(partition: 1, offset: 2)) { Array($0) }
        #expect(bytes == [0, 0x70, 0x6F, 0x73, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])
        #expect(router.route(partition: 1, offset: 2) == router.route(key: bytes) && router.route(partition: 3, offset: 77) == router.route(key: [0, 0x70, 0x6F, 0x73, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 77]))
    }

    @Test func anotherRolloutDrawsOtherKeys() {
        let a = RolloutKeyRouter(mode: .canary(fraction: 0.5), salt: "fraud@2/1")
        let b = RolloutKeyRouter(mode: .canary(fraction: 0.5), salt: "fraud@3/2")
        let differing = (0..<1000).filter { a.route(key: Array("k\($0)".utf8)) != b.route(key: Array("k\($0)".utf8)) }.count
        #expect(differing > 300 && differing < 700)
    }

    @Test func noRouterOnceTheRolloutIsOver() throws {
        var policy = RolloutPolicy(record: try RolloutFixtures.record(), deciderID: "d")
        _ = try policy.abort(note: nil, by: "cli:test", now: RolloutFixtures.t0)
        #expect(RolloutKeyRouter(record: policy.record) == nil)
        #expect(policy.record.servingVersions == ["1"])
    }
}
