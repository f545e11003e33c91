public import InferenceCore
import Synchronization

/// The state of a roll-out, as the page shows it (``init(record:)`` from the record the worker
/// follows); without one the page shows an explicit "no roll-out" placeholder.
public struct DashboardRollout: Sendable, Hashable {
    /// A short state, e.g. `canary 10%`, `promoting`, `rolled back`.
    public var state: String
    /// Facts shown as a table, in order (e.g. `("candidate", "v8")`, `("traffic share", "10%")`).
    public var details: [Detail]

    /// One fact.
    public struct Detail: Sendable, Hashable {
        public var name: String
        public var value: String
        /// Creates a fact.
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    /// Creates a roll-out state.
    public init(state: String, details: [Detail] = []) {
        self.state = state
        self.details = details
    }
}

/// Everything one rendering of the dashboard shows.
public struct DashboardSnapshot: Sendable {
    /// The page title.
    public var title: String
    /// When the snapshot was taken (or the end of the period a report covers), ms since the epoch.
    public var generatedAtMs: Int64
    /// A line under the title (e.g. the period of an offline report).
    public var subtitle: String?
    /// Drift reports, any order; the page groups them by model version and orders them by window.
    public var driftReports: [DriftReport]
    /// Quality reports, likewise.
    public var qualityReports: [QualityReport]
    /// The roll-out in progress, if any.
    public var rollout: DashboardRollout?

    /// Creates a snapshot.
    public init(title: String = "inference-worker", generatedAtMs: Int64, subtitle: String? = nil, driftReports: [DriftReport] = [],
                qualityReports: [QualityReport] = [], rollout: DashboardRollout? = nil) {
        self.title = title
        self.generatedAtMs = generatedAtMs
        self.subtitle = subtitle
        self.driftReports = driftReports
        self.qualityReports = qualityReports
        self.rollout = rollout
    }
}

/// Where `/dashboard` gets what it shows. ``RecentReports`` is the implementation the worker uses;
/// the pipeline (or a test) feeds it.
public protocol DashboardSource: Sendable {
    /// The current snapshot.
    ///
    /// - Parameter nowMs: the current time, ms since the epoch.
    func dashboardSnapshot(nowMs: Int64) -> DashboardSnapshot
}

/// The most recent drift and quality reports per model version, bounded, safe to feed from any thread:
/// the pipeline adds each report it publishes (``add(_:)-(DriftReport)``, ``add(_:)-(QualityReport)``),
/// and `/dashboard` renders a snapshot of it.
public final class RecentReports: DashboardSource {
    private struct State {
        var drift: [String: [DriftReport]] = [:]
        var quality: [String: [QualityReport]] = [:]
        var rollout: DashboardRollout?
        var followRollout: (@Sendable () -> DashboardRollout?)?
    }

    /// Windows kept per model version and kind of report.
    public let windowsPerVersion: Int
    /// Model versions kept (the most recently reported); older versions are dropped.
    public let maxVersions: Int
    /// The page title.
    public let title: String
    private let state = Mutex(State())

    /// Creates an empty store.
    ///
    /// - Parameters:
    ///   - title: the page title; default `inference-worker`.
    ///   - windowsPerVersion: windows kept per version; default 30.
    ///   - maxVersions: versions kept; default 4.
    public init(title: String = "inference-worker", windowsPerVersion: Int = 30, maxVersions: Int = 4) {
        self.title = title
        self.windowsPerVersion = Swift.max(1, windowsPerVersion)
        self.maxVersions = Swift.max(1, maxVersions)
    }

    /// Adds a drift report; a report for the same version and window as a kept one replaces it.
    public func add(_ report: DriftReport) {
        state.withLock { state in
            var list = state.drift[report.modelVersion, default: []]
            list.removeAll { $0.windowStartMs == report.windowStartMs && $0.windowEndMs == report.windowEndMs && $0.workerIDs == report.workerIDs }
            list.append(report)
            list.sort { $0.windowEndMs < $1.windowEndMs }
            if list.count > windowsPerVersion { list.removeFirst(list.count - windowsPerVersion) }
            state.drift[report.modelVersion] = list
            Self.trim(&state.drift, keep: maxVersions) { $0.last?.windowEndMs ?? 0 }
        }
    }

    /// Adds a quality report; a report for the same version and window as a kept one replaces it.
    public func add(_ report: QualityReport) {
        state.withLock { state in
            var list = state.quality[report.modelVersion, default: []]
            list.removeAll { $0.windowStartMs == report.windowStartMs && $0.windowEndMs == report.windowEndMs && $0.workerIDs == report.workerIDs }
            list.append(report)
            list.sort { $0.windowEndMs < $1.windowEndMs }
            if list.count > windowsPerVersion { list.removeFirst(list.count - windowsPerVersion) }
            state.quality[report.modelVersion] = list
            Self.trim(&state.quality, keep: maxVersions) { $0.last?.windowEndMs ?? 0 }
        }
    }

    /// Sets (or clears) the roll-out state shown.
    public func setRollout(_ rollout: DashboardRollout?) { state.withLock { $0.rollout = rollout } }

    /// Shows, at each rendering, the roll-out `current` returns (the record the worker follows);
    /// when it returns nil, what ``setRollout(_:)`` set.
    public func followRollout(_ current: @escaping @Sendable () -> DashboardRollout?) {
        state.withLock { $0.followRollout = current }
    }

    private static func trim<R>(_ map: inout [String: [R]], keep: Int, latest: ([R]) -> Int64) {
        guard map.count > keep else { return }
        let byAge = map.keys.sorted { latest(map[$0]!) < latest(map[$1]!) }
        for key in byAge.prefix(map.count - keep) { map.removeValue(forKey: key) }
    }

    public func dashboardSnapshot(nowMs: Int64) -> DashboardSnapshot {
        // The follower is called outside the lock: it takes the roll-out source's own.
        let follow = state.withLock { $0.followRollout }
        let followed = follow?()
        return state.withLock { state in
            DashboardSnapshot(title: title, generatedAtMs: nowMs, driftReports: state.drift.values.flatMap { $0 },
                              qualityReports: state.quality.values.flatMap { $0 }, rollout: followed ?? state.rollout)
        }
    }
}
