@testable import InferenceWorker
import Testing

/// ``LabelCommitGate`` as a plain value: what may be committed of each labels partition.
@Suite struct LabelCommitGateTests {
    @Test func handledLabelsAreCommittableUpToTheNextOffset() {
        var gate = LabelCommitGate(holdMs: 1000)
        gate.handled(partition: 0, offset: 4, id: "a", heldEarly: false, nowMs: 0)
        gate.handled(partition: 0, offset: 5, id: nil, heldEarly: false, nowMs: 0)
        gate.handled(partition: 2, offset: 9, id: "b", heldEarly: false, nowMs: 0)
        #expect(gate.checkpoint() == [0: 6, 2: 10])
    }

    @Test func aLabelHeldEarlyHoldsItsPartitionBackUntilItJoinsOrExpires() {
        var gate = LabelCommitGate(holdMs: 1000)
        gate.handled(partition: 1, offset: 10, id: "early", heldEarly: true, nowMs: 0)
        gate.handled(partition: 1, offset: 11, id: "x", heldEarly: false, nowMs: 0)
        gate.handled(partition: 1, offset: 12, id: "later", heldEarly: true, nowMs: 500)
        #expect(gate.checkpoint() == [1: 10])
        gate.joinedEarly(partition: 1, id: "early")
        #expect(gate.checkpoint() == [1: 12])
        gate.expire(nowMs: 1000) // "later" held 500 ms: kept
        #expect(gate.checkpoint() == [1: 12])
        gate.expire(nowMs: 1501)
        #expect(gate.checkpoint() == [1: 13])
    }

    @Test func aForgottenPartitionHasNoCheckpoint() {
        var gate = LabelCommitGate(holdMs: 1000)
        gate.handled(partition: 3, offset: 0, id: "a", heldEarly: true, nowMs: 0)
        gate.forget(partition: 3)
        #expect(gate.checkpoint().isEmpty)
    }
}
