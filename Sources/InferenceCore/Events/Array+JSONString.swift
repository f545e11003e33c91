extension [UInt8] {
    /// Appends `value` as an escaped JSON string literal (used once per label or model name).
    mutating func appendJSONString(_ value: String) {
        JSONWriter.append(to: &self, upperBound: JSONWriter.escapedBound(value)) { $0.string(value) }
    }
}
