/// The rule that makes the join local to a replica (Kafka Streams' co-partitioning rule): the labels
/// topic has as many partitions as the request topic, and labels are keyed like their requests, so a
/// label lands in the partition number of its request, which the same replica owns.
public enum LabelTopicCoPartitioning {
    /// Checks the partition counts; the key rule cannot be checked here and is documented.
    ///
    /// - Parameters:
    ///   - requestTopic: the request topic's name.
    ///   - requestPartitions: its partition count.
    ///   - labelsTopic: the labels topic's name.
    ///   - labelPartitions: its partition count.
    /// - Throws: ``ConfigurationValidationError`` (fatal) saying how to fix the topics.
    public static func check(requestTopic: String, requestPartitions: Int, labelsTopic: String, labelPartitions: Int) throws(ConfigurationValidationError) {
        guard requestPartitions == labelPartitions else {
            throw ConfigurationValidationError(message: "the labels topic \(labelsTopic) has \(labelPartitions) partitions and the request topic \(requestTopic) has \(requestPartitions): labels join their predictions only when both topics have the same partition count and labels are keyed like requests; repartition \(labelsTopic) to \(requestPartitions) partitions")
        }
    }
}
