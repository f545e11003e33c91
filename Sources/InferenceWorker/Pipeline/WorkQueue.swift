import Foundation
import Kafka

/// A consumed record handed from the poll thread to the scoring thread, with the ledger's ticket:
/// where its partition is tracked and the epoch of the partition assignment it was read in.
struct InboundRecord: Sendable {
    var message: KafkaConsumerMessage
    var ticket: PartitionLedger.Ticket
    /// When the consumer handed the record over (monotonic nanoseconds, one clock read per poll
    /// batch): the start of its processing latency.
    var consumedAtNanoseconds: UInt64
}

/// The hand-off between the consumer's poll thread and the scoring thread. Unbounded by itself:
/// the ``PartitionLedger``'s flow control bounds what is in flight (queued here included).
///
/// `@unchecked Sendable`: state guarded by `condition`'s lock.
final class WorkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var records: [InboundRecord] = []
    private var closed = false

    func append(contentsOf newRecords: [InboundRecord]) {
        condition.lock()
        records.append(contentsOf: newRecords)
        condition.signal()
        condition.unlock()
    }

    /// Takes everything queued, waiting until something arrives, `deadline` passes, or the queue
    /// is closed. Returns nil once closed and empty.
    func take(waitingUntil deadline: Date) -> [InboundRecord]? {
        condition.lock()
        defer { condition.unlock() }
        while records.isEmpty && !closed {
            if !condition.wait(until: deadline) { break }
        }
        if records.isEmpty { return closed ? nil : [] }
        defer { records.removeAll(keepingCapacity: true) }
        return records
    }

    /// Wakes the taker: it drains what is queued, then gets nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
