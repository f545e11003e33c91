/// Back-pressure as a value-type state machine: it watches records and bytes in flight and says
/// when to hold back every assigned partition (`pause`, at or above a maximum: the pipeline
/// suspends the consumer's delivery, librdkafka's fetcher keeps its bounded prefetch) and when to
/// resume them (below a fraction of both maxima). The hysteresis keeps it from flapping on every record.
public struct FlowControl: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case none, pause, resume
    }

    public let maxRecords: Int
    public let maxBytes: Int
    public let resumeRecords: Int
    public let resumeBytes: Int
    public private(set) var isPaused = false

    public init(maxRecords: Int, maxBytes: Int, resumeFraction: Double) {
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
        resumeRecords = max(0, Int(Double(maxRecords) * resumeFraction))
        resumeBytes = max(0, Int(Double(maxBytes) * resumeFraction))
    }

    /// Called whenever the in-flight totals change.
    public mutating func update(records: Int, bytes: Int) -> Action {
        if !isPaused, records >= maxRecords || bytes >= maxBytes {
            isPaused = true
            return .pause
        }
        if isPaused, records <= resumeRecords, bytes <= resumeBytes {
            isPaused = false
            return .resume
        }
        return .none
    }
}
