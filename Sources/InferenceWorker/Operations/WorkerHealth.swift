import Foundation

/// Liveness and readiness of a worker, as the health endpoints report them.
///
/// - live: the process answers (the HTTP thread runs). Deliberately nothing more: a liveness
///   probe that fails on a broker outage would restart every replica at once and fix nothing.
/// - ready: a model is loaded, the producer is up (not being recreated after a fatal error), the
///   member has joined its group (with or without partitions: a replica beyond the partition count
///   is idle but healthy), no output is held back because its topic cannot be written (a missing
///   or forbidden dead-letter or output topic: its partitions stop advancing until an operator
///   acts), and no shutdown is under way. Kubernetes stops routing to (and counting on) a pod that is not ready;
///   for a Kafka consumer that mostly gates rolling updates: the next pod is replaced only once
///   this one has joined.
public enum WorkerHealth {
    /// One readiness evaluation, with each condition, for the endpoint's JSON body.
    public struct Report: Sendable, Hashable {
        public var modelLoaded: Bool
        public var producerUp: Bool
        public var joinedGroup: Bool
        public var shuttingDown: Bool
        /// Outputs are held back because their topic cannot be written.
        public var outputsBlocked: Bool = false
        public var isReady: Bool { modelLoaded && producerUp && joinedGroup && !shuttingDown && !outputsBlocked }

        /// `{"status":"ready","checks":{...}}`, one line.
        public var json: String {
            let status = isReady ? "ready" : "not ready"
            return "{\"status\":\"\(status)\",\"checks\":{\"model_loaded\":\(modelLoaded),\"producer_up\":\(producerUp),\"group_joined\":\(joinedGroup),\"shutting_down\":\(shuttingDown),\"outputs_blocked\":\(outputsBlocked)}}"
        }
    }

    /// Evaluates readiness from the pipeline's public state.
    public static func readiness(of pipeline: InferencePipeline) -> Report {
        Report(
            modelLoaded: pipeline.servingModel != nil,
            producerUp: pipeline.isProducerUp,
            joinedGroup: pipeline.hasJoinedGroup || !pipeline.assignedPartitions.isEmpty,
            shuttingDown: pipeline.isShuttingDown,
            outputsBlocked: pipeline.blockedOutputs > 0
        )
    }
}
