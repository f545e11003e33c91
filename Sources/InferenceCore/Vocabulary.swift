// The shared vocabulary (KafkaTopicPartition, KafkaOffset, KafkaHeader, ...) that the core's API
// speaks of records in: clients that import InferenceCore get it without importing KafkaCore.
@_exported public import KafkaCore
