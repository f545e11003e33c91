/// A kernel was constructed with inconsistent shapes (weights that do not match the declared widths).
///
/// The bundle loader checks shapes first and reports them as `ModelBundleError`; this error is what
/// a kernel built by hand (tests, exporters in Swift) gets.
public struct KernelConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is inconsistent, and the numbers involved.
    public var message: String

    /// Creates an error with `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { "KernelConfigurationError: \(message)" }
}
