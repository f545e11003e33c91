extension Duration {
    /// The duration in seconds as a `Double` (attosecond precision is not needed for latency control).
    public var doubleSeconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
