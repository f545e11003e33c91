import Foundation
public import Kafka
public import InferenceCore

/// Everything a worker replica needs, with the defaults operators get when they set nothing.
///
/// Built by the CLI from flags, `INFERENCE_WORKER_*` environment variables and an optional
/// config file (in that order of precedence); ``validate()`` rejects nonsense before connecting.
public struct WorkerConfiguration: Sendable {
    // MARK: Kafka

    /// Bootstrap brokers, `host:port`. Required (the demo sets the embedded broker's).
    public var bootstrapServers: [String]
    /// Request topics to consume. At least one.
    public var inputTopics: [String]
    /// Where predictions go. Default `predictions`.
    public var outputTopic: String = "predictions"
    /// Where records that cannot be scored go, with the reason in headers. Default: the first input
    /// topic plus `.DLT` (Spring Kafka's convention).
    public var deadLetterTopic: String? = nil
    /// Where drift reports go; nil disables drift reports. Default `inference-drift`.
    public var driftTopic: String? = "inference-drift"
    /// Where a shadow candidate's predictions go during a roll-out (docs/rollouts.md). Default:
    /// the output topic plus `.shadow`.
    public var shadowTopic: String? = nil
    /// Consumer group shared by all replicas. Default `inference-worker`.
    public var groupID: String = "inference-worker"
    /// Static membership id (e.g. the pod name of a StatefulSet); nil for dynamic membership.
    public var groupInstanceID: String? = nil
    /// This replica's id, in dead-letter headers, drift reports and logs. Default: the host name.
    public var workerID: String
    /// Raw librdkafka properties for both the consumer and the producer (security, tuning).
    public var kafkaProperties: [String: String] = [:]
    /// Raw librdkafka properties for the consumer only (override `kafkaProperties`).
    public var consumerProperties: [String: String] = [:]
    /// Raw librdkafka properties for the producer only (override `kafkaProperties`).
    public var producerProperties: [String: String] = [:]
    /// Create missing topics at start (CreateTopics). Default false: production topics are
    /// usually managed; the demo and compose file turn it on.
    public var createTopics: Bool = false
    /// Partitions for topics the worker creates. Default 8.
    public var createTopicPartitions: Int = 8

    // MARK: Model

    /// Directory holding `<model-name>/<version>/` bundles. Required.
    public var modelRoot: String
    /// The model to serve (a directory under ``modelRoot``). Required.
    public var modelName: String
    /// A version to pin; nil serves the latest valid version and hot-swaps newer ones.
    public var modelVersion: String? = nil
    /// How often the model root is checked for new versions. Default 10 s.
    public var modelPollInterval: Duration = .seconds(10)
    /// Where ONNX Runtime is and its thread counts (`onnx` bundles only). Default: the library search
    /// path (or `INFERENCE_WORKER_ONNXRUNTIME_LIBRARY`), 1 intra-op and 1 inter-op thread.
    public var onnxRuntime = ONNXRuntimeConfiguration()

    /// A drift window closes after this many rows (or at the time boundary, whichever first). Default 500,000
    /// (see ``DriftConfiguration/windowRecordCount``).
    public var driftWindowRecords: Int = 500_000
    /// A drift window closes at every multiple of this since the epoch (aligned across replicas). Default 60 s.
    public var driftWindow: Duration = .seconds(60)

    // MARK: Live quality (docs/quality.md)

