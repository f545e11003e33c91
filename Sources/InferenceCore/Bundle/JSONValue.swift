/// Free-form JSON (the manifest's `training` section, a feature's `default`), kept as decoded.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// A scalar as a person reads it, for `model inspect`; `nil` for arrays, objects and `null`.
    ///
    /// JSON has one number type and the manifest decodes every number as a `Double`, so an integer
    /// training parameter (`"n_estimators": 150`) would print as `150.0`: an integral value of
    /// magnitude below 2^63 prints as the integer it is, any other number as the shortest decimal
    /// that reads back as the same `Double` (`0.1`, `1e+100`).
    public var scalarText: String? {
        switch self {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number):
            if number.isFinite, number == number.rounded(), abs(number) < 9.223_372_036_854_775_808e18 {
                String(Int64(number))
            } else {
                "\(number)"
            }
        case .null, .array, .object: nil
        }
    }
}
