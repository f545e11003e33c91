import Foundation
import Kafka

extension InferencePipeline {
    /// Every consumer event, on the consumer's poll thread, one at a time.
    func handle(_ event: KafkaConsumerEvent) {
        switch event {
        case .messages(let batch):
            let (tickets, flow) = ledger.dispatch(batch)
            flowGate.apply(flow, to: consumer.current)
            let consumedAt = DispatchTime.now().uptimeNanoseconds
            var records: [InboundRecord] = []
            records.reserveCapacity(batch.count)
            for (message, ticket) in zip(batch, tickets) {
                if let ticket { records.append(InboundRecord(message: message, ticket: ticket, consumedAtNanoseconds: consumedAt)) }
            }
            // Label records travel with the requests (the scoring thread routes them by topic) but
            // are not requests: they are counted by the quality path, not here.
            let labels = configuration.labelsTopic.map { topic in records.reduce(0) { $0 + ($1.message.topic == topic ? 1 : 0) } } ?? 0
            counters.update { $0.consumed += records.count - labels }
            queue.append(contentsOf: records)
        case .assigned(let partitions):
            counters.update { $0.rebalances += 1 }
            if quality != nil, let error = coPartitioningError() {
                // Fatal: labels would join nothing (or the wrong predictions). Nothing is assigned
                // in the ledger, so none of these partitions' records is handled.
                logger.critical("labels topic is not co-partitioned with the request topic; stopping", metadata: ["error": "\(error.message)"])
                fail(error)
                return
            }
            if let quality {
                let numbers = requestPartitionNumbers(partitions)
                quality.post(.assigned(numbers, rebuild: rebuildInputs(for: quality.newlyOwned(numbers))))
            }
            runtime.withLock { $0.joinedGroup = true }
            flowGate.apply(ledger.assign(partitions), to: consumer.current)
        case .revoking(let partitions):
            revoke(partitions)
            quality?.post(.revoked(requests: requestPartitionNumbers(partitions), labels: labelPartitionNumbers(partitions)))
        case .lost(let partitions):
            counters.update { $0.rebalances += 1 }
            flowGate.apply(ledger.release(partitions).flow, to: consumer.current)
            quality?.disown(requestPartitionNumbers(partitions))
            quality?.post(.revoked(requests: requestPartitionNumbers(partitions), labels: labelPartitionNumbers(partitions)))
        case .statistics(let statistics):
            runtime.withLock { $0.latestStatistics = statistics }
        case .error(let error):
            if error.isFatal {
                logger.error("fatal consumer error: stopping", metadata: ["error": "\(error)"])
                requestShutdown()
            } else {
                logger.debug("consumer error", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The revoke hook: finish what can finish within the bound, commit what is acknowledged,
    /// release. Abandoned records are redelivered to the partitions' next owner.
    private func revoke(_ partitions: [KafkaTopicPartition]) {
        counters.update { $0.rebalances += 1 }
        let consumer = consumer.current
        guard commits.load(ordering: .acquiring) else {
            flowGate.apply(ledger.release(partitions).flow, to: consumer)
            return
        }
        let timeout = isShuttingDown ? configuration.drainTimeout : configuration.revokeTimeout
        let deadline = Date(timeIntervalSinceNow: timeout.doubleSeconds)
        let remaining = ledger.waitUntilDrained(partitions, deadline: deadline)
        if remaining > 0 {
            logger.warning("abandoning in-flight records of revoked partitions; they will be redelivered", metadata: [
                "kafka.partitions": "\(partitions)", "records": "\(remaining)",
            ])
        }
        if commits.load(ordering: .acquiring) { flushQualityBeforeCommit(partitions, deadline: deadline) }
        let (ledgerFinal, flow) = ledger.release(partitions)
        let final = withoutLabelOffsets(ledgerFinal)
        flowGate.apply(flow, to: consumer)
        // Abandoned while draining: commit nothing more.
        guard let consumer, commits.load(ordering: .acquiring) else { return }
        do {
            try consumer.storeOffsets(final)
            try consumer.commitStored()
        } catch {
            counters.update { $0.commitFailures += 1 }
            logger.warning("commit on revocation failed", metadata: ["error": "\(error)"])
        }
    }
}