    /// The ground-truth topic (`{"id": ..., "label": ...}` events keyed like the requests); nil (the
    /// default) turns live quality off and the worker behaves exactly as without it. It must be
    /// co-partitioned with every request topic (same partition count): see
    /// ``consumerConfiguration`` for why the one consumer then uses the `range` assignor.
    public var labelsTopic: String? = nil
    /// Where quality reports go when ``labelsTopic`` is set. Default `inference-quality` (beside
    /// the drift topic's `inference-drift`; `inference-worker report --quality-topic` reads it).
    public var qualityTopic: String = "inference-quality"
    /// Where each labelled example goes for retraining (the request as received, the prediction,
    /// the version, the label and both times), keyed like the label; nil (the default) writes none.
    /// Needs ``labelsTopic``. Pending predictions then keep their request (``labelStore``'s byte
    /// bound counts it).
    public var trainingExamplesTopic: String? = nil
    /// Quality windows (count and aligned duration) and accumulators. Default ``QualityConfiguration/init()``.
    public var quality = QualityConfiguration()
    /// Bounds of the per-partition store of predictions waiting for their label. Default ``PendingPredictions/Configuration/init()``.
    public var labelStore = PendingPredictions.Configuration()
    /// Rebuild the join store of a newly assigned partition from the output and labels topics
    /// (docs/quality.md, "Rebalances and restarts"). Default true.
    public var rebuildLabelStore = true

    // MARK: Batching

    /// Most records per model call. Default 64.
    public var maxBatchSize: Int = 64
    /// Longest the oldest record in a batch waits for the batch to fill. Default 5 ms.
    public var maxBatchDelay: Duration = .milliseconds(5)
    /// Adapt the batch size to keep ``latencyObjective``. Default true.
    public var adaptiveBatching: Bool = true
    /// The per-batch latency (queueing plus model time) adaptive batching keeps. Default 10 ms.
    public var latencyObjective: Duration = .milliseconds(10)

    // MARK: Back-pressure and limits

    /// Records consumed but not yet acknowledged, at most; above it the consumer stops handing
    /// over records (librdkafka's bounded prefetch waits). Throughput is at most this bound divided
    /// by the time from consuming a record to its output's acknowledgement (tens of milliseconds
    /// with a produce round trip), so it must not be small. Default 20,000 (~100 MiB peak RSS with
    /// 8 partitions, docs/performance.md).
    public var maxInFlightRecords: Int = 20_000
    /// Bytes of such records, at most. Default 32 MiB.
    public var maxInFlightBytes: Int = 32 << 20
    /// Suspended partitions resume when in-flight records and bytes fall below this fraction of the
    /// maxima. Default 0.5.
    public var resumeFraction: Double = 0.5
    /// Larger request values are dead-lettered as `oversized_payload`. Default 1 MiB.
    public var maxPayloadBytes: Int = 1 << 20

    // MARK: Commits and shutdown

    /// Stored offsets are committed this often (and on revocation and shutdown). Default 1 s.
    public var commitInterval: Duration = .seconds(1)
    /// On SIGTERM, in-flight work gets this long to finish before the worker leaves anyway
    /// (the rest is redelivered). Default 20 s: below Kubernetes' 30 s grace period.
    public var drainTimeout: Duration = .seconds(20)
    /// On revocation, in-flight work of the revoked partitions gets this long. Default 10 s.
    public var revokeTimeout: Duration = .seconds(10)
    /// After a fatal producer error (e.g. fenced after a long broker outage), the worker recreates
    /// its producer and sends every unacknowledged output again. This bounds recreation: when a
    /// recreation is due (a recreated producer failed fatally again, or creating one failed) more
    /// than this after the first fatal error, with no output delivered since, it stops without
    /// committing and exits non-zero (the orchestrator restarts it; the inputs are redelivered).
    /// A recreated producer that is usable but cannot reach the broker retries for as long as the
    /// outage lasts, whatever this says. Default 300 s.
    public var producerRecoveryTimeout: Duration = .seconds(300)

    public init(bootstrapServers: [String], inputTopics: [String], modelRoot: String, modelName: String, workerID: String) {
        self.bootstrapServers = bootstrapServers
        self.inputTopics = inputTopics
        self.modelRoot = modelRoot
        self.modelName = modelName
        self.workerID = workerID
    }

    /// The shadow topic in effect.
    public var effectiveShadowTopic: String { shadowTopic ?? "\(outputTopic).shadow" }

