import Foundation
@testable import InferenceCore
import Testing

@Suite struct RolloutRecordTests {
    @Test func roundTripsThroughJSON() throws {
        var policy = RolloutPolicy(record: try RolloutFixtures.record(), deciderID: "w1")
        _ = policy.windowClosed(try RolloutFixtures.evidence(policy.record, index: 0, rows: 200), now: RolloutFixtures.t0)
        let data = try policy.record.jsonData()
        #expect(try RolloutRecord.decode(data) == policy.record)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["model_name"] as? String == "fraud")
        #expect((object["mode"] as? [String: Any])?["kind"] as? String == "shadow")
        #expect(object["state"] as? String == "running")
    }

    @Test func absentThresholdsTakeDefaultsAndNullSwitchesOneOff() throws {
        let json = #"{"min_records_per_window": 5, "max_output_psi": null}"#
        let t = try JSONDecoder().decode(RolloutThresholds.self, from: Data(json.utf8))
        #expect(t.minRecordsPerWindow == 5)
        #expect(t.maxOutputPSI == nil)
        #expect(t.maxFailureRate == RolloutThresholds().maxFailureRate)
        #expect(try JSONDecoder().decode(RolloutThresholds.self, from: JSONEncoder().encode(t)) == t)
    }

    @Test func aFractionOutsideZeroToOneIsRefusedWithItsField() {
        #expect {
            _ = try RolloutRecord(modelName: "m", primaryVersion: "1", candidateVersion: "2", mode: .canary(fraction: 1.5), now: RolloutFixtures.t0)
        } throws: { error in
            (error as? RolloutError)?.field == "mode.fraction" && (error as? RolloutError)?.code == .invalidField
        }
    }

    @Test func theCandidateMustDifferFromThePrimary() {
        #expect(throws: RolloutError.self) {
            _ = try RolloutRecord(modelName: "m", primaryVersion: "1", candidateVersion: "1", mode: .shadow(fraction: 0.1), now: RolloutFixtures.t0)
        }
    }

    @Test(arguments: ["not json", "{}", #"{"format":"rollout/9"}"#])
    func garbageOnTheTopicIsAClearErrorNotACrash(_ text: String) {
        #expect {
            _ = try RolloutRecord.decode(Data(text.utf8))
        } throws: { error in
            (error as? RolloutError)?.code == .malformed
        }
    }

    @Test func aRecordWithABadThresholdOnTheTopicIsRefused() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: RolloutFixtures.record().jsonData()) as? [String: Any])
        var thresholds = try #require(object["thresholds"] as? [String: Any])
        thresholds["max_failure_rate"] = 3
        object["thresholds"] = thresholds
        #expect {
            _ = try RolloutRecord.decode(JSONSerialization.data(withJSONObject: object))
        } throws: { error in
            (error as? RolloutError)?.field == "thresholds.max_failure_rate"
        }
    }

    @Test func windowsAreAlignedToTheirDuration() {
        let w = RolloutWindow(containing: 125_000, durationMs: 60_000)
        #expect(w.index == 2 && w.startMs == 120_000 && w.endMs == 180_000)
        #expect(RolloutWindow(containing: -1, durationMs: 60_000).index == -1)
        #expect(RolloutWindow(containing: 179_999, durationMs: 60_000) == w)
    }
}
