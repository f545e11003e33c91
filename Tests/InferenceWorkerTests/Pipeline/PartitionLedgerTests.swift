import Foundation
import InferenceCore
import Kafka
import Synchronization
import Testing

@testable import InferenceWorker

@Suite struct PartitionLedgerTests {
    let p0 = KafkaTopicPartition(topic: "requests", partition: 0)
    let p1 = KafkaTopicPartition(topic: "requests", partition: 1)
    let other = KafkaTopicPartition(topic: "other", partition: 0)

    final class FlowLog: Sendable {
        let actions = Mutex<[FlowControl.Action]>([])
    }

    func ledger(maxRecords: Int = 1000, log: FlowLog = FlowLog()) -> LoggedLedger {
        LoggedLedger(PartitionLedger(flow: FlowControl(maxRecords: maxRecords, maxBytes: 1 << 30, resumeFraction: 0.5)), log: log)
    }

    func records(_ partition: KafkaTopicPartition, _ offsets: ClosedRange<Int64>, bytes: Int = 10) -> [(topic: String, partition: Int32, offset: Int64, bytes: Int)] {
        offsets.map { (partition.topic, partition.partition.rawValue, $0, bytes) }
    }

    @Test func acknowledgedOffsetsAreStoredNeverPastARecordInFlight() throws {
        let ledger = ledger()
        ledger.assign([p0, p1])
        let t0 = ledger.dispatch(records(p0, 10...12) + records(p1, 0...1))
        #expect(t0.allSatisfy { $0 != nil })
        #expect(ledger.inFlight.records == 5)
        #expect(ledger.inFlight.bytes == 50)
        ledger.acknowledge(t0[1]!, offset: KafkaOffset(11))
        #expect(ledger.takeOffsetsToStore().isEmpty) // 10 still in flight
        ledger.acknowledge(t0[0]!, offset: KafkaOffset(10))
        ledger.acknowledge(t0[4]!, offset: KafkaOffset(1))
        #expect(ledger.takeOffsetsToStore() == [p0: KafkaOffset(12)])
        #expect(ledger.takeOffsetsToStore().isEmpty) // nothing moved since
        ledger.acknowledge(t0[3]!, offset: KafkaOffset(0))
        ledger.acknowledge(t0[2]!, offset: KafkaOffset(12))
        #expect(ledger.takeOffsetsToStore() == [p0: KafkaOffset(13), p1: KafkaOffset(2)])
        #expect(ledger.inFlight.records == 0)
        #expect(ledger.inFlight.bytes == 0)
    }

    @Test func recordsOfUnassignedPartitionsGetNoTicket() {
        let ledger = ledger()
        ledger.assign([p0])
        let tickets = ledger.dispatch(records(p0, 0...0) + records(other, 0...1) + records(p0, 1...1))
        #expect(tickets[0] != nil)
        #expect(tickets[1] == nil)
        #expect(tickets[2] == nil)
        #expect(tickets[3] != nil)
        #expect(ledger.inFlight.records == 2)
        // A redelivery below the window (after a seek) is not dispatched twice.
        #expect(ledger.dispatch(records(p0, 1...1)) == [nil])
    }

    @Test func aStaleTicketNeitherChecksNorAcknowledgesAfterReassignment() throws {
        let ledger = ledger()
        ledger.assign([p0])
        let old = try #require(ledger.dispatch(records(p0, 0...0))[0])
        #expect(ledger.isCurrent(old))
        #expect(ledger.release([p0]) == [p0: KafkaOffset(0)]) // its record still in flight
        #expect(!ledger.isCurrent(old))
        ledger.assign([p0])
        #expect(!ledger.isCurrent(old))
        let new = try #require(ledger.dispatch(records(p0, 0...0))[0])
        #expect(new.epoch != old.epoch)
        ledger.acknowledge(old, offset: KafkaOffset(0)) // the old assignment's outcome: ignored
        #expect(ledger.inFlight.records == 1)
        #expect(ledger.takeOffsetsToStore().isEmpty)
        ledger.acknowledge(new, offset: KafkaOffset(0))
        #expect(ledger.takeOffsetsToStore() == [p0: KafkaOffset(1)])
    }