    /// The dead-letter topic in effect.
    public var effectiveDeadLetterTopic: String { deadLetterTopic ?? "\(inputTopics.first ?? "requests").DLT" }

    /// The quality report topic in effect: ``qualityTopic`` when ``labelsTopic`` is set, else nil.
    public var effectiveQualityTopic: String? { labelsTopic == nil ? nil : qualityTopic }

    /// Rejects nonsense with a message naming the setting and how to fix it.
    public func validate() throws(WorkerConfigurationError) {
        func fail(_ setting: String, _ message: String) -> WorkerConfigurationError {
            WorkerConfigurationError(setting: setting, message: message)
        }
        if inputTopics.isEmpty || inputTopics.contains(where: \.isEmpty) {
            throw fail("input-topics", "give at least one request topic, and no empty names")
        }
        if outputTopic.isEmpty { throw fail("output-topic", "must not be empty") }
        let dlt = effectiveDeadLetterTopic
        if inputTopics.contains(outputTopic) || inputTopics.contains(dlt) || outputTopic == dlt || (driftTopic.map { inputTopics.contains($0) || $0 == outputTopic || $0 == dlt } ?? false) {
            throw fail("output-topic", "input, output, dead-letter and drift topics must all differ (a worker reading its own output loops forever)")
        }
        if driftTopic?.isEmpty == true { throw fail("drift-topic", "must not be empty; omit it to disable drift reports") }
        if labelsTopic == nil, trainingExamplesTopic != nil {
            throw fail("training-examples-topic", "needs --labels-topic: examples are made by joining labels with predictions")
        }
        if let labelsTopic {
            if labelsTopic.isEmpty { throw fail("labels-topic", "must not be empty; omit it to turn live quality off") }
            if qualityTopic.isEmpty { throw fail("quality-topic", "must not be empty") }
            let others = inputTopics + [outputTopic, dlt] + (driftTopic.map { [$0] } ?? [])
            if others.contains(labelsTopic) || labelsTopic == qualityTopic {
                throw fail("labels-topic", "must differ from the request, output, dead-letter, drift and quality topics (labels read as requests would be scored)")
            }
            if others.contains(qualityTopic) {
                throw fail("quality-topic", "must differ from the request, output, dead-letter and drift topics")
            }
            if let training = trainingExamplesTopic, training.isEmpty || others.contains(training) || training == labelsTopic || training == qualityTopic {
                throw fail("training-examples-topic", "must be a topic of its own (not empty, not a request, output, dead-letter, drift, labels or quality topic)")
            }
            let strategy = kafkaProperties.merging(consumerProperties) { $1 }["partition.assignment.strategy"]
            if let strategy, strategy.trimmingCharacters(in: .whitespaces) != KafkaConsumerConfiguration.AssignmentStrategy.range.rawValue {
                throw fail("labels-topic", "needs the range assignor (it gives a labels partition to the owner of the same request partition); remove partition.assignment.strategy=\(strategy) from the consumer properties")
            }
            do {
                try quality.validate()
                try labelStore.validate()
            } catch {
                throw fail("labels-topic", error.message)
            }
        }
        if modelRoot.isEmpty { throw fail("model-root", "give the directory holding <model-name>/<version>/ bundles") }
        if modelName.isEmpty || modelName.contains("/") { throw fail("model-name", "give the model's directory name under the model root") }
        if modelVersion?.isEmpty == true { throw fail("model-version", "must not be empty; omit it to serve the latest version") }
        if workerID.isEmpty { throw fail("worker-id", "must not be empty") }
        if !(1...65_536).contains(maxBatchSize) { throw fail("max-batch-size", "must be 1...65536 (got \(maxBatchSize))") }
        if maxBatchDelay < .zero { throw fail("max-batch-delay", "must not be negative") }
        if latencyObjective <= .zero { throw fail("latency-objective", "must be positive") }
        if maxInFlightRecords < maxBatchSize {
            throw fail("max-in-flight-records", "must be at least max-batch-size (\(maxBatchSize)), or batches can never fill (got \(maxInFlightRecords))")
        }
        if maxInFlightBytes < maxPayloadBytes {
            throw fail("max-in-flight-bytes", "must be at least max-payload-bytes (\(maxPayloadBytes)) so one largest record fits (got \(maxInFlightBytes))")
        }
        if !(resumeFraction > 0 && resumeFraction < 1) { throw fail("resume-fraction", "must be between 0 and 1 exclusive (got \(resumeFraction))") }
        if maxPayloadBytes <= 0 { throw fail("max-payload-bytes", "must be positive") }
        if commitInterval <= .zero { throw fail("commit-interval", "must be positive") }
        if drainTimeout < .zero || revokeTimeout < .zero { throw fail("drain-timeout", "timeouts must not be negative") }
        if producerRecoveryTimeout < .seconds(1) { throw fail("producer-recovery-timeout", "must be at least 1s") }
        if !(1...10_000).contains(createTopicPartitions) { throw fail("create-topic-partitions", "must be 1...10000") }
        if modelPollInterval <= .zero { throw fail("model-poll-interval", "must be positive") }
        do {
            try onnxRuntime.validate()
        } catch {
            throw fail("onnxruntime", error.message)
        }
        if driftWindowRecords <= 0 { throw fail("drift-window-records", "must be positive") }
        if driftWindow < .seconds(1) { throw fail("drift-window", "must be at least 1s") }
        do {
            try consumerConfiguration.validate()
            try producerConfiguration.validate()
        } catch {
            throw fail("bootstrap-servers", error.message)
        }
    }

