/// Why one row of a batch got no prediction: its input was invalid, or the model's output for it was.
public enum PredictionError: Error, Sendable, CustomStringConvertible {
    /// The row failed input validation and never reached the model.
    case invalidInput(InputValidationError)
    /// The model's output for the row failed output validation.
    case invalidOutput(OutputValidationError)

    /// Neither kind of failure changes on retry: dead-letter the row.
    public var isRetriable: Bool { false }

    /// A stable reason code (`missing_feature`, `output_non_finite`, ...).
    public var code: String {
        switch self {
        case .invalidInput(let error): error.code.rawValue
        case .invalidOutput(let error): error.code.rawValue
        }
    }

    /// The human message of the underlying error.
    public var message: String {
        switch self {
        case .invalidInput(let error): error.message
        case .invalidOutput(let error): error.message
        }
    }

    public var description: String {
        switch self {
        case .invalidInput(let error): error.description
        case .invalidOutput(let error): error.description
        }
    }
}
