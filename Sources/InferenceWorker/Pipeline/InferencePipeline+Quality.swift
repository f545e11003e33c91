import Foundation
import InferenceCore
import Kafka

extension InferencePipeline {
    /// The scoring thread's quality path, when a labels topic is configured.
    func makeQualityPath() -> QualityPath? {
        guard let shared = quality else { return nil }
        let ledger = self.ledger
        let flowGate = self.flowGate
        let consumer = self.consumer
        return QualityPath(
            configuration: configuration, shared: shared, logger: logger,
            publish: { [self] report in
                recentReports.add(report)
                if publisher.publishQuality(report) {
                    shared.reportHandedOver()
                } else {
                    // Not handed over (producer closing or recovering): its labels are in no
                    // published report; counted, and logged by the publisher.
                    shared.update { $0.reportsFailed += 1 }
                }
                logger.info("quality window closed", metadata: [
                    "model.name": "\(report.modelName)", "model.version": "\(report.modelVersion)",
                    "quality.labelled": "\(report.counts.labelled)", "quality.accuracy": "\(report.metrics.accuracy.map { "\($0)" } ?? "-")",
                ])
            },
            acknowledge: { record in
                if let decision = ledger.acknowledge(record.ticket, offset: record.message.offset) {
                    flowGate.apply(decision, to: consumer.current)
                }
            },
            publishTrainingExample: { [self] key, value in
                let sent = !value.isEmpty && publisher.publishTrainingExample(key: key, value: value)
                shared.update { if sent { $0.trainingExamplesSent += 1 } else { $0.trainingExamplesFailed += 1 } }
            }
        )
    }

    /// Request-topic partition numbers among `partitions` (the join store is keyed by number).
    func requestPartitionNumbers(_ partitions: [KafkaTopicPartition]) -> [Int32] {
        Array(Set(partitions.filter { configuration.inputTopics.contains($0.topic) }.map(\.partition.rawValue))).sorted()
    }

    /// Stores labels-topic offsets of a confirmed checkpoint for the next commit (unless abandoned).
    func storeLabelOffsets(_ offsets: [KafkaTopicPartition: KafkaOffset]) {
        guard commits.load(ordering: .acquiring), let consumer = consumer.current else { return }
        do {
            try consumer.storeOffsets(offsets)
        } catch {
            logger.debug("storing labels-topic offsets failed (partition revoked meanwhile?)", metadata: ["error": "\(error)"])
        }
    }

    /// Labels-topic partition numbers among `partitions`.
    func labelPartitionNumbers(_ partitions: [KafkaTopicPartition]) -> [Int32] {
        partitions.filter { $0.topic == configuration.labelsTopic }.map(\.partition.rawValue).sorted()
    }

    /// Offsets the ledger says are committable, without the labels topic's: those are stored only
    /// by ``LiveQuality``'s checkpoints (once the reports counting the labels are delivered).
    func withoutLabelOffsets(_ offsets: [KafkaTopicPartition: KafkaOffset]) -> [KafkaTopicPartition: KafkaOffset] {
        guard let labelsTopic = configuration.labelsTopic else { return offsets }
        return offsets.filter { $0.key.topic != labelsTopic }
    }

    /// In the revoke hook, before its commit: has the scoring thread close every quality window and
    /// waits (until `deadline`) for the reports to be delivered and their labels' offsets stored.
    func flushQualityBeforeCommit(_ partitions: [KafkaTopicPartition], deadline: Date) {
        guard let quality, !labelPartitionNumbers(partitions).isEmpty else { return }
        let ticket = quality.requestFlush()
        if !quality.waitForFlush(ticket, deadline: deadline) {
            logger.warning("quality windows not published before the revocation's commit; their labels will be read again by the partitions' next owner", metadata: [
                "kafka.partitions": "\(partitions)",
            ])
        }
    }