    @Test func aReusedSlotDoesNotLetAnotherPartitionsTicketThrough() throws {
        let ledger = ledger()
        ledger.assign([p0])
        let old = try #require(ledger.dispatch(records(p0, 5...5))[0])
        ledger.release([p0])
        ledger.assign([p1]) // takes the freed slot
        let new = try #require(ledger.dispatch(records(p1, 5...5))[0])
        #expect(new.slot == old.slot)
        ledger.acknowledge(old, offset: KafkaOffset(5))
        #expect(ledger.inFlight.records == 1)
        #expect(ledger.takeOffsetsToStore().isEmpty)
        #expect(ledger.assigned == [p1])
    }

    @Test func releaseReturnsFinalOffsetsAndDropsPendingStores() throws {
        let ledger = ledger()
        ledger.assign([p0, p1])
        let tickets = ledger.dispatch(records(p0, 0...2) + records(p1, 0...0))
        ledger.acknowledge(tickets[0]!, offset: KafkaOffset(0))
        ledger.acknowledge(tickets[3]!, offset: KafkaOffset(0))
        #expect(ledger.release([p0]) == [p0: KafkaOffset(1)])
        #expect(ledger.inFlight.records == 0) // p0: two forgotten (redelivered to the next owner)
        #expect(ledger.takeOffsetsToStore() == [p1: KafkaOffset(1)]) // p0's pending store is dropped
        #expect(ledger.assigned == [p1])
    }

    @Test func waitUntilDrainedReturnsOnceTheLastRecordIsAcknowledged() async throws {
        let ledger = ledger()
        ledger.assign([p0])
        let ticket = try #require(ledger.dispatch(records(p0, 0...0))[0])
        #expect(ledger.waitUntilDrained([p0], deadline: Date()) == 1)
        let waiter = Thread { ledger.acknowledge(ticket, offset: KafkaOffset(0)) }
        waiter.start()
        #expect(ledger.waitUntilDrained([p0], deadline: Date(timeIntervalSinceNow: 30)) == 0)
    }

    @Test func flowControlPausesAtTheMaximumAndResumesBelowTheFraction() throws {
        let log = FlowLog()
        let ledger = ledger(maxRecords: 4, log: log)
        ledger.assign([p0])
        let tickets = ledger.dispatch(records(p0, 0...3))
        #expect(ledger.isPaused)
        #expect(log.actions.withLock { $0 } == [.pause])
        ledger.acknowledge(tickets[0]!, offset: KafkaOffset(0))
        #expect(ledger.isPaused)
        ledger.acknowledge(tickets[1]!, offset: KafkaOffset(1))
        #expect(!ledger.isPaused)
        #expect(log.actions.withLock { $0 } == [.pause, .resume])
    }
}

@Suite struct PartitionLedgerCurrentTicketCacheTests {
    let p0 = KafkaTopicPartition(topic: "requests", partition: 0)
    let p1 = KafkaTopicPartition(topic: "requests", partition: 1)

    @Test func theCachedAnswerFollowsEveryAssignmentChange() throws {
        let ledger = LoggedLedger(PartitionLedger(flow: FlowControl(maxRecords: 100, maxBytes: 1 << 30, resumeFraction: 0.5)), log: .init())
        var cache = PartitionLedger.CurrentTicketCache()
        ledger.assign([p0, p1])
        let tickets = ledger.dispatch([(topic: "requests", partition: Int32(0), offset: Int64(0), bytes: 1), (topic: "requests", partition: Int32(1), offset: Int64(0), bytes: 1)])
        let t0 = try #require(tickets[0]), t1 = try #require(tickets[1])
        #expect(ledger.isCurrent(t0, cache: &cache))
        #expect(ledger.isCurrent(t0, cache: &cache))
        #expect(ledger.isCurrent(t1, cache: &cache))
        ledger.release([p0])
        #expect(!ledger.isCurrent(t0, cache: &cache))
        #expect(ledger.isCurrent(t1, cache: &cache))
        ledger.release([p1])
        #expect(!ledger.isCurrent(t1, cache: &cache), "a cached 'current' does not survive a release")
        ledger.assign([p1])
        #expect(!ledger.isCurrent(t1, cache: &cache), "nor a reassignment (new epoch)")
        let again = try #require(ledger.dispatch([(topic: "requests", partition: Int32(1), offset: Int64(1), bytes: 1)])[0])
        #expect(ledger.isCurrent(again, cache: &cache))
        #expect(ledger.isCurrent(again) == ledger.isCurrent(again, cache: &cache))
    }
}

