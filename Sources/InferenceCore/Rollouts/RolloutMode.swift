/// How a candidate version meets traffic during a roll-out.
public struct RolloutMode: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The two ways of trying a candidate.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The candidate scores a sampled fraction of the records too (after the primary, same batch);
        /// only the primary's predictions reach the output topic and the commit path.
        case shadow
        /// A fraction of the keys is served by the candidate instead of the primary.
        case canary
    }

    /// Shadow or canary.
    public var kind: Kind
    /// The share of keys, in 0...1: sampled for the shadow, or served by the canary.
    public var fraction: Double

    /// Creates a mode.
    public init(kind: Kind, fraction: Double) {
        self.kind = kind
        self.fraction = fraction
    }

    /// A shadow candidate scoring `fraction` of the keys.
    public static func shadow(fraction: Double) -> RolloutMode { RolloutMode(kind: .shadow, fraction: fraction) }
    /// A canary serving `fraction` of the keys.
    public static func canary(fraction: Double) -> RolloutMode { RolloutMode(kind: .canary, fraction: fraction) }

    /// - Throws: ``RolloutError`` when the fraction is not a number in 0...1.
    public func validate() throws(RolloutError) {
        guard fraction.isFinite, (0...1).contains(fraction) else {
            throw RolloutError(.invalidField, field: "mode.fraction", "must be within 0...1 (0.1 means 10 % of the keys), got \(fraction)")
        }
    }

    public var description: String { "\(kind.rawValue) \(RolloutFormatting.percent(fraction))" }
}

/// Shared number formatting of the roll-out types (reasons, status tables).
enum RolloutFormatting {
    static func percent(_ fraction: Double) -> String {
        let value = fraction * 100
        return value == value.rounded() ? "\(Int(value)) %" : "\(decimal(value, digits: 2)) %"
    }

    static func decimal(_ value: Double, digits: Int = 4) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}
