import CKafkaShim

/// Builds an `rd_kafka_conf_t` from property pairs, turning librdkafka's refusals into clear errors.
enum RDKafkaConfig {
    /// Keys whose values must never appear in logs or error messages.
    static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("password") || k.contains("secret") || k.hasSuffix(".key") || k.contains("key.pem")
            || k.contains("token") || k.contains("credentials")
    }

    /// Creates a configuration; the caller owns it until `rd_kafka_new` succeeds.
    static func make(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            switch result {
            case RD_KAFKA_CONF_OK:
                continue
            case RD_KAFKA_CONF_UNKNOWN:
                rd_kafka_conf_destroy(conf)
                throw KafkaError(
                    code: .unknownConfigurationKey,
                    message: "librdkafka \(KafkaLibrary.versionString) does not know the configuration key '\(key)'. Check its spelling; keys added in newer librdkafka versions need a newer runtime library"
                )
            default:
                let reason = String(cBuffer: errstr)
                rd_kafka_conf_destroy(conf)
                let shown = isSecret(key) ? "<redacted>" : "'\(value)'"
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "invalid value \(shown) for librdkafka configuration key '\(key)': \(isSecret(key) ? "rejected" : reason)"
                )
            }
        }
        return conf
    }
}
