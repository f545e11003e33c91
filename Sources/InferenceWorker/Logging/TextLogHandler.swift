import Foundation
public import Logging

/// A plain-text handler (`2026-01-02T03:04:05Z info inference-worker: message key=value`) with the
/// same redaction as ``JSONLogHandler``; the default `--log-format text`.
public struct TextLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: JSONLogHandler.Sink

    /// A handler writing to standard error (swift-log's usual place for text logs).
    public static func standardError(label: String) -> TextLogHandler {
        TextLogHandler(label: label, sink: { line in LogOutput.writeError(line) })
    }

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, sink: @escaping JSONLogHandler.Sink) {
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
        var line = "\(Date().formatted(.iso8601)) \(event.level) \(label): \(SecretRedaction.scrub(event.message.description))"
        for key in merged.keys.sorted() {
            let value = SecretRedaction.isSecret(key) ? SecretRedaction.placeholder : SecretRedaction.scrub("\(merged[key]!)")
            line += " \(key)=\(value)"
        }
        sink(line)
    }
}
