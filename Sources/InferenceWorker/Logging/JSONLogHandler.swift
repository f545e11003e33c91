import Foundation
public import Logging
import Synchronization

/// A swift-log handler writing one JSON object per line, for log collectors (Fluent Bit, Vector,
/// Loki, Cloud Logging):
/// `{"timestamp":"2026-01-02T03:04:05.678Z","level":"info","label":"inference-worker","message":"...","metadata":{...},"source":"InferenceWorker"}`.
///
/// Metadata whose key names a secret is written as `<redacted>`, and registered secret values
/// are scrubbed from the message and every metadata value (``SecretRedaction``).
public struct JSONLogHandler: LogHandler {
    /// Where a finished line goes (without the newline). Called under a process-wide lock, so
    /// lines from several threads never interleave.
    public typealias Sink = @Sendable (String) -> Void

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: Sink

    /// A handler writing to standard output (what container runtimes collect).
    public static func standardOutput(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label, sink: { line in LogOutput.write(line) })
    }

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, sink: @escaping Sink) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        var line = "{\"timestamp\":"
        JSONLogHandler.appendString(Self.timestamp(), to: &line)
        line += ",\"level\":"
        JSONLogHandler.appendString(event.level.rawValue, to: &line)
        line += ",\"label\":"
        JSONLogHandler.appendString(label, to: &line)
        line += ",\"message\":"
        JSONLogHandler.appendString(SecretRedaction.scrub(event.message.description), to: &line)
        line += ",\"metadata\":"
        Self.appendObject(merged, to: &line)
        line += ",\"source\":"
        JSONLogHandler.appendString(event.source, to: &line)
        line += "}"
        sink(line)
    }

    private static func appendObject(_ metadata: Logger.Metadata, to line: inout String) {
        line += "{"
        for (i, key) in metadata.keys.sorted().enumerated() {
            if i > 0 { line += "," }
            appendString(key, to: &line)
            line += ":"
            if SecretRedaction.isSecret(key) {
                appendString(SecretRedaction.placeholder, to: &line)
            } else {
                appendValue(metadata[key]!, to: &line)
            }
        }
        line += "}"
    }

    private static func appendValue(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let s): appendString(SecretRedaction.scrub(s), to: &line)
        case .stringConvertible(let c): appendString(SecretRedaction.scrub(c.description), to: &line)
        case .dictionary(let d): appendObject(d, to: &line)
        case .array(let a):
            line += "["
            for (i, element) in a.enumerated() {
                if i > 0 { line += "," }
                appendValue(element, to: &line)
            }
            line += "]"
        }
    }

    /// Appends `s` as a JSON string literal.
    static func appendString(_ s: String, to line: inout String) {
        line += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20:
                line += String(format: "\\u%04x", scalar.value)
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }

    private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    private static func timestamp() -> String { timestampStyle.format(Date()) }
}

/// Serialised writes of whole lines to standard output and error.
enum LogOutput {
    private static let lock = Mutex(())
    static func write(_ line: String) {
        lock.withLock { _ in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }
    static func writeError(_ line: String) {
        lock.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
