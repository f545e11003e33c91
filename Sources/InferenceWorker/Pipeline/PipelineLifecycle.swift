/// The pipeline's lifecycle as a value-type state machine: events in, actions out (the pipeline
/// performs them outside its lock).
///
/// ```
/// running --shutdown--> draining --stopped--> stopped
///    \                     |
///     +------abandon-------+--> abandoned --stopped--> stopped
/// ```
/// - `running`: consuming and scoring.
/// - `draining`: a graceful stop: leaving the group revokes every partition, whose in-flight work
///   gets `drainTimeout` to finish and is committed; the producer then flushes.
/// - `abandoned`: a stop without committing anything more, as a crash would (tests, an
///   unrecoverable producer): in-flight inputs are redelivered to the partitions' next owner.
/// - `stopped`: ``InferencePipeline/run()`` returned.
struct PipelineLifecycle: Sendable, Hashable {
    enum Phase: Sendable, Hashable {
        case running, draining, abandoned, stopped
    }

    /// What the owner does after an event.
    enum Action: Sendable, Hashable {
        case none
        /// Wake ``InferencePipeline/run()`` so that it drains and stops.
        case beginStopping
        /// As `beginStopping`, and first make every later delivery and revocation commit nothing.
        case abandonAndStop
    }

    private(set) var phase: Phase = .running

    /// A graceful stop was asked for (SIGTERM, the service group): drain from `running`.
    mutating func shutdownRequested() -> Action {
        guard phase == .running else { return .none }
        phase = .draining
        return .beginStopping
    }

    /// A stop without committing was asked for: from `running` or `draining` (a drain under way
    /// commits nothing more from now on).
    mutating func abandonRequested() -> Action {
        switch phase {
        case .running, .draining:
            phase = .abandoned
            return .abandonAndStop
        case .abandoned, .stopped:
            return .none
        }
    }

    /// ``InferencePipeline/run()`` finished stopping.
    mutating func stopped() {
        phase = .stopped
    }

    /// Whether a stop was asked for or happened (readiness turns false at once).
    var isShuttingDown: Bool { phase != .running }
    /// Whether revocations and deliveries may still commit.
    var commits: Bool { phase == .running || phase == .draining }
}
