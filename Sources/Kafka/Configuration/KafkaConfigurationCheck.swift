/// Checks shared by the configuration structs' `validate()`.
enum KafkaConfigurationCheck {
    static func bootstrapServers(_ servers: [String]) throws(KafkaError) {
        if servers.isEmpty || servers.allSatisfy({ $0.trimmingWhitespace.isEmpty }) {
            throw KafkaError(code: .invalidConfiguration, message: "bootstrapServers is empty: give at least one broker as host:port (e.g. localhost:9092)")
        }
        for server in servers {
            let s = server.trimmingWhitespace
            let hostPort = s.range(of: "://").map { s[$0.upperBound...] } ?? s
            guard let colon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: colon)...]),
                  (1...65535).contains(port), colon != hostPort.startIndex else {
                throw KafkaError(code: .invalidConfiguration, message: "bootstrap server '\(server)' is not host:port (e.g. localhost:9092)")
            }
        }
    }

    static func positive(_ value: Int, _ name: String) throws(KafkaError) {
        if value <= 0 { throw KafkaError(code: .invalidConfiguration, message: "\(name) must be positive (got \(value))") }
    }

    static func positive(_ value: Duration, _ name: String) throws(KafkaError) {
        if value <= .zero { throw KafkaError(code: .invalidConfiguration, message: "\(name) must be positive (got \(value))") }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, as librdkafka's `*.ms` properties take them.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return self[first...last]
    }
}
