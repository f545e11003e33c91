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

    /// Starts the endpoint for a pipeline on `port` (0: an ephemeral port).
    public static func start(host: String = "0.0.0.0", port: Int, pipeline: InferencePipeline, metrics: WorkerMetrics, logger: Logger) throws -> OperationsHTTPServer {
        try OperationsHTTPServer(host: host, port: port, logger: logger, handler: handler(pipeline: pipeline, metrics: metrics))
    }
}
