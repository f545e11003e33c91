public import InferenceCore

extension InferencePipeline {
    /// The version serving the model's traffic: the roll-out record's `primary_version` when a
    /// record is followed and that version is loaded, else the model source's current version (what
    /// the scoring thread picks at its next batch boundary; a canary's candidate serves its share of
    /// keys besides). For `model_info` and readiness.
    public var servingModel: LoadedModel? {
        if let record = rollouts?.record(for: configuration.modelName), let model = models.model(version: record.primaryVersion) {
            return model
        }
        return models.current
    }
}
