import Foundation
@testable import InferenceCore
import Testing

/// The join store as a plain value: every situation of issue 18 gives a clear, counted outcome.
@Suite struct PendingPredictionsTests {
    static let t0: Int64 = 1_800_000_000_000

    static func prediction(_ id: String, at t: Int64 = t0, version: String = "1", score: Float = 0.8) -> PendingPrediction {
        PendingPrediction(id: id, modelVersion: version, output: .binary(score: score, predictedPositive: score >= 0.5), predictionTimeMs: t)
    }

    static func label(_ id: String, _ value: LabelEvent.Value = .text("fraud")) -> LabelEvent { LabelEvent(id: id, value: value) }

    @Test func labelsJoinTheirPredictionsWhateverTheirOrder() throws {
        var store = PendingPredictions()
        for i in 0..<5 { #expect(store.insert(Self.prediction("r\(i)", at: Self.t0 + Int64(i)), partition: 0).outcome == .stored) }
        for i in [3, 0, 4, 1, 2] {
            guard case .joined(let example) = store.join(Self.label("r\(i)"), partition: 0, labelTimeMs: Self.t0 + 5000) else {
                Issue.record("r\(i) did not join"); continue
            }
            #expect(example.id == "r\(i)")
            #expect(example.delayMs == 5000 - Int64(i))
            #expect(example.prediction.modelVersion == "1")
        }
        #expect(store.pendingCount(partition: 0) == 0)
        #expect(store.pendingBytes(partition: 0) == 0, "bytes are given back on join")
        #expect(store.statistics.joined == 5)
    }

    @Test func aSecondLabelIsADuplicateAndAReprocessedPredictionIsIgnored() {
        var store = PendingPredictions()
        _ = store.insert(Self.prediction("a"), partition: 1)
        #expect(store.insert(Self.prediction("a", score: 0.1), partition: 1).outcome == .duplicate, "the first prediction stands")
        guard case .joined(let example) = store.join(Self.label("a"), partition: 1, labelTimeMs: Self.t0) else { Issue.record("no join"); return }
        #expect(example.prediction.output == .binary(score: 0.8, predictedPositive: true))
        #expect(store.join(Self.label("a", .text("legit")), partition: 1, labelTimeMs: Self.t0) == .duplicateLabel)
        #expect(store.insert(Self.prediction("a"), partition: 1).outcome == .duplicate, "re-processed after it was labelled: not stored again")
        #expect(store.pendingCount(partition: 1) == 0)
        #expect(store.statistics.duplicateLabels == 1 && store.statistics.duplicatePredictions == 2)
    }

    @Test func labelsBeforeTheirPredictionsAreHeldThenJoinedOrExpiredAsUnknown() {
        var store = PendingPredictions(configuration: .init(maxEarlyLabels: 2, maxEarlyLabelAge: .seconds(10)))
        #expect(store.join(Self.label("early"), partition: 0, labelTimeMs: Self.t0) == .heldEarly)
        #expect(store.join(Self.label("early"), partition: 0, labelTimeMs: Self.t0) == .unknownID, "a second early label for the same id")
        let (outcome, evicted) = store.insert(Self.prediction("early", at: Self.t0 + 200), partition: 0)
        guard case .joinedEarlyLabel(let example) = outcome else { Issue.record("\(outcome)"); return }
        #expect(evicted.isEmpty)
        #expect(example.delayMs == -200, "the label came first")
        #expect(store.pendingCount(partition: 0) == 0)

        #expect(store.join(Self.label("x1"), partition: 0, labelTimeMs: Self.t0) == .heldEarly)
        #expect(store.join(Self.label("x2"), partition: 0, labelTimeMs: Self.t0 + 5000) == .heldEarly)
        #expect(store.join(Self.label("x3"), partition: 0, labelTimeMs: Self.t0 + 6000) == .heldEarly)
        #expect(store.statistics.earlyLabelsDropped == 1, "the hold holds 2: x1 dropped")
        #expect(store.earlyLabelCount(partition: 0) == 2)
        _ = store.expire(nowMs: Self.t0 + 15_500)
        #expect(store.statistics.unknownIDs == 2, "the duplicate early label and x2 (held > 10 s); x3 still waits")
        #expect(store.earlyLabelCount(partition: 0) == 1)
        _ = store.expire(nowMs: Self.t0 + 16_001)
        #expect(store.statistics.unknownIDs == 3)
        #expect(store.statistics.joinedEarly == 1)
    }

    @Test func withoutAnEarlyHoldAnUnknownIDIsCountedAtOnce() {
        var store = PendingPredictions(configuration: .init(maxEarlyLabels: 0))
        #expect(store.join(Self.label("nobody"), partition: 3, labelTimeMs: Self.t0) == .unknownID)
        #expect(store.statistics.unknownIDs == 1)
        _ = store.insert(Self.prediction("p"), partition: 3)
        #expect(store.join(Self.label("p"), partition: 4, labelTimeMs: Self.t0) == .unknownID, "another partition's store")
    }

    @Test func overflowEvictsTheOldestByCountThenBytesAndLateLabelsSaySo() throws {
        var store = PendingPredictions(configuration: .init(maxPredictions: 3))
        for i in 0..<3 { _ = store.insert(Self.prediction("c\(i)"), partition: 0) }
        let (outcome, evicted) = store.insert(Self.prediction("c3"), partition: 0)
        #expect(outcome == .stored)
        #expect(evicted.map(\.prediction.id) == ["c0"] && evicted.map(\.cause) == [.count])
        #expect(store.pending(partition: 0).map(\.id) == ["c1", "c2", "c3"])
        #expect(store.join(Self.label("c0"), partition: 0, labelTimeMs: Self.t0) == .lateLabel(evictedBy: .count))

        let one = Self.prediction("b0").estimatedBytes
        var byBytes = PendingPredictions(configuration: .init(maxBytes: 1024))
        var evictedByBytes: [PendingPredictions.Eviction] = []
        for i in 0..<20 { evictedByBytes += byBytes.insert(Self.prediction("b\(i)"), partition: 0).evicted }
        #expect(byBytes.pendingBytes(partition: 0) <= 1024)
        #expect(byBytes.pendingCount(partition: 0) == 1024 / one)
        #expect(evictedByBytes.count == 20 - 1024 / one && evictedByBytes.allSatisfy { $0.cause == .bytes })
        #expect(byBytes.statistics.evicted[.bytes] == evictedByBytes.count)
    }

    @Test func agedPredictionsAreEvictedOldestFirst() {
        var store = PendingPredictions(configuration: .init(maxAge: .seconds(60)))
        for i in 0..<4 { _ = store.insert(Self.prediction("t\(i)", at: Self.t0 + Int64(i) * 20_000), partition: 2) }
        #expect(store.expire(nowMs: Self.t0 + 60_000).isEmpty, "exactly maxAge old: still waiting")
        let evicted = store.expire(nowMs: Self.t0 + 81_000)
        #expect(evicted.map(\.prediction.id) == ["t0", "t1"])
        #expect(evicted.allSatisfy { $0.cause == .age })
        #expect(store.join(Self.label("t1"), partition: 2, labelTimeMs: Self.t0 + 90_000) == .lateLabel(evictedBy: .age))
        #expect(store.statistics.lateLabels == 1 && store.statistics.evicted[.age] == 2)
    }

    @Test func aRevokedPartitionIsForgottenAndARestartRebuildsWhatWasPending() throws {
        // Before the restart: 6 predictions; labels for p1 and p4 were joined and committed.
        var before = PendingPredictions(configuration: .init(maxAge: .seconds(3600)))
        let made = (0..<6).map { Self.prediction("p\($0)", at: Self.t0 + Int64($0) * 1000) }
        for p in made { _ = before.insert(p, partition: 5) }
        for id in ["p1", "p4"] { _ = before.join(Self.label(id), partition: 5, labelTimeMs: Self.t0 + 10_000) }
        #expect(before.revoke(partition: 5) == 4)
        #expect(before.pendingCount == 0 && before.statistics.revoked == 4)

        // The new owner reads the output topic back (with one prediction written twice, and one
        // already too old) and the committed labels, and gets the same pending set.
        let old = Self.prediction("ancient", at: Self.t0 - 4_000_000)
        var after = PendingPredictions(configuration: .init(maxAge: .seconds(3600)))
        let summary = after.rebuild(partition: 5, predictions: [old] + made + [made[2]], settledIDs: ["p1", "p4"], nowMs: Self.t0 + 20_000)
        #expect(summary == .init(restored: 4, alreadySettled: 2, tooOld: 1, duplicates: 1, evicted: 0))
        #expect(after.pending(partition: 5).map(\.id) == ["p0", "p2", "p3", "p5"])
        guard case .joined(let example) = after.join(Self.label("p3"), partition: 5, labelTimeMs: Self.t0 + 30_000) else { Issue.record("no join"); return }
        #expect(example.delayMs == 27_000, "the delay is measured from the original prediction time")
        #expect(after.join(Self.label("p1"), partition: 5, labelTimeMs: Self.t0 + 30_000) == .duplicateLabel, "a committed label re-sent")
    }

    @Test func predictionsReadBackFromTheOutputTopicDecodeAsDocumented() throws {
        let labels: (String) -> [String]? = { $0 == "2024-06-01" ? ["legit", "fraud"] : $0 == "3" ? ["a", "b", "c"] : nil }
        let binary = #"{"id":"txn-0001","model":{"name":"fraud","version":"2024-06-01"},"outputs":{"score":0.93,"label":"fraud"},"source":{"topic":"payments.requests","partition":3,"offset":1842},"event_time":1718000000000,"processing_time":1718000000012}"#
        let (p, source) = try PendingPrediction.decodePredictionEvent(Array(binary.utf8), labels: labels)
        #expect(p == PendingPrediction(id: "txn-0001", modelVersion: "2024-06-01", output: .binary(score: 0.93, predictedPositive: true), predictionTimeMs: 1_718_000_000_012, sourceOffset: 1842))
        #expect(source == PredictionEventSource(topic: "payments.requests", partition: 3, offset: 1842))
        let multiclass = #"{"id":"42","model":{"name":"intent","version":"3"},"outputs":{"label":"b","probabilities":{"c":0.2,"a":0.1,"b":0.7}},"source":{"topic":"chat.requests","partition":0,"offset":7},"event_time":null,"processing_time":1718000000012}"#
        #expect(try PendingPrediction.decodePredictionEvent(Array(multiclass.utf8), labels: labels).prediction.output == .multiclass(probabilities: [0.1, 0.7, 0.2], predictedIndex: 1))
        let regression = #"{"id":"payments.requests-3-1843","model":{"name":"basket-value","version":"7"},"outputs":{"score":57.25},"source":{"topic":"payments.requests","partition":3,"offset":1843},"event_time":1718000000001,"processing_time":1718000000012}"#
        #expect(try PendingPrediction.decodePredictionEvent(Array(regression.utf8), labels: labels).prediction.output == .regression(score: 57.25))
        let unknownVersion = multiclass.replacingOccurrences(of: "\"version\":\"3\"", with: "\"version\":\"9\"")
        #expect(throws: PredictionEventDecodingError.self) { try PendingPrediction.decodePredictionEvent(Array(unknownVersion.utf8), labels: labels) }
        #expect(throws: PredictionEventDecodingError.self) { try PendingPrediction.decodePredictionEvent(Array("{}".utf8), labels: labels) }
        #expect(throws: PredictionEventDecodingError.self) { try PendingPrediction.decodePredictionEvent(Array("not json".utf8), labels: labels) }
    }

    @Test func coPartitioningIsCheckedWithAFixInTheMessage() throws {
        try LabelTopicCoPartitioning.check(requestTopic: "requests", requestPartitions: 6, labelsTopic: "labels", labelPartitions: 6)
        let error = #expect(throws: ConfigurationValidationError.self) {
            try LabelTopicCoPartitioning.check(requestTopic: "requests", requestPartitions: 6, labelsTopic: "labels", labelPartitions: 3)
        }
        #expect(error?.message.contains("repartition labels to 6 partitions") == true)
        #expect(error?.isFatal == true)
    }

    @Test func theStoreStaysBoundedUnderChurnWithAnOldEntryPinned() {
        // One old prediction never labelled while 50,000 others come and go: memory follows the live set.
        var store = PendingPredictions(configuration: .init(maxPredictions: 100, rememberedSettledIDs: 10))
        _ = store.insert(Self.prediction("pinned"), partition: 0)
        for i in 0..<50_000 {
            _ = store.insert(Self.prediction("c\(i)"), partition: 0)
            _ = store.join(Self.label("c\(i)"), partition: 0, labelTimeMs: Self.t0)
        }
        #expect(store.pending(partition: 0).map(\.id) == ["pinned"])
        #expect(store.statistics.joined == 50_000)
        #expect(store.join(Self.label("c0"), partition: 0, labelTimeMs: Self.t0) == .heldEarly, "settled ids are remembered only up to the bound")
    }
}
