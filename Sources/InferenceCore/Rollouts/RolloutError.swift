/// Why a roll-out record, evidence report or command was refused: the field at fault and what to do.
///
/// Bad input (a malformed record on the topic, a fraction outside 0...1, evidence of another roll-out)
/// becomes this error, never a crash.
public struct RolloutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is; callers branch on it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// A field of the record or a command option has a value that cannot work.
        public static let invalidField = Code(name: "invalid_field")
        /// A record or evidence report could not be decoded.
        public static let malformed = Code(name: "malformed")
        /// Evidence reports that cannot be merged (different roll-outs, windows or settings).
        public static let mismatch = Code(name: "mismatch")
        /// The requested change conflicts with the roll-out's state (a second start, a promote of a
        /// roll-out that is over).
        public static let conflict = Code(name: "conflict")
        public var description: String { name }
    }

    /// The kind of problem.
    public var code: Code
    /// The field or option at fault (JSON name), when there is one.
    public var field: String?
    /// What is wrong and how to fix it.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }

    /// Always `false`: a roll-out problem never stops the primary path; the caller keeps serving
    /// the primary (or today's behaviour without a record) and reports the error.
    public var isFatal: Bool { false }
}
