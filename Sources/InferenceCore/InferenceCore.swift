// InferenceCore: event decoding and validation, model bundles and kernels, the micro-batcher,
// offset tracking, dead-letter policy and drift statistics. Pure Swift: no Kafka, no broker.
