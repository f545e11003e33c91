import CKafkaShim
import Foundation
public import Logging
import Synchronization

/// Every record of a topic from its first offset up to its end as of the call: for reading a
/// compacted topic (the roll-out records, `inference-rollouts`) as a table.
///
/// Reads without a consumer group (manual assignment, nothing committed), so it never joins or
/// disturbs a group and always starts at the beginning. "The end" is each partition's high
/// watermark when the read starts; records written later are not waited for.
public struct KafkaTopicSnapshot: Sendable {
    /// One record of the snapshot.
    public struct Record: Sendable, Hashable {
        /// Its partition.
        public var partition: KafkaPartition
        /// Its offset.
        public var offset: KafkaOffset
        /// Its key, if any.
        public var key: [UInt8]?
        /// Its value; `nil` for a tombstone.
        public var value: [UInt8]?
        /// Its timestamp in ms since the epoch, if the broker has one.
        public var timestampMilliseconds: Int64?
    }

    /// The topic read.
    public var topic: String
    /// Its records, partition by partition, each in offset order.
    public var records: [Record]

    /// The latest value of each key (the table a compacted topic stands for): a later record
    /// replaces an earlier one, a tombstone removes the key. Keys are compared as bytes; keyless
    /// records are left out. Within one key, "later" means a higher offset of the same partition
    /// (a key always hashes to one partition).
    public var latestByKey: [[UInt8]: Record] {
        var table: [[UInt8]: Record] = [:]
        for record in records {
            guard let key = record.key else { continue }
            if record.value == nil { table[key] = nil } else { table[key] = record }
        }
        return table
    }

