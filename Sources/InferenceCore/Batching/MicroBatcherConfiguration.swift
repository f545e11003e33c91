/// How a ``MicroBatcher`` closes batches.
///
/// A batch closes when it holds ``maxBatchSize`` records (or the adaptive target, when ``adaptive``
/// is set) or when its *oldest* record has waited ``maxDelay``, whichever comes first - the same two
/// knobs as TorchServe's `batch_size` / `max_batch_delay` and Ray Serve's `max_batch_size` /
/// `batch_wait_timeout_s`.
public struct MicroBatcherConfiguration: Sendable, Hashable {
    /// The largest batch ever formed. Default 64.
    public var maxBatchSize: Int
    /// The longest the oldest record of a batch waits before the batch closes. Default 5 ms.
    public var maxDelay: Duration
    /// When set, the batch size target adapts to a latency objective (see ``AdaptiveBatchSizer``)
    /// within `1...maxBatchSize`. Default `nil`: always close at `maxBatchSize`.
    public var adaptive: AdaptiveBatchSizer.Configuration?

    /// Creates a configuration; call ``validate()`` before use.
    public init(maxBatchSize: Int = 64, maxDelay: Duration = .milliseconds(5), adaptive: AdaptiveBatchSizer.Configuration? = nil) {
        self.maxBatchSize = maxBatchSize
        self.maxDelay = maxDelay
        self.adaptive = adaptive
    }

    /// Rejects sizes below 1, negative delays and nonsensical adaptive settings.
    public func validate() throws(ConfigurationValidationError) {
        guard maxBatchSize >= 1 else {
            throw ConfigurationValidationError(message: "maxBatchSize is \(maxBatchSize); it must be at least 1")
        }
        guard maxDelay >= .zero else {
            throw ConfigurationValidationError(message: "maxDelay is \(maxDelay); it must not be negative (use .zero to never wait)")
        }
        if let adaptive { try adaptive.validate() }
    }
}
