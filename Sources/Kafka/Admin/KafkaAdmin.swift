import CKafkaShim
public import Logging

/// Topic administration against a real cluster (the CreateTopics API).
public struct KafkaAdmin: KafkaTopicAdministrator {
    public var bootstrapServers: [String]
    /// Raw librdkafka properties for the admin client (security settings, for instance).
    public var additionalProperties: [String: String]
    public var timeout: Duration
    public var logger: Logger

    public init(bootstrapServers: [String], additionalProperties: [String: String] = [:], timeout: Duration = .seconds(30), logger: Logger) {
        self.bootstrapServers = bootstrapServers
        self.additionalProperties = additionalProperties
        self.timeout = timeout
        self.logger = logger
    }

    @discardableResult
    public func ensureTopics(_ topics: [KafkaTopicSpecification]) throws(KafkaError) -> [String] {
        try KafkaConfigurationCheck.bootstrapServers(bootstrapServers)
        guard !topics.isEmpty else { return [] }
        let properties = [("bootstrap.servers", bootstrapServers.joined(separator: ","))]
            + additionalProperties.sorted { $0.key < $1.key }
        let client = try RDKafkaClient(kind: .producer, properties: properties, handlers: .init(), logger: logger)
        let timeoutMs = Int32(clamping: timeout.milliseconds)

        var errstr = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in topics {
            guard spec.partitions > 0, spec.replicationFactor > 0 else {
                throw KafkaError(code: .invalidConfiguration, message: "topic \(spec.name): partitions and replication factor must be positive")
            }
            guard let topic = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errstr, errstr.count) else {
                throw KafkaError(code: .topicCreation, message: "topic \(spec.name): \(String(cBuffer: errstr))")
            }
            newTopics.append(topic)
            for (key, value) in spec.config.sorted(by: { $0.key < $1.key }) {
                _ = rd_kafka_NewTopic_set_config(topic, key, value)
            }
        }
        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errstr, errstr.count)
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1000) else {
            throw KafkaError(code: .timedOut, message: "no answer to CreateTopics within \(timeout) from \(bootstrapServers)", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            var error = KafkaError(rdkafka: eventError, context: "CreateTopics")
            error.message += text.isEmpty ? "" : " (\(text))"
            throw error
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: .topicCreation, message: "CreateTopics returned no result")
        }
        var count = 0
        let results = rd_kafka_CreateTopics_result_topics(result, &count)
        var created: [String] = []
        var existing: [String] = []
        for i in 0..<count {
            let topicResult = results![i]
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let err = rd_kafka_topic_result_error(topicResult)
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                created.append(name)
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
                existing.append(name)
            default:
                let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
                var error = KafkaError(rdkafka: err, context: "creating topic \(name)")
                error.message += text.isEmpty ? "" : " (\(text))"
                throw error
            }
        }
        logger.info("topics ensured", metadata: ["kafka.topics.created": "\(created)"])
        warnAboutPartitionCounts(of: existing, specified: topics, client: client, timeoutMs: timeoutMs)
        return created
    }

    /// The names among `names` that the cluster does not have (a metadata request for all topics,
    /// which never auto-creates one).
    ///
    /// - Throws: ``KafkaError`` when the cluster does not answer within ``timeout``.
    public func missingTopics(_ names: [String]) throws(KafkaError) -> [String] {
        let existing = try partitionCounts(names)
        return names.filter { existing[$0] == nil }
    }

    /// The partition count of each of `names` that the cluster has (absent names are left out;
    /// a metadata request for all topics, which never auto-creates one). Blocks up to ``timeout``.
    ///
    /// - Throws: ``KafkaError`` when the cluster does not answer within ``timeout``.
    public func partitionCounts(_ names: [String]) throws(KafkaError) -> [String: Int] {
        try KafkaConfigurationCheck.bootstrapServers(bootstrapServers)
        let properties = [("bootstrap.servers", bootstrapServers.joined(separator: ","))]
            + additionalProperties.sorted { $0.key < $1.key }
        let client = try RDKafkaClient(kind: .producer, properties: properties, handlers: .init(), logger: logger)
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(client.handle, 1, nil, &metadata, Int32(clamping: timeout.milliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(rdkafka: err, context: "reading the cluster's topics from \(bootstrapServers.joined(separator: ","))")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var counts: [String: Int] = [:]
        for topic in UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt)) where topic.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            let name = String(cString: topic.topic)
            if names.contains(name) { counts[name] = Int(topic.partition_cnt) }
        }
        return counts
    }

    /// Topics that already existed are left as they are; one whose partition count differs from its
    /// specification gets a warning (an input topic with fewer partitions than replicas leaves
    /// replicas idle). Best effort: a metadata request that fails is logged at debug level.
    private func warnAboutPartitionCounts(of names: [String], specified: [KafkaTopicSpecification], client: RDKafkaClient, timeoutMs: Int32) {
        guard !names.isEmpty else { return }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        // All topics (a request naming a topic may auto-create it on some brokers).
        let err = rd_kafka_metadata(client.handle, 1, nil, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            logger.debug("no metadata to check existing topics' partitions", metadata: ["error": "\(KafkaError(rdkafka: err, context: "metadata"))"])
            return
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let listed = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        for name in names {
            guard let spec = specified.first(where: { $0.name == name }),
                  let topic = listed.first(where: { String(cString: $0.topic) == name }) else { continue }
            let actual = Int(topic.partition_cnt)
            if actual != spec.partitions {
                logger.warning("topic exists with a different partition count; left as it is", metadata: [
                    "kafka.topic": "\(name)", "kafka.partitions": "\(actual)", "kafka.partitions.specified": "\(spec.partitions)",
                ])
            }
        }
    }
}
