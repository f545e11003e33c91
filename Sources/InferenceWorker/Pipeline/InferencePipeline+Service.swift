public import ServiceLifecycle

extension InferencePipeline {
    /// This pipeline as a swift-service-lifecycle `Service`, for a `ServiceGroup`.
    ///
    /// A wrapper rather than a conformance of the pipeline itself: `Service` requires a `run()`, and
    /// the pipeline's own ``run()`` (which knows nothing of graceful shutdown) already has that name.
    public var service: LifecycleService { LifecycleService(pipeline: self) }

    /// Runs ``InferencePipeline/run()``; graceful shutdown of the group (SIGTERM, SIGINT, or another
    /// service ending) calls ``InferencePipeline/requestShutdown()``: consuming stops, in-flight work
    /// drains within `drainTimeout`, the producer flushes, offsets commit, and `run()` returns.
    public struct LifecycleService: Service, CustomStringConvertible {
        /// The pipeline this service runs.
        public let pipeline: InferencePipeline

        /// Runs the pipeline until it has drained after graceful shutdown.
        ///
        /// - Throws: what ``InferencePipeline/run()`` throws (for example no servable model at start).
        public func run() async throws {
            let pipeline = self.pipeline
            // Cancellation (the group gave up waiting, or a service failed) also asks for a shutdown:
            // the pipeline's `run()` waits for that request and would otherwise never return.
            try await withTaskCancellationHandler {
                try await withGracefulShutdownHandler {
                    try await pipeline.run()
                } onGracefulShutdown: {
                    pipeline.requestShutdown()
                }
            } onCancel: {
                pipeline.requestShutdown()
            }
        }

        public var description: String { "InferencePipeline" }
    }
}
