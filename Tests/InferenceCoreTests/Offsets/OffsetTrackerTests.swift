import InferenceCore
import Testing

@Suite struct OffsetTrackerTests {
    let p0 = KafkaTopicPartition(topic: "requests", partition: 0)
    let p1 = KafkaTopicPartition(topic: "requests", partition: 1)

    func o(_ value: Int64) -> KafkaOffset { KafkaOffset(value) }

    @Test func committableIsLowestInFlightElseHighestAcknowledgedPlusOne() throws {
        var tracker = OffsetTracker()
        #expect(tracker.committableOffset(for: p0) == nil)
        for offset: Int64 in 10...14 { try tracker.dispatch(o(offset), in: p0, bytes: 100) }
        #expect(tracker.committableOffset(for: p0) == o(10))
        try tracker.acknowledge(o(12), in: p0)
        try tracker.acknowledge(o(11), in: p0)
        #expect(tracker.committableOffset(for: p0) == o(10)) // 10 still in flight
        try tracker.acknowledge(o(10), in: p0)
        #expect(tracker.committableOffset(for: p0) == o(13))
        try tracker.acknowledge(o(14), in: p0)
        try tracker.acknowledge(o(13), in: p0)
        #expect(tracker.committableOffset(for: p0) == o(15))
        #expect(tracker.inFlight(for: p0) == 0)
        #expect(tracker.totalInFlight == 0)
        #expect(tracker.totalInFlightBytes == 0)
    }

    @Test func gapsInOffsetsAreSkipped() throws {
        var tracker = OffsetTracker()
        // Compaction removed 3-6; a transaction marker sits at 9.
        for offset: Int64 in [1, 2, 7, 8, 10] { try tracker.dispatch(o(offset), in: p0) }
        try tracker.acknowledge(o(1), in: p0)
        try tracker.acknowledge(o(2), in: p0)
        #expect(tracker.committableOffset(for: p0) == o(7))
        try tracker.acknowledge(o(10), in: p0)
        try tracker.acknowledge(o(8), in: p0)
        #expect(tracker.committableOffset(for: p0) == o(7))
        try tracker.acknowledge(o(7), in: p0)
        #expect(tracker.committableOffset(for: p0) == o(11))
    }

    @Test func countsRecordsAndBytesPerPartitionAndInTotal() throws {
        var tracker = OffsetTracker()
        try tracker.dispatch(o(0), in: p0, bytes: 10)
        try tracker.dispatch(o(1), in: p0, bytes: 20)
        try tracker.dispatch(o(5), in: p1, bytes: 40)
        #expect(tracker.inFlight(for: p0) == 2)
        #expect(tracker.inFlightBytes(for: p0) == 30)
        #expect(tracker.totalInFlight == 3)
        #expect(tracker.totalInFlightBytes == 70)
        try tracker.acknowledge(o(1), in: p0)
        #expect(tracker.inFlight(for: p0) == 1)
        #expect(tracker.inFlightBytes(for: p0) == 10)
        #expect(tracker.totalInFlight == 2)
        #expect(tracker.totalInFlightBytes == 50)
        #expect(tracker.peakInFlight == 3, "the peak stays after an acknowledgement")
        try tracker.dispatch(o(6), in: p1, bytes: 1)
        #expect(tracker.peakInFlight == 3)
        try tracker.dispatch(o(7), in: p1, bytes: 1)
        #expect(tracker.peakInFlight == 4)
        _ = tracker.revoke(p1)
        #expect(tracker.totalInFlight == 1)
        #expect(tracker.peakInFlight == 4, "and after a revocation")
    }

    @Test func aRecordNeverAcknowledgedHoldsItsPartitionBack() throws {
        var tracker = OffsetTracker()
        for offset in 0..<1000 { try tracker.dispatch(o(Int64(offset)), in: p0) }
        for offset in 1..<1000 { try tracker.acknowledge(o(Int64(offset)), in: p0) }
        // Offset 0's dead letter could not be written: nothing past it is ever committable.
        #expect(tracker.committableOffset(for: p0) == o(0))
        #expect(tracker.inFlight(for: p0) == 1)
        // Other partitions are not affected.
        try tracker.dispatch(o(3), in: p1)
        try tracker.acknowledge(o(3), in: p1)
        #expect(tracker.committableOffset(for: p1) == o(4))
    }

