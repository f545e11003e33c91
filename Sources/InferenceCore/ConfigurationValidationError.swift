/// A configuration value that cannot work, with what to change; thrown by the `validate()` methods
/// of InferenceCore's configuration structs.
public struct ConfigurationValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var message: String

    /// Creates an error with its message.
    public init(message: String) { self.message = message }

    public var description: String { message }

    /// Always `true`: a worker with a configuration that does not validate must not start.
    public var isFatal: Bool { true }
}