    /// The consumer's configuration derived from this one.
    public var consumerConfiguration: KafkaConsumerConfiguration {
        var c = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: groupID, topics: inputTopics)
        c.clientID = "inference-worker-\(workerID)"
        if let labelsTopic {
            // The join is local to a replica, so a replica must own labels partition p exactly when
            // it owns request partition p. A second consumer subscribed to the labels topic alone
            // would be balanced independently (different members, different numbers); one consumer
            // subscribed to both topics with the `range` assignor gets, for topics of equal
            // partition counts, the same partition numbers of each (range assigns every topic's
            // partitions by member order alone), which is Kafka Streams' co-partitioning rule.
            // The price: `range` is eager (a rebalance revokes everything and flushes the quality
            // windows) instead of cooperative-sticky. The label records are routed by topic on the
            // scoring thread (ScoringLoop+Quality.swift), never scored or dead-lettered.
            c.topics.append(labelsTopic)
            c.assignmentStrategy = .range
        }
        c.groupInstanceID = groupInstanceID
        c.autoCommitInterval = commitInterval
        c.maxPollRecords = min(max(maxBatchSize * 4, 256), maxInFlightRecords)
        c.additionalProperties = kafkaProperties.merging(consumerProperties) { $1 }
        return c
    }

    /// Drift windows as configured.
    public var driftConfiguration: DriftConfiguration {
        DriftConfiguration(windowRecordCount: driftWindowRecords, windowDuration: driftWindow)
    }

    /// The producer's `message.max.bytes` (librdkafka's default 1,000,000 unless set): the first
    /// budget of a dead letter refused as too large.
    public var maxMessageBytes: Int {
        Int(kafkaProperties.merging(producerProperties) { $1 }["message.max.bytes"] ?? "") ?? 1_000_000
    }

    /// The producer's configuration derived from this one.
    public var producerConfiguration: KafkaProducerConfiguration {
        var p = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        p.clientID = "inference-worker-\(workerID)"
        p.additionalProperties = kafkaProperties.merging(producerProperties) { $1 }
        return p
    }
}

/// A configuration setting that makes no sense, and what to do about it.
public struct WorkerConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The setting's CLI name (also its environment variable and config-file key).
    public var setting: String
    public var message: String
    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }
    public var description: String { "invalid setting \(setting): \(message)" }
}