/// The ledger as the pipeline drives it: every flow decision it returns is logged (in the order
/// returned) and the test reads the log, as the pipeline's ``FlowGate`` applies them.
struct LoggedLedger {
    let ledger: PartitionLedger
    let log: PartitionLedgerTests.FlowLog

    init(_ ledger: PartitionLedger, log: PartitionLedgerTests.FlowLog) {
        self.ledger = ledger
        self.log = log
    }

    private func record(_ decision: PartitionLedger.FlowDecision?) {
        if let decision { log.actions.withLock { $0.append(decision.action) } }
    }

    func assign(_ partitions: [KafkaTopicPartition]) { record(ledger.assign(partitions)) }
    func dispatch(_ records: [(topic: String, partition: Int32, offset: Int64, bytes: Int)]) -> [PartitionLedger.Ticket?] {
        let (tickets, flow) = ledger.dispatch(records)
        record(flow)
        return tickets
    }
    func acknowledge(_ ticket: PartitionLedger.Ticket, offset: KafkaOffset) { record(ledger.acknowledge(ticket, offset: offset)) }
    @discardableResult
    func release(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        let (offsets, flow) = ledger.release(partitions)
        record(flow)
        return offsets
    }
    func takeOffsetsToStore() -> [KafkaTopicPartition: KafkaOffset] { ledger.takeOffsetsToStore() }
    func waitUntilDrained(_ partitions: [KafkaTopicPartition], deadline: Date) -> Int { ledger.waitUntilDrained(partitions, deadline: deadline) }
    func isCurrent(_ ticket: PartitionLedger.Ticket) -> Bool { ledger.isCurrent(ticket) }
    func isCurrent(_ ticket: PartitionLedger.Ticket, cache: inout PartitionLedger.CurrentTicketCache) -> Bool { ledger.isCurrent(ticket, cache: &cache) }
    var inFlight: (records: Int, bytes: Int) { ledger.inFlight }
    var isPaused: Bool { ledger.isPaused }
    var assigned: [KafkaTopicPartition] { ledger.assigned }
}

@Suite struct FlowGateTests {
    final class Recorder: DeliveryControl {
        let held = Mutex<Set<KafkaTopicPartition>>([])
        func suspendDelivery(of partitions: [KafkaTopicPartition]) { held.withLock { $0.formUnion(partitions) } }
        func resumeDelivery(of partitions: [KafkaTopicPartition]) { held.withLock { $0.subtract(partitions) } }
    }

    let p0 = KafkaTopicPartition(topic: "requests", partition: 0)

    @Test func aStalePauseArrivingAfterTheResumeThatFollowedItIsIgnored() {
        // Decided on two threads: pause (1) then resume (2); the resume reaches the gate first.
        let consumer = Recorder()
        let gate = FlowGate(counters: PipelineCounters())
        gate.apply(.init(action: .resume, partitions: [p0], sequence: 2), to: consumer)
        gate.apply(.init(action: .pause, partitions: [p0], sequence: 1), to: consumer)
        #expect(consumer.held.withLock { $0 }.isEmpty, "delivery is not left suspended")
        gate.apply(.init(action: .pause, partitions: [p0], sequence: 3), to: consumer)
        #expect(consumer.held.withLock { $0 } == [p0])
    }

    @Test func theLedgersDecisionsCarryIncreasingSequenceNumbersAndEveryAssignedPartition() throws {
        let ledger = PartitionLedger(flow: FlowControl(maxRecords: 2, maxBytes: 1 << 30, resumeFraction: 0.5))
        #expect(ledger.assign([p0]) == nil)
        let (tickets, pause) = ledger.dispatch([(topic: "requests", partition: Int32(0), offset: Int64(0), bytes: 1), (topic: "requests", partition: Int32(0), offset: Int64(1), bytes: 1)])
        let p1 = KafkaTopicPartition(topic: "requests", partition: 1)
        let assignedWhilePaused = try #require(ledger.assign([p1]))
        #expect(pause?.action == .pause && pause?.partitions == [p0])
        #expect(assignedWhilePaused.action == .pause && Set(assignedWhilePaused.partitions) == [p0, p1])
        let resume = try #require(ledger.acknowledge(tickets[0]!, offset: KafkaOffset(0)))
        #expect(resume.action == .resume)
        #expect(pause!.sequence < assignedWhilePaused.sequence && assignedWhilePaused.sequence < resume.sequence)
    }
}
