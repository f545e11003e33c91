import Foundation
public import Logging

/// The operations routes of one worker: `/metrics` (Prometheus text format, gauges sampled at
/// scrape time), `/health/live`, `/health/ready` (503 with the failed checks when not ready),
/// `/dashboard` (the self-contained HTML page of ``DashboardPage``).
public enum OperationsEndpoints {
    /// The handler for ``OperationsHTTPServer``.
    ///
    /// - Parameters:
    ///   - pipeline: the pipeline whose health, metrics and latest drift report the routes show.
    ///   - metrics: the registry `/metrics` renders.
    ///   - dashboard: what `/dashboard` shows besides the pipeline's latest drift report (quality
    ///     reports, earlier windows, the roll-out state); default an empty ``RecentReports``. When it
    ///     is a ``RecentReports``, each drift report the page sees is also added to it, so the page
    ///     accumulates windows even before the pipeline feeds the store itself.
    public static func handler(pipeline: InferencePipeline, metrics: WorkerMetrics, dashboard: any DashboardSource = RecentReports()) -> OperationsHTTPServer.Handler {
        { _, path in
            switch path {
            case "/dashboard", "/dashboard/":
                return dashboardResponse(pipeline: pipeline, source: dashboard, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
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
                return .init(status: 404, body: "not found: try /metrics, /health/live, /health/ready, /dashboard\n")
            }
        }
    }

    /// The `/dashboard` page: the source's snapshot plus the pipeline's latest drift report.
    static func dashboardResponse(pipeline: InferencePipeline, source: any DashboardSource, nowMs: Int64) -> OperationsHTTPServer.Response {
        let latest = pipeline.latestDriftReport
        if let latest, let store = source as? RecentReports { store.add(latest) }
        var snapshot = source.dashboardSnapshot(nowMs: nowMs)
        if let latest, !snapshot.driftReports.contains(where: {
            $0.modelVersion == latest.modelVersion && $0.windowStartMs == latest.windowStartMs && $0.windowEndMs == latest.windowEndMs && $0.workerIDs == latest.workerIDs
        }) {
            snapshot.driftReports.append(latest)
        }
        return .init(status: 200, contentType: "text/html; charset=utf-8", body: DashboardPage.render(snapshot))
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
    ///   - dashboard: what `/dashboard` shows besides the pipeline's latest drift report.
    ///   - logger: where the server logs.
    /// - Returns: the server.
    public static func server(
        host: String = "0.0.0.0", port: Int, limits: OperationsHTTPServer.Limits = .init(),
        pipeline: InferencePipeline, metrics: WorkerMetrics, dashboard: any DashboardSource = RecentReports(), logger: Logger
    ) -> OperationsHTTPServer {
        OperationsHTTPServer(host: host, port: port, limits: limits, logger: logger, handler: handler(pipeline: pipeline, metrics: metrics, dashboard: dashboard))
    }

    /// Starts the endpoint for a pipeline on `host:port` (port 0: an ephemeral port) in a task of its
    /// own, and returns once it listens: for tests and tools that do not run a `ServiceGroup`.
    ///
    /// - Returns: the running server; ``OperationsHTTPServer/Running/shutdown()`` stops it.
    /// - Throws: ``OperationsServerError`` when the address cannot be bound.
    public static func start(
        host: String = "0.0.0.0", port: Int, pipeline: InferencePipeline, metrics: WorkerMetrics,
        dashboard: any DashboardSource = RecentReports(), logger: Logger
    ) async throws -> OperationsHTTPServer.Running {
        try await server(host: host, port: port, pipeline: pipeline, metrics: metrics, dashboard: dashboard, logger: logger).start()
    }
}
