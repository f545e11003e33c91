import Foundation
import InferenceCore
import InferenceWorker
import Kafka
import Logging

/// `run`'s part in roll-outs (docs/rollouts.md, "How `run` wires it", step 1): the topics, the
/// ``RolloutCoordinator`` and the start-up read of the model's record.
enum WorkerRollouts {
    /// The roll-out topic (one partition, compacted), the evidence topic and the shadow topic.
    static func specifications(_ c: WorkerConfiguration, logger: Logger) -> [KafkaTopicSpecification] {
        [
            RolloutTopic(bootstrapServers: c.bootstrapServers, logger: logger).specification(),
            RolloutTopic.evidenceSpecification(),
            KafkaTopicSpecification(name: c.effectiveShadowTopic, partitions: c.createTopicPartitions),
        ]
    }

    /// Creates the coordinator (`run` created the topics with `--create-topics`); without it, a
    /// missing roll-out topic turns roll-outs off for this run (logged), so that a deployment that
    /// never used roll-outs starts exactly as before. The model's record is read once before the
    /// pipeline serves (a replica that starts obeys the record from its first batch); a read that
    /// fails is logged and the follower catches up later.
    ///
    /// - Parameter isStopping: whether the worker was told to stop meanwhile (the record is then not read).
    /// - Throws: ``KafkaError`` when the coordinator's producer cannot be made (a bad property).
    static func coordinator(
        _ c: WorkerConfiguration, admin: KafkaAdmin, metrics: WorkerMetrics, logger: Logger, isStopping: () -> Bool
    ) async throws -> RolloutCoordinator? {
        let specifications = specifications(c, logger: logger)
        if !c.createTopics { // else `run` created them with its own
            var admin = admin
            admin.timeout = .seconds(10)
            do {
                let missing = try admin.missingTopics(specifications.map(\.name))
                if missing.contains(RolloutTopic.defaultName) || missing.contains(RolloutTopic.defaultEvidenceName) {
                    logger.info("roll-outs off for this run: the roll-out topics do not exist", metadata: [
                        "kafka.topics.missing": "\(missing.joined(separator: ","))",
                        "fix": "run with --create-topics true, or `inference-worker rollout start ... --create-topic`, then restart",
                    ])
                    return nil
                }
                if !missing.isEmpty {
                    logger.warning("shadow topic missing: shadow predictions will be dropped", metadata: ["kafka.topic": "\(c.effectiveShadowTopic)"])
                }
            } catch {
                logger.warning("could not check the roll-out topics; following them anyway", metadata: ["error": "\(error)"])
            }
        }
        var configuration = RolloutCoordinator.Configuration(bootstrapServers: c.bootstrapServers, groupID: c.groupID, workerID: c.workerID)
        configuration.additionalProperties = c.kafkaProperties
        let coordinator = try RolloutCoordinator(configuration: configuration, logger: logger, metrics: RolloutMetrics(factory: metrics.factory))
        if isStopping() { return coordinator }
        let topic = RolloutTopic(bootstrapServers: c.bootstrapServers, additionalProperties: c.kafkaProperties, timeout: .seconds(15), logger: logger)
        do {
            if let record = try await topic.read(model: c.modelName) {
                coordinator.follow(record)
                logger.info("roll-out record read before serving", metadata: [
                    "model.name": "\(c.modelName)", "rollout.id": "\(record.rolloutID)", "rollout.state": "\(record.state.rawValue)",
                    "model.version": "\(record.primaryVersion)",
                ])
            }
        } catch {
            logger.warning("could not read the roll-out record before serving; following the topic from now on", metadata: ["error": "\(error)"])
        }
        return coordinator
    }
}
