// InferenceWorker: wires the Kafka layer and the core into the consume -> infer -> publish pipeline.
