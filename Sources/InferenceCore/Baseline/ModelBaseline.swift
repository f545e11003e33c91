/// Training-time distributions of a model's input features and output, carried in the bundle so that
/// drift monitoring compares live traffic to what the model was trained on.
public struct ModelBaseline: Sendable, Hashable, Codable {
    /// Feature name -> distribution.
    public var features: [String: DistributionBaseline]
    /// Distribution of the score (regression, binary) or of the predicted class (multiclass).
    public var output: DistributionBaseline?

    /// Creates a baseline.
    public init(features: [String: DistributionBaseline] = [:], output: DistributionBaseline? = nil) {
        self.features = features
        self.output = output
    }
}
