import CKafkaShim
import Logging
import Synchronization

/// Each assigned partition's records on a queue of its own: librdkafka's fetch queue for the
/// partition, taken off the consumer queue (`rd_kafka_queue_get_partition` +
/// `rd_kafka_queue_forward(queue, NULL)`), so that the consumer can stop handing over one
/// partition's records without pausing its fetcher.
///
/// Why not `rd_kafka_pause_partitions`: pausing drops what was prefetched, and after a resume
/// librdkafka's broker thread starts fetching again only on its next wake-up; measured with
/// librdkafka 2.16 against Tansu, every pause/resume cycle left the fetcher idle for ~1 s. A held
/// partition here keeps its prefetched records (librdkafka stops fetching it once its queue holds
/// `queued.min.messages` records or `queued.max.messages.kbytes`, and fetches again within
/// `fetch.queue.backoff.ms` of it draining), and they are handed over the moment it is released.
///
/// The split happens in the rebalance callback *before* the partitions are assigned: librdkafka
/// then never forwards them to the consumer queue (the queue carries its "forwarded by the
/// application" flag), so no record of a split partition can be on both queues.
///
/// Threads: ``split(_:_:)``, ``remove(_:)`` and ``read(into:capacity:)`` run on the consumer's
/// polling thread only (the rebalance callback runs there too); ``hold(_:)`` and ``release(_:)``
/// from any thread. `@unchecked Sendable` for that reason: `entries` and `cursor` are confined to
/// the polling thread, `held` is behind a mutex, the waker is thread-safe.
final class PartitionQueues: @unchecked Sendable {
    private struct Entry {
        let partition: KafkaTopicPartition
        let queue: OpaquePointer
    }

    /// Signalled when any partition queue (or the consumer queue) goes from empty to non-empty,
    /// and when a held partition is released.
    let waker: OpaquePointer
    private var entries: [Entry] = []
    private var cursor = 0
    private let held = Mutex<Set<KafkaTopicPartition>>([])
    private let logger: Logger

    init(logger: Logger) {
        guard let waker = shim_waker_new() else { fatalError("out of memory allocating the consumer's waker") }
        self.waker = waker
        self.logger = logger
    }

    /// The polling thread removes every queue before it ends (``removeAll()``, while the client is
    /// still alive); only the waker is left to free.
    deinit {
        shim_waker_free(waker)
    }

    /// Takes the listed partitions' fetch queues off the consumer queue. Call before assigning them.
    func split(_ rk: OpaquePointer, _ list: UnsafePointer<rd_kafka_topic_partition_list_t>) {
        for element in RDKafkaPartitionList.elements(list) {
            let partition = KafkaTopicPartition(topic: String(cString: element.topic), partition: KafkaPartition(element.partition))
            remove([partition])
            guard let queue = rd_kafka_queue_get_partition(rk, element.topic, element.partition) else {
                // Cannot happen for an assigned partition; if it did, its records would simply
                // come on the consumer queue, and could not be held back.
                logger.warning("no partition queue; its records come on the consumer queue", metadata: ["kafka.partition": "\(partition)"])
                continue
            }
            rd_kafka_queue_forward(queue, nil)
            shim_queue_set_waker(queue, waker)
            entries.append(Entry(partition: partition, queue: queue))
        }
        // Records may already be waiting (a partition assigned back to this member).
        shim_waker_signal(waker)
    }

    /// Drops the queues of partitions no longer assigned (their unread records are fetched again
    /// by whoever owns the partitions next).
    func remove(_ partitions: [KafkaTopicPartition]) {
        guard !partitions.isEmpty else { return }
        entries.removeAll { entry in
            guard partitions.contains(entry.partition) else { return false }
            shim_queue_set_waker(entry.queue, nil)
            rd_kafka_queue_destroy(entry.queue)
            return true
        }
        held.withLock { held in for partition in partitions { held.remove(partition) } }
    }

    func removeAll() {
        remove(entries.map(\.partition))
    }

    /// Moves up to `capacity` records into `buffer` without waiting, from the partitions not held
    /// back, starting one partition further each call so that no partition starves the others.
    /// Returns how many were moved.
    func read(into buffer: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>, capacity: Int) -> Int {
        let count = entries.count
        guard count > 0, capacity > 0 else { return 0 }
        let held = self.held.withLock { $0 }
        var n = 0
        for i in 0..<count where n < capacity {
            let entry = entries[(cursor + i) % count]
            if !held.isEmpty && held.contains(entry.partition) { continue }
            let got = rd_kafka_consume_batch_queue(entry.queue, 0, buffer + n, capacity - n)
            if got > 0 { n += got }
        }
        cursor = (cursor + 1) % count
        return n
    }

    /// Stops handing over these partitions' records (they stay queued in librdkafka).
    func hold(_ partitions: [KafkaTopicPartition]) {
        held.withLock { held in for partition in partitions { held.insert(partition) } }
    }

    /// Hands these partitions' records over again, starting with what was queued meanwhile.
    func release(_ partitions: [KafkaTopicPartition]) {
        held.withLock { held in for partition in partitions { held.remove(partition) } }
        shim_waker_signal(waker)
    }

    /// Partitions currently held back.
    var heldPartitions: Set<KafkaTopicPartition> { held.withLock { $0 } }
}