    /// The co-partitioning rule, checked at each assignment (topics can be repartitioned while
    /// the worker runs): the labels topic must have as many partitions as every request topic.
    ///
    /// - Returns: the fatal configuration error, or nil when the rule holds or the cluster could
    ///   not be asked (logged; checked again at the next assignment).
    func coPartitioningError() -> ConfigurationValidationError? {
        guard let labelsTopic = configuration.labelsTopic else { return nil }
        var admin = KafkaAdmin(bootstrapServers: configuration.bootstrapServers,
                               additionalProperties: configuration.kafkaProperties.merging(configuration.consumerProperties) { $1 }, logger: logger)
        admin.timeout = .seconds(10)
        let counts: [String: Int]
        do {
            counts = try admin.partitionCounts(configuration.inputTopics + [labelsTopic])
        } catch {
            logger.warning("could not read partition counts to check that the labels topic is co-partitioned", metadata: ["error": "\(error)"])
            return nil
        }
        guard let labelPartitions = counts[labelsTopic] else {
            return ConfigurationValidationError(message: "the labels topic \(labelsTopic) does not exist: create it with as many partitions as the request topic (\(configuration.inputTopics.compactMap { counts[$0] }.first.map(String.init) ?? "?")), or omit --labels-topic")
        }
        for topic in configuration.inputTopics {
            guard let requestPartitions = counts[topic] else { continue }
            do {
                try LabelTopicCoPartitioning.check(requestTopic: topic, requestPartitions: requestPartitions, labelsTopic: labelsTopic, labelPartitions: labelPartitions)
            } catch {
                return error
            }
        }
        return nil
    }
}

extension InferencePipeline {
    /// What to rebuild the join stores of newly assigned request partitions from (docs/quality.md,
    /// "Rebalances and restarts"): the output topic from now − `maxAge` to its end, kept where
    /// `source.partition` is one of them, and each one's labels from now − `maxAge` up to the
    /// labels topic's committed offset (their ids are settled). Runs on the consumer's thread in
    /// the assignment handler, before any record of the new assignment is handed over, so the
    /// store is rebuilt before new predictions and labels reach it. Bounded by 30 s per read; a
    /// read that fails is logged and counted, and the partition starts with an empty store.
    ///
    /// Output records are read back with the labels of the model version in service (a version
    /// whose labels differ is refused record by record and counted as unreadable).
    func rebuildInputs(for partitions: [Int32]) -> [Int32: LiveQuality.RebuildInput] {
        guard let quality, let labelsTopic = configuration.labelsTopic, !partitions.isEmpty, configuration.rebuildLabelStore else { return [:] }
        let wanted = Set(partitions)
        let fromMs = Int64(Date().timeIntervalSince1970 * 1000) - configuration.labelStore.maxAge.nanoseconds / 1_000_000
        let properties = configuration.kafkaProperties.merging(configuration.consumerProperties) { $1 }
        let labels = models.current?.output.labels
        var inputs: [Int32: LiveQuality.RebuildInput] = [:]
        for partition in partitions { inputs[partition] = .init(predictions: [], settledIDs: []) }
        do {
            let outputs = try KafkaTopicSnapshot.readRange(topic: configuration.outputTopic, fromTimestampMs: fromMs,
                                                           bootstrapServers: configuration.bootstrapServers, additionalProperties: properties, logger: logger)
            var unreadable = 0
            for record in outputs.records {
                guard let value = record.value else { continue }
                do {
                    let (prediction, source) = try PendingPrediction.decodePredictionEvent(value, labels: { _ in labels })
                    guard configuration.inputTopics.contains(source.topic), wanted.contains(source.partition) else { continue }
                    inputs[source.partition]!.predictions.append(prediction)
                } catch {
                    unreadable += 1
                }
            }
            // The consumer is referenced right after its initialiser returns, and the first
            // assignment can only come later (a group join takes a round trip); wait a little in
            // case it did not, rather than treat every label as unsettled.
            for _ in 0..<200 where consumer.current == nil { Thread.sleep(forTimeInterval: 0.005) }
            let committed = try consumer.current?.committedOffsets(
                for: partitions.map { KafkaTopicPartition(topic: labelsTopic, partition: KafkaPartition($0)) }) ?? [:]
            var until: [Int32: Int64] = [:]
            for (topicPartition, offset) in committed where offset.rawValue >= 0 { until[topicPartition.partition.rawValue] = offset.rawValue }
            if !until.isEmpty {
                let labelRecords = try KafkaTopicSnapshot.readRange(
                    topic: labelsTopic, partitions: Set(until.keys), fromTimestampMs: fromMs, untilOffsets: until,
                    bootstrapServers: configuration.bootstrapServers, additionalProperties: properties, logger: logger)
                let decoder = LabelDecoder()
                for record in labelRecords.records {
                    guard let value = record.value, let label = try? decoder.decode(value) else { continue }
                    inputs[record.partition.rawValue]?.settledIDs.append(label.id)
                }
            }
            quality.update { $0.unreadablePredictions += unreadable }
            return inputs
        } catch {
            quality.update { $0.rebuildFailures += partitions.count }
            logger.warning("could not rebuild the quality join store of newly assigned partitions; they start empty", metadata: [
                "kafka.partitions": "\(partitions)", "error": "\(error)",
            ])
            return [:]
        }
    }
}
