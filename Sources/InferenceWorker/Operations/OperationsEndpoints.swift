public import Logging

/// The operations routes of one worker: `/metrics` (Prometheus text format, gauges sampled at
/// scrape time), `/health/live`, `/health/ready` (503 with the failed checks when not ready).
public enum OperationsEndpoints {
    /// The handler for ``OperationsHTTPServer``.
    public static func handler(pipeline: InferencePipeline, metrics: WorkerMetrics) -> OperationsHTTPServer.Handler {
        { _, path in
            switch path {
            case "/metrics":
                let health = WorkerHealth.readiness(of: pipeline)
                metrics.collect(from: pipeline, health: health)
                return .init(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.render())
            case "/health/live", "/healthz", "/livez":
                return .init(status: 200, contentType: "application/json", body: "{\"status\":\"live\"}\n")
            case "/health/ready", "/readyz":
                let report = WorkerHealth.readiness(of: pipeline)
                return .init(status: report.isReady ? 200 : 503, contentType: "application/json", body: report.json + "\n")
            default:
                return .init(status: 404, body: "not found: try /metrics, /health/live, /health/ready\n")
            }
        }
    }

    /// The operations server for a pipeline, not yet running: run it as a `Service` of the worker's
    /// `ServiceGroup` (or call ``OperationsHTTPServer/start()``).
    ///
    /// - Parameters:
    ///   - host: the address to listen on; default `0.0.0.0` (every IPv4 interface).
    ///   - port: the port; 0 asks for an ephemeral one.
    ///   - limits: what one client may cost; see ``OperationsHTTPServer/Limits``.
    ///   - pipeline: the pipeline whose health and metrics the routes report.
    ///   - metrics: the registry `/metrics` renders.
    ///   - logger: where the server logs.
    /// - Returns: the server.
    public static func server(
        host: String = "0.0.0.0", port: Int, limits: OperationsHTTPServer.Limits = .init(),
        pipeline: InferencePipeline, metrics: WorkerMetrics, logger: Logger
    ) -> OperationsHTTPServer {
        OperationsHTTPServer(host: host, port: port, limits: limits, logger: logger, handler: handler(pipeline: pipeline, metrics: metrics))
    }

    /// Starts the endpoint for a pipeline on `host:port` (port 0: an ephemeral port) in a task of its
    /// own, and returns once it listens: for tests and tools that do not run a `ServiceGroup`.
    ///
    /// - Returns: the running server; ``OperationsHTTPServer/Running/shutdown()`` stops it.
    /// - Throws: ``OperationsServerError`` when the address cannot be bound.
    public static func start(
        host: String = "0.0.0.0", port: Int, pipeline: InferencePipeline, metrics: WorkerMetrics, logger: Logger
    ) async throws -> OperationsHTTPServer.Running {
        try await server(host: host, port: port, pipeline: pipeline, metrics: metrics, logger: logger).start()
    }
}