    @Test func revokeReturnsTheFinalOffsetAndDropsState() throws {
        var tracker = OffsetTracker()
        for offset in 0..<4 { try tracker.dispatch(o(Int64(offset)), in: p0, bytes: 5) }
        try tracker.dispatch(o(0), in: p1, bytes: 7)
        try tracker.acknowledge(o(0), in: p0)
        try tracker.acknowledge(o(1), in: p0)
        try tracker.acknowledge(o(3), in: p0)
        #expect(tracker.revoke(p0) == o(2))
        #expect(tracker.committableOffset(for: p0) == nil)
        #expect(tracker.inFlight(for: p0) == 0)
        #expect(tracker.totalInFlight == 1)
        #expect(tracker.totalInFlightBytes == 7)
        #expect(tracker.trackedPartitions == [p1])
        #expect(tracker.revoke(p0) == nil)
        // Reassigned later: it starts afresh, from any offset.
        try tracker.dispatch(o(0), in: p0)
        #expect(tracker.committableOffset(for: p0) == o(0))
    }

    @Test func contradictionsAreTypedErrorsAndChangeNothing() throws {
        var tracker = OffsetTracker()
        try tracker.dispatch(o(5), in: p0, bytes: 1)
        #expect(throws: OffsetTrackingError.self) { try tracker.dispatch(o(5), in: p0) }
        do {
            try tracker.dispatch(o(4), in: p0)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .notIncreasing)
            #expect(error.isFatal)
        }
        do { try tracker.acknowledge(o(6), in: p0); Issue.record("expected an error") } catch { #expect(error.code == .unknownOffset) }
        do { try tracker.acknowledge(o(0), in: p1); Issue.record("expected an error") } catch { #expect(error.code == .unknownOffset) }
        do { try tracker.dispatch(o(-1001), in: p0); Issue.record("expected an error") } catch { #expect(error.code == .invalidOffset) }
        try tracker.dispatch(o(6), in: p0)
        try tracker.acknowledge(o(6), in: p0)
        do { try tracker.acknowledge(o(6), in: p0); Issue.record("expected an error") } catch { #expect(error.code == .alreadyAcknowledged) }
        try tracker.acknowledge(o(5), in: p0)
        // 5 and 6 are now committable and forgotten: acknowledging again is unknown, not a crash.
        do { try tracker.acknowledge(o(5), in: p0); Issue.record("expected an error") } catch { #expect(error.code == .unknownOffset) }
        #expect(tracker.committableOffset(for: p0) == o(7))
        #expect(tracker.totalInFlight == 0)
    }

    @Test func topicsWithTheSameLengthAndPartitionStayApart() throws {
        // KafkaTopicPartition hashes only the partition and the topic's length: these collide on purpose.
        let a = KafkaTopicPartition(topic: "orders", partition: 1)
        let b = KafkaTopicPartition(topic: "titles", partition: 1)
        #expect(a.hashValue == b.hashValue)
        #expect(a != b)
        var tracker = OffsetTracker()
        try tracker.dispatch(o(10), in: a)
        try tracker.dispatch(o(20), in: b)
        try tracker.acknowledge(o(20), in: b)
        #expect(tracker.committableOffset(for: a) == o(10))
        #expect(tracker.committableOffset(for: b) == o(21))
        #expect(throws: OffsetTrackingError.self) { try tracker.acknowledge(o(20), in: a) }
    }

    @Test func takeAdvancedOffsetsReportsOnlyChanges() throws {
        var tracker = OffsetTracker()
        try tracker.dispatch(o(0), in: p0)
        try tracker.dispatch(o(0), in: p1)
        try tracker.acknowledge(o(0), in: p0)
        let first = tracker.takeAdvancedOffsets().sorted { $0.partition.partition < $1.partition.partition }
        #expect(first.map(\.partition) == [p0, p1])
        #expect(first.map(\.offset) == [o(1), o(0)])
        #expect(tracker.takeAdvancedOffsets().isEmpty)
        try tracker.acknowledge(o(0), in: p1)
        let second = tracker.takeAdvancedOffsets()
        #expect(second.map(\.partition) == [p1])
        #expect(second.map(\.offset) == [o(1)])
    }

    /// The obviously-correct model: a sorted set of in-flight offsets and the highest acknowledged.
    struct ReferenceModel {
        var inFlight: [KafkaTopicPartition: Set<Int64>] = [:]
        var highestDone: [KafkaTopicPartition: Int64] = [:]
        var bytes: [KafkaTopicPartition: [Int64: Int]] = [:]

        func committable(_ p: KafkaTopicPartition) -> KafkaOffset? {
            if let lowest = inFlight[p, default: []].min() { return KafkaOffset(lowest) }
            return highestDone[p].map { KafkaOffset($0 + 1) }
        }
    }

    @Test(arguments: [1, 2, 3, 42, 1234] as [UInt64])
    func randomisedAgainstAReferenceModel(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var tracker = OffsetTracker()
        var model = ReferenceModel()
        let partitions = (0..<3).map { KafkaTopicPartition(topic: "t", partition: KafkaPartition(Int32($0))) }
        var nextOffset: [KafkaTopicPartition: Int64] = [:]
        for _ in 0..<5_000 {
            let p = partitions.randomElement(using: &random)!
            let roll = Int.random(in: 0..<100, using: &random)
            if roll < 50 {
                // Dispatch, sometimes after a gap.
                let gap = Int64.random(in: 0..<10, using: &random) < 2 ? Int64.random(in: 1...5, using: &random) : 0
                let offset = nextOffset[p, default: 0] + gap
                nextOffset[p] = offset + 1
                let size = Int.random(in: 0...500, using: &random)
                try tracker.dispatch(KafkaOffset(offset), in: p, bytes: size)
                model.inFlight[p, default: []].insert(offset)
                model.bytes[p, default: [:]][offset] = size
            } else if roll < 97 {
                guard let offset = model.inFlight[p, default: []].randomElement(using: &random) else { continue }
                try tracker.acknowledge(KafkaOffset(offset), in: p)
                model.inFlight[p]!.remove(offset)
                model.bytes[p]![offset] = nil
                model.highestDone[p] = max(model.highestDone[p] ?? -1, offset)
            } else {
                let expected = model.committable(p)
                #expect(tracker.revoke(p) == expected)
                model.inFlight[p] = nil
                model.highestDone[p] = nil
                model.bytes[p] = nil
                // The next owner resumes from the committed offset (or anywhere: here, past the last dispatched).
            }
            #expect(tracker.committableOffset(for: p) == model.committable(p))
            #expect(tracker.inFlight(for: p) == model.inFlight[p, default: []].count)
            #expect(tracker.inFlightBytes(for: p) == model.bytes[p, default: [:]].values.reduce(0, +))
            #expect(tracker.totalInFlight == model.inFlight.values.reduce(0) { $0 + $1.count })
        }
    }
}

/// Slot-addressed calls, with the same fixtures.
extension OffsetTrackerTests {
    @Test func slotAddressedCallsAgreeWithPartitionAddressedOnes() throws {
        var tracker = OffsetTracker()
        let s0 = tracker.slot(for: p0)
        #expect(tracker.slot(for: p0) == s0)
        #expect(tracker.partition(at: s0) == p0)
        #expect(tracker.committableOffset(at: s0) == nil)
        #expect(tracker.inFlight(for: p0) == 0)
        try tracker.dispatch(o(5), at: s0, bytes: 10)
        try tracker.dispatch(o(6), in: p0, bytes: 20)
        #expect(tracker.inFlight(for: p0) == 2)
        #expect(tracker.totalInFlightBytes == 30)
        try tracker.acknowledge(o(6), at: s0)
        #expect(tracker.committableOffset(at: s0) == o(5))
        try tracker.acknowledge(o(5), in: p0)
        #expect(tracker.committableOffset(at: s0) == o(7))
        #expect(tracker.committableOffset(for: p0) == o(7))
        #expect(tracker.totalInFlight == 0)
        #expect(tracker.totalInFlightBytes == 0)
        #expect(throws: OffsetTrackingError.self) { try tracker.acknowledge(o(5), at: s0) }
        #expect(throws: OffsetTrackingError.self) { try tracker.dispatch(o(6), at: s0) }
        #expect(throws: OffsetTrackingError.self) { try tracker.dispatch(o(-1), at: s0) }
    }

    @Test func aRevokedSlotIsFreeAndReusedByTheNextNewPartition() throws {
        var tracker = OffsetTracker()
        let s0 = tracker.slot(for: p0)
        try tracker.dispatch(o(1), at: s0, bytes: 7)
        #expect(tracker.revoke(p0) == o(1))
        #expect(tracker.totalInFlight == 0)
        #expect(tracker.totalInFlightBytes == 0)
        #expect(tracker.partition(at: s0) == nil)
        #expect(tracker.committableOffset(at: s0) == nil)
        #expect(throws: OffsetTrackingError.self) { try tracker.acknowledge(o(1), at: s0) }
        #expect(throws: OffsetTrackingError.self) { try tracker.dispatch(o(2), at: s0) }
        let s1 = tracker.slot(for: p1)
        #expect(s1 == s0)
        #expect(tracker.partition(at: s1) == p1)
        // Fresh state: nothing of p0 carried over.
        #expect(tracker.committableOffset(at: s1) == nil)
        try tracker.dispatch(o(0), at: s1)
        #expect(tracker.inFlight(for: p1) == 1)
        #expect(tracker.inFlight(for: p0) == 0)
    }

    @Test func anOutOfRangeSlotHoldsNothing() {
        var tracker = OffsetTracker()
        _ = tracker.slot(for: p0)
        let bogus = OffsetTracker.Slot(index: 99)
        #expect(tracker.partition(at: bogus) == nil)
        #expect(tracker.committableOffset(at: bogus) == nil)
        #expect(throws: OffsetTrackingError.self) { try tracker.acknowledge(o(0), at: bogus) }
        #expect(throws: OffsetTrackingError.self) { try tracker.dispatch(o(0), at: bogus) }
    }
}
