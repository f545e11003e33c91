/// What to do with a record whose processing failed.
public enum FailureDisposition: Sendable, Hashable {
    /// Try again after this delay (transient failure, attempts left).
    case retry(after: Duration)
    /// Send the record to the dead-letter topic with this reason.
    case deadLetter(DeadLetterReason)
    /// Stop the worker without committing past the record.
    case stop
}