    /// Reads `topic` from the beginning to its current end.
    ///
    /// Runs on a thread of its own (librdkafka's calls block), so it can be awaited from the
    /// cooperative pool.
    ///
    /// - Parameters:
    ///   - bootstrapServers: `host:port` of one or more brokers.
    ///   - additionalProperties: raw librdkafka properties (security settings), applied last.
    ///   - timeout: the most time the whole read may take.
    /// - Throws: ``KafkaError`` when the topic does not exist (`unknownTopicOrPartition`), the
    ///   cluster does not answer, or the read does not reach the end within `timeout` (`timedOut`).
    public static func read(
        topic: String, bootstrapServers: [String], additionalProperties: [String: String] = [:],
        timeout: Duration = .seconds(30), logger: Logger
    ) async throws(KafkaError) -> KafkaTopicSnapshot {
        let outcome: Result<KafkaTopicSnapshot, KafkaError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try readBlocking(
                        topic: topic, bootstrapServers: bootstrapServers, additionalProperties: additionalProperties,
                        timeout: timeout, logger: logger
                    )))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = "kafka-snapshot"
            thread.start()
        }
        return try outcome.get()
    }

    /// Reads part of `topic` now, blocking the calling thread (call it from a thread of your own,
    /// never from Swift's cooperative pool): the records of `partitions` (all when nil) from the
    /// first with a timestamp at or after `fromTimestampMs` (librdkafka's `offsets_for_times`; the
    /// beginning when nil) up to the partition's current end, or up to `untilOffsets[p]`
    /// (exclusive) when that is lower. Without a group, nothing committed.
    ///
    /// - Throws: as ``read(topic:bootstrapServers:additionalProperties:timeout:logger:)``.
    public static func readRange(
        topic: String, partitions: Set<Int32>? = nil, fromTimestampMs: Int64? = nil, untilOffsets: [Int32: Int64]? = nil,
        bootstrapServers: [String], additionalProperties: [String: String] = [:], timeout: Duration = .seconds(30), logger: Logger
    ) throws(KafkaError) -> KafkaTopicSnapshot {
        try readBlocking(topic: topic, bootstrapServers: bootstrapServers, additionalProperties: additionalProperties, timeout: timeout, logger: logger,
                         partitions: partitions, fromTimestampMs: fromTimestampMs, untilOffsets: untilOffsets)
    }

    /// The timestamps of the records at the given offsets (one per partition), read with a
    /// temporary assignment that is cleared again.
    private static func lastTimestamps(
        client: RDKafkaClient, topic: String, partitions: [(Int32, Int64)], remainingMs: () -> Int32
    ) throws(KafkaError) -> [Int32: Int64] {
        let assignment = partitions.map { (KafkaTopicPartition(topic: topic, partition: KafkaPartition($0.0)), KafkaOffset($0.1) as KafkaOffset?) }
        let assignError = RDKafkaPartitionList.with(assignment) { list in rd_kafka_assign(client.handle, list) }
        guard assignError == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdkafka: assignError, context: "assigning \(topic)") }
        defer { rd_kafka_assign(client.handle, nil) }
        var times: [Int32: Int64] = [:]
        let wanted = Dictionary(uniqueKeysWithValues: partitions)
        while times.count < partitions.count {
            let wait = remainingMs()
            guard wait > 0 else { throw KafkaError(code: .timedOut, message: "reading the last records of \(topic) timed out", isRetriable: true) }
            guard let message = rd_kafka_consumer_poll(client.handle, Swift.min(wait, 100)) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR, wanted[m.partition] == m.offset else { continue }
            var kind = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &kind)
            times[m.partition] = kind == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? Int64.max : timestamp
        }
        return times
    }

    /// The blocking read; see ``read(topic:bootstrapServers:additionalProperties:timeout:logger:)``.
    static func readBlocking(
        topic: String, bootstrapServers: [String], additionalProperties: [String: String], timeout: Duration, logger: Logger,
        partitions wanted: Set<Int32>? = nil, fromTimestampMs: Int64? = nil, untilOffsets: [Int32: Int64]? = nil
    ) throws(KafkaError) -> KafkaTopicSnapshot {
        try KafkaConfigurationCheck.bootstrapServers(bootstrapServers)
        let deadline = ContinuousClock.now + timeout
        func remainingMs() -> Int32 {
            Int32(clamping: Swift.max(0, (deadline - ContinuousClock.now).milliseconds))
        }
        let properties: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            // A group id is required by some librdkafka versions for the consumer API even with a
            // manual assignment; nothing is ever committed under it.
            ("group.id", "inference-snapshot"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "true"),
            ("auto.offset.reset", "earliest"),
        ] + additionalProperties.sorted { $0.key < $1.key }
        let client = try RDKafkaClient(kind: .consumer, properties: properties, handlers: .init(), logger: logger)
        rd_kafka_poll_set_consumer(client.handle)

        // Partitions, from the metadata of all topics (a request naming the topic could auto-create it).
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let metadataError = rd_kafka_metadata(client.handle, 1, nil, &metadata, remainingMs())
        guard metadataError == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(rdkafka: metadataError, context: "reading the topics of \(bootstrapServers.joined(separator: ","))")
        }
        let listed = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        let partitionCount = listed.first { String(cString: $0.topic) == topic && $0.err == RD_KAFKA_RESP_ERR_NO_ERROR }.map { Int($0.partition_cnt) }
        rd_kafka_metadata_destroy(metadata)
        guard let partitionCount else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "topic \(topic) does not exist on \(bootstrapServers.joined(separator: ",")): create it (the worker does with --create-topics true)")
        }

        // Where each partition ends now.
        var ends: [Int32: Int64] = [:]
        var starts: [Int32: Int64] = [:]
        for partition in 0..<Int32(partitionCount) where wanted?.contains(partition) ?? true {
            var low: Int64 = 0, high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(client.handle, topic, partition, &low, &high, remainingMs())
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(rdkafka: err, context: "reading the end of \(topic)[\(partition)]")
            }
            if let until = untilOffsets?[partition] { high = Swift.min(high, until) }
            if high > low {
                ends[partition] = high
                starts[partition] = low
            }
        }
        if let fromTimestampMs, !ends.isEmpty {
            // The first offset at or after the time, per partition (-1: none, nothing to read).
            let query = ends.keys.sorted().map { (KafkaTopicPartition(topic: topic, partition: KafkaPartition($0)), KafkaOffset(fromTimestampMs) as KafkaOffset?) }
            let found = try RDKafkaPartitionList.with(query) { (list) throws(KafkaError) -> [Int32: Int64] in
                let err = rd_kafka_offsets_for_times(client.handle, list, remainingMs())
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdkafka: err, context: "looking up offsets by time in \(topic)") }
                var found: [Int32: Int64] = [:]
                for element in RDKafkaPartitionList.elements(list) { found[element.partition] = element.offset }
                return found
            }
            // No offset (-1) means no record at or after the time, or a broker that cannot look
            // offsets up by time (librdkafka's mock cluster answers -1 to every such query): the
            // partition's last record tells which; in the second case it is read from its start
            // (the caller filters by time itself).
            let unknown = ends.keys.filter { (found[$0] ?? -1) < 0 }.sorted()
            let lastTimes = unknown.isEmpty ? [:] : try lastTimestamps(client: client, topic: topic, partitions: unknown.map { ($0, ends[$0]! - 1) }, remainingMs: remainingMs)
            for (partition, end) in ends {
                var start = found[partition] ?? -1
                if start < 0, let last = lastTimes[partition], last >= fromTimestampMs { start = starts[partition] ?? 0 }
                if start < 0 || start >= end {
                    ends.removeValue(forKey: partition)
                } else {
                    starts[partition] = Swift.max(starts[partition] ?? 0, start)
                }
            }
        }
        var records: [Record] = []
        guard !ends.isEmpty else {
            return KafkaTopicSnapshot(topic: topic, records: records)
        }
        let assignment = ends.keys.sorted().map {
            (KafkaTopicPartition(topic: topic, partition: KafkaPartition($0)), KafkaOffset(fromTimestampMs == nil ? -2 : starts[$0]!) as KafkaOffset?)
        }
        let assignError = RDKafkaPartitionList.with(assignment) { list in rd_kafka_assign(client.handle, list) }
        guard assignError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(rdkafka: assignError, context: "assigning \(topic)")
        }
        defer { _ = rd_kafka_consumer_close(client.handle) }
        var open = Set(ends.keys)
        while !open.isEmpty {
            let wait = remainingMs()
            guard wait > 0 else {
                throw KafkaError(code: .timedOut, message: "reading \(topic) did not reach its end within \(timeout) (partitions left: \(open.sorted()))", isRetriable: true)
            }
            guard let message = rd_kafka_consumer_poll(client.handle, Swift.min(wait, 100)) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                open.remove(m.partition)
                continue
            }
            guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(rdkafka: m.err, context: "reading \(topic)[\(m.partition)]")
            }
            guard let end = ends[m.partition], m.offset < end else { continue }
            var kind = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &kind)
            records.append(Record(
                partition: KafkaPartition(m.partition), offset: KafkaOffset(m.offset),
                key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
                value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) },
                timestampMilliseconds: kind == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
            ))
            if m.offset + 1 >= end { open.remove(m.partition) }
        }
        records.sort { ($0.partition.rawValue, $0.offset.rawValue) < ($1.partition.rawValue, $1.offset.rawValue) }
        // A record delivered twice (a fetch of an earlier assignment of the same client) is kept once.
        records = records.enumerated().filter { index, record in
            index == 0 || records[index - 1].partition != record.partition || records[index - 1].offset != record.offset
        }.map(\.element)
        return KafkaTopicSnapshot(topic: topic, records: records)
    }
}
