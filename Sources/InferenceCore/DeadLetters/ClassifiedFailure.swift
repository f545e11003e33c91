/// An error that says how the pipeline should treat it; ``DeadLetterPolicy`` reads these flags.
///
/// - `isFatal`: stop the worker (a bug, lost invariants, configuration that cannot work);
/// - `isRetriable`: a transient condition (timeout, broker unavailable): try the same record again later;
/// - `deadLetterReason`: the record itself is bad: send it to the dead-letter topic with this reason.
public protocol ClassifiedFailure: Error {
    /// The error is transient and the same operation may succeed later.
    var isRetriable: Bool { get }
    /// The worker must stop: continuing could lose or corrupt data.
    var isFatal: Bool { get }
    /// The reason to dead-letter the record with, when the record (not the system) is at fault.
    var deadLetterReason: DeadLetterReason? { get }
}

extension ClassifiedFailure {
    /// Default: not retriable.
    public var isRetriable: Bool { false }
    /// Default: not fatal.
    public var isFatal: Bool { false }
    /// Default: no reason (the record itself is not at fault).
    public var deadLetterReason: DeadLetterReason? { nil }
}
