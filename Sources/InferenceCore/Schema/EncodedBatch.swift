/// A batch of raw rows encoded into one contiguous row-major Float32 matrix, with a verdict per row.
///
/// Only rows that passed validation are packed into `matrix`, in input order, so one bad row never
/// fails its batch-mates: the kernel runs on `packedCount` rows and `rows[i]` says where input row `i`
/// went (or why it was rejected).
public struct EncodedBatch: Sendable {
    /// What happened to one input row.
    public enum RowStatus: Sendable {
        /// Encoded into row `index` of `matrix`.
        case packed(index: Int)
        /// Rejected; not in `matrix`.
        case rejected(InputValidationError)
    }

    /// Float32 columns per packed row (the schema's encoded width).
    public let width: Int
    /// `packedCount * width` values, row-major.
    public internal(set) var matrix: [Float]
    /// One status per input row, in input order.
    public internal(set) var rows: [RowStatus]
    /// Rows packed into `matrix`.
    public internal(set) var packedCount: Int

    init(width: Int, capacity: Int) {
        self.width = width
        self.matrix = []
        self.rows = []
        self.packedCount = 0
        rows.reserveCapacity(capacity)
    }
}
