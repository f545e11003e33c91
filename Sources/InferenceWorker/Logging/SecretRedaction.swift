import Synchronization

/// Keeps secrets out of logs, metrics, `--check-config` output and error messages.
///
/// Two nets: by *name* (a setting or metadata key named like a password, secret, token,
/// credential or key is shown as `<redacted>`), and by *value* (the values of secret settings
/// are registered at start-up, and every log line is scrubbed of them, so a secret echoed inside
/// an error message, e.g. by librdkafka, is caught too).
public enum SecretRedaction {
    /// What a redacted value reads as.
    public static let placeholder = "<redacted>"

    /// Whether a setting or metadata key names a secret: `sasl.password`, `ssl.key.password`,
    /// `sasl.oauthbearer.client.secret`, `ssl.key.pem`, `api_key`, `auth.token`, `sasl.jaas.config`...
    /// (`ssl.key.location` is a path, not a secret, and stays visible.)
    public static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        if ["password", "passwd", "secret", "token", "credential", "private", "jaas"].contains(where: { k.contains($0) }) { return true }
        if k.hasSuffix("key") || k.hasSuffix("key.pem") || k.hasSuffix("_key") || k.hasSuffix(".key") { return true }
        if k.contains("apikey") || k.contains("api_key") || k.contains("api.key") { return true }
        return false
    }

    /// `value`, or the placeholder when `key` names a secret.
    public static func redacted(_ key: String, _ value: String) -> String {
        isSecret(key) ? placeholder : value
    }

    private static let knownValues = Mutex<[String]>([])

    /// Registers the values of secret settings so that ``scrub(_:)`` removes them from any text.
    /// Values shorter than 4 characters are ignored (they would redact ordinary words).
    public static func register(secretsIn properties: [String: String]) {
        let values = properties.filter { isSecret($0.key) && $0.value.count >= 4 }.map(\.value)
        guard !values.isEmpty else { return }
        knownValues.withLock { known in
            for value in values where !known.contains(value) { known.append(value) }
            known.sort { $0.count > $1.count } // longest first: no partial leftovers
        }
    }

    /// `text` with every registered secret value replaced by the placeholder.
    public static func scrub(_ text: String) -> String {
        let values = knownValues.withLock { $0 }
        guard !values.isEmpty else { return text }
        var result = text
        for value in values where result.contains(value) {
            result = result.replacing(value, with: placeholder)
        }
        return result
    }
}
