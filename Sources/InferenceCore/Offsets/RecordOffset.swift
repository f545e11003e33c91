/// The offset of a record within its partition (librdkafka's `int64_t`).
///
/// A wrapper rather than a bare `Int64` so that an offset cannot be passed where a partition number,
/// a count or a byte size is expected. Committing offset `n` means "the next record to read is `n`".
public struct RecordOffset: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The offset value; non-negative for real records.
    public var rawValue: Int64

    /// Wraps an offset value.
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Wraps an offset value.
    public init(_ rawValue: Int64) { self.rawValue = rawValue }

    public static func < (lhs: RecordOffset, rhs: RecordOffset) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
