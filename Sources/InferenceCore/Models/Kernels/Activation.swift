import Foundation

/// An element-wise (or, for softmax, row-wise) activation applied in place to a row-major block.
public enum Activation: String, Sendable, Hashable, CaseIterable {
    case identity
    case relu
    case tanh
    case sigmoid
    /// Row-wise: exponentiates and normalises each row so it sums to 1.
    case softmax

    /// Applies the activation in place to `rowCount` rows of `width` values starting at `values`.
    func apply(_ values: UnsafeMutablePointer<Float>, rowCount: Int, width: Int) {
        let count = rowCount * width
        switch self {
        case .identity:
            return
        case .relu:
            for i in 0..<count { values[i] = Swift.max(values[i], 0) }
        case .tanh:
            for i in 0..<count { values[i] = hyperbolicTangent(values[i]) }
        case .sigmoid:
            for i in 0..<count { values[i] = Activation.sigmoid(values[i]) }
        case .softmax:
            for r in 0..<rowCount {
                let row = values + r * width
                var maximum = -Float.infinity
                for j in 0..<width { maximum = Swift.max(maximum, row[j]) }
                var sum: Float = 0
                for j in 0..<width {
                    let e = exp(row[j] - maximum)
                    row[j] = e
                    sum += e
                }
                let inverse = 1 / sum
                for j in 0..<width { row[j] *= inverse }
            }
        }
    }

    /// The logistic function, written so that neither branch overflows `exp`.
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 {
            return 1 / (1 + exp(-x))
        }
        let e = exp(x)
        return e / (1 + e)
    }
}

/// Free function so that the call does not resolve to the `Activation.tanh` case.
private func hyperbolicTangent(_ x: Float) -> Float {
    tanh(x)
}
