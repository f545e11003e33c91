// The shared vocabulary (KafkaTopicPartition, KafkaOffset, KafkaHeader, ...) is part of this
// module's API: clients that import Kafka get it without importing KafkaCore themselves.
@_exported public import KafkaCore
