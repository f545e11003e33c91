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
        #expect(router.routeWithoutKey() == .primary)
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
