/// Why a model output for one row was rejected before publishing.
///
/// A model that emits NaN, a probability outside [0, 1], probabilities that do not sum to 1, or a
/// score outside the declared output range is broken for that row; the prediction is withheld and the
/// row is dead-lettered with this reason. Not retriable: the same model gives the same output.
public struct OutputValidationError: Error, Sendable, CustomStringConvertible {
    /// The reason an output was rejected.
    public enum Reason: Sendable {
        /// Output value `index` is NaN or infinite.
        case nonFinite(index: Int, value: Float)
        /// Probability `index` lies outside [0, 1] (beyond the tolerance).
        case probabilityOutOfUnitInterval(index: Int, value: Float)
        /// The class probabilities sum to `sum`, not 1 within `tolerance`.
        case probabilitySum(sum: Double, tolerance: Double)
        /// The score lies outside the declared output range.
        case outOfRange(value: Float, lower: Double, upper: Double)
        /// The model runtime failed on this row (an external runtime, e.g. ONNX Runtime, refused it
        /// even when run alone; its batch-mates were scored without it).
        case runtimeFailure(ModelRuntimeError)
    }

    /// A stable, machine-readable identifier of the reason.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let nonFinite = Code(rawValue: "output_non_finite")
        public static let probabilityOutOfUnitInterval = Code(rawValue: "output_probability_out_of_unit_interval")
        public static let probabilitySum = Code(rawValue: "output_probability_sum")
        public static let outOfRange = Code(rawValue: "output_out_of_range")
        public static let runtimeFailure = Code(rawValue: "output_runtime_failure")
    }

    /// Why the output was rejected.
    public var reason: Reason

    /// Creates an error for `reason`.
    public init(reason: Reason) { self.reason = reason }

    /// The same model gives the same output: never retry.
    public var isRetriable: Bool { false }

    /// The machine-readable reason.
    public var code: Code {
        switch reason {
        case .nonFinite: .nonFinite
        case .probabilityOutOfUnitInterval: .probabilityOutOfUnitInterval
        case .probabilitySum: .probabilitySum
        case .outOfRange: .outOfRange
        case .runtimeFailure: .runtimeFailure
        }
    }

    /// A human message; the fix is on the model side (retrain or re-export), not the sender's.
    public var message: String {
        switch reason {
        case .nonFinite(let index, let value):
            return "model output \(index) is \(value): the model produced a non-finite value for this row; check the model's weights and the row's extreme values"
        case .probabilityOutOfUnitInterval(let index, let value):
            return "model output \(index) is \(value), not a probability in [0, 1]: check the bundle's output activation"
        case .probabilitySum(let sum, let tolerance):
            return "class probabilities sum to \(sum), not 1 within \(tolerance): check the bundle's output activation (softmax) and output.sum_tolerance"
        case .outOfRange(let value, let lower, let upper):
            return "model output \(value) is outside the declared output range [\(lower), \(upper)]: widen output.range or investigate the row"
        case .runtimeFailure(let error):
            return "the model runtime failed on this row (\(error.code)): \(error.message)"
        }
    }

    public var description: String { "OutputValidationError(\(code)): \(message)" }
}
