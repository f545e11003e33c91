/// A `ModelRegistry.Configuration` setting that cannot work.
public struct ModelRegistryConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The property at fault (`modelName`, `policy`, `pollInterval`, `maxEvents`).
    public var setting: String
    /// What is wrong with it.
    public var message: String

    /// Creates an error about `setting`.
    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { "invalid model registry configuration: \(setting) \(message)" }
}
