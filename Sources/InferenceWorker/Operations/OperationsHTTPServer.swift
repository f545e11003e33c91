import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import NIOHTTPTypes
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The HTTP server of the operations endpoints (`/metrics`, `/health/live`, `/health/ready`): GET and
/// HEAD only, on hummingbird 2 with one event-loop thread (shared by the process's operations
/// servers), run as a `Service`.
///
/// Why hummingbird rather than a socket loop of our own: the next endpoints (a dashboard, rollout
/// commands) need routing, keep-alive and a parser that has been hardened by others. What it costs:
/// swift-nio in the build (measured in the issue 14 note). Its tasks run on that event-loop thread,
/// never on Swift's cooperative pool, so a busy pool does not delay a probe; routes only read
/// counters and render text, so they never hold the thread for long.
///
/// What a client can cost is bounded (``Limits``): a request line plus headers above 8 KiB is
/// refused with 400, a request body above 8 KiB closes the connection, a connection idle for 2 s
/// (not sending its request, not reading its response) is closed, and at most 4 connections are
/// served at once (more wait in the listen backlog), so a stuck or hostile client can neither exhaust
/// memory nor keep a scrape from being answered for long.
public final class OperationsHTTPServer: Service, Sendable, CustomStringConvertible {
    /// What a route answers.
    public struct Response: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// The `Content-Type` header.
        public var contentType: String
        /// The body (omitted on the wire for HEAD; its length is still sent).
        public var body: String

        /// Creates a response.
        ///
        /// - Parameters:
        ///   - status: the HTTP status code.
        ///   - contentType: the `Content-Type`; default plain UTF-8 text.
        ///   - body: the body.
        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    /// Answers one request (method, path without the query string). Runs on a task of the server's.
    public typealias Handler = @Sendable (_ method: String, _ path: String) -> Response

    /// What one client may cost the server.
    public struct Limits: Sendable {
        /// Largest request line plus headers, and largest body, in bytes. Default 8192.
        public var maxRequestBytes: Int
        /// A connection that sends nothing and reads nothing for this long is closed. Default 2 s.
        public var idleTimeout: Duration
        /// Connections served at once; further ones wait in the listen backlog. Default 4.
        public var maxConnections: Int

        /// Creates limits; see each property for its default.
        public init(maxRequestBytes: Int = 8192, idleTimeout: Duration = .seconds(2), maxConnections: Int = 4) {
            self.maxRequestBytes = maxRequestBytes
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
        }
    }

    /// Where the server listens once bound.
    public struct BoundAddress: Sendable, Equatable, CustomStringConvertible {
        /// The IP address bound (`0.0.0.0`: every IPv4 interface).
        public var host: String
        /// The port bound (the actual one when port 0 was asked for).
        public var port: Int

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// The host asked for: an IP address or a name to resolve.
    public let host: String
    /// The port asked for (0: an ephemeral port).
    public let requestedPort: Int
    /// The limits this server enforces.
    public let limits: Limits
    private let logger: Logger
    private let handler: Handler

    private struct State {
        var bound: BoundAddress?
        var failure: OperationsServerError?
        var waiters: [CheckedContinuation<BoundAddress, any Error>] = []
    }
    private let state = Mutex(State())

    /// One event-loop thread for every operations server of the process, kept for its lifetime (as
    /// NIO's singletons are): shutting a group down right after the server stops raced with NIO's
    /// last clean-up tasks of closed connections ("Cannot schedule tasks on an EventLoop that has
    /// already shut down").
    private static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// Runs the servers' tasks on that thread (routes only read counters and render text).
    private static let executor = EventLoopTaskExecutor(eventLoop: eventLoops.next())

    /// Creates a server; nothing is bound until ``run()``.
    ///
    /// - Parameters:
    ///   - host: the address to listen on; default `0.0.0.0` (every IPv4 interface).
    ///   - port: the port; 0 asks for an ephemeral one (see ``boundAddress``).
    ///   - limits: what a client may cost; see ``Limits``.
    ///   - logger: where the server logs that it listens, and what fails.
    ///   - handler: answers each GET or HEAD.
    public init(host: String = "0.0.0.0", port: Int, limits: Limits = Limits(), logger: Logger, handler: @escaping Handler) {
        self.host = host
        self.requestedPort = port
        self.limits = limits
        self.logger = logger
        self.handler = handler
    }

    public var description: String { "OperationsHTTPServer(\(host):\(requestedPort))" }

    /// Where the server listens, once ``run()`` has bound its socket; nil before and after a failure.
    public var boundAddress: BoundAddress? { state.withLock { $0.bound } }

    /// Waits until ``run()`` has bound its socket and returns where.
    ///
    /// - Returns: the address and port bound.
    /// - Throws: ``OperationsServerError`` when the server could not bind or stopped first.
    public func waitUntilListening() async throws -> BoundAddress {
        try await withCheckedThrowingContinuation { continuation in
            enum Outcome { case bound(BoundAddress), failed(OperationsServerError), wait }
            let outcome = state.withLock { state -> Outcome in
                if let bound = state.bound { return .bound(bound) }
                if let failure = state.failure { return .failed(failure) }
                state.waiters.append(continuation)
                return .wait
            }
            switch outcome {
            case .bound(let address): continuation.resume(returning: address)
            case .failed(let error): continuation.resume(throwing: error)
            case .wait: break
            }
        }
    }

    /// Binds and serves until graceful shutdown (or cancellation), then stops accepting, lets the
    /// requests being answered finish, and returns.
    ///
    /// - Throws: ``OperationsServerError`` when the address cannot be bound (port taken, unknown host).
    public func run() async throws {
        // hummingbird logs its own "server started" at info; ours (with metadata) is enough.
        var serverLogger = logger
        if serverLogger.logLevel < .notice { serverLogger.logLevel = .notice }
        let maxBytes = limits.maxRequestBytes
        let responder = CallbackResponder<BasicRequestContext> { [handler] request, _ in
            Self.respond(to: request, handler: handler)
        }
        let application = Application(
            responder: responder,
            server: .http1(configuration: HTTP1Channel.Configuration(
                additionalChannelHandlers: [RequestBodyLimitHandler(maxBytes: maxBytes)],
                idleTimeout: .nanoseconds(limits.idleTimeout.components.seconds * 1_000_000_000 + limits.idleTimeout.components.attoseconds / 1_000_000_000),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: maxBytes, maxHeaderListSize: maxBytes, maxHeaderFieldCount: 100)
            )),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: requestedPort), backlog: 16,
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: serverLogger)
            ),
            onServerRunning: { [self] channel in didBind(channel) },
            eventLoopGroupProvider: .shared(Self.eventLoops),
            logger: serverLogger
        )
        var failure: (any Error)?
        do {
            // Every task of the server (one per connection) runs on the event-loop thread, not on
            // Swift's cooperative pool: a pool kept busy by the rest of the process (a model loading,
            // scoring work, a busy test run) must not keep a probe or a scrape from being answered.
            try await withTaskExecutorPreference(Self.executor) { try await application.run() }
        } catch {
            failure = error
        }
        let neverBound = state.withLock { $0.bound == nil }
        let stopped = OperationsServerError(
            message: neverBound
                ? "cannot listen on \(host):\(requestedPort) (\(failure.map { "\($0)" } ?? "stopped before binding")); choose another --metrics-host or --metrics-port, or --metrics-port 0 to disable the endpoint"
                : "the operations endpoint stopped")
        let waiters = state.withLock { state in
            state.bound = nil
            state.failure = stopped
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: stopped) }
        if let failure { throw neverBound ? stopped : failure }
    }

    private func didBind(_ channel: any Channel) {
        let address = BoundAddress(host: channel.localAddress?.ipAddress ?? host, port: channel.localAddress?.port ?? requestedPort)
        let waiters = state.withLock { state in
            state.bound = address
            defer { state.waiters = [] }
            return state.waiters
        }
        logger.info("operations endpoint listening", metadata: ["http.host": "\(address.host)", "http.port": "\(address.port)"])
        for waiter in waiters { waiter.resume(returning: address) }
    }

    private static func respond(to request: Request, handler: Handler) -> Hummingbird.Response {
        let method = request.method
        guard method == .get || method == .head else {
            return encode(Response(status: 405, body: "only GET and HEAD\n"))
        }
        let response = encode(handler(method.rawValue, request.uri.path))
        return method == .head ? response.createHeadResponse() : response
    }

    private static func encode(_ response: Response) -> Hummingbird.Response {
        Hummingbird.Response(
            status: .init(code: response.status, reasonPhrase: reason(response.status)),
            headers: [.contentType: response.contentType],
            body: .init(byteBuffer: ByteBuffer(string: response.body))
        )
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

extension OperationsHTTPServer {
    /// A server started by ``start()``, outside the worker's `ServiceGroup` (tests, tools).
    public final class Running: Sendable {
        /// Where the server listens.
        public let address: BoundAddress
        private let group: ServiceGroup
        private let task: Task<Void, any Error>

        init(address: BoundAddress, group: ServiceGroup, task: Task<Void, any Error>) {
            self.address = address
            self.group = group
            self.task = task
        }

        /// The port bound.
        public var port: Int { address.port }
        /// The IP address bound.
        public var host: String { address.host }

        /// Starts a graceful shutdown without waiting for it (the listener closes, requests being
        /// answered finish).
        public func shutdown() {
            let group = self.group
            Task { await group.triggerGracefulShutdown() }
        }

        /// Shuts the server down gracefully and waits until it has stopped.
        public func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
        }
    }

    /// Runs the server in a service group and task of its own and returns once it listens;
    /// ``Running/shutdown()`` or ``Running/stop()`` ends it.
    ///
    /// Inside the worker's `ServiceGroup`, run the server as one of its services instead.
    /// - Returns: the running server, with the address it bound.
    /// - Throws: ``OperationsServerError`` when it cannot bind.
    public func start() async throws -> Running {
        let group = ServiceGroup(configuration: .init(services: [self], logger: logger))
        let task = Task { try await group.run() }
        do {
            return Running(address: try await waitUntilListening(), group: group, task: task)
        } catch {
            task.cancel()
            throw error
        }
    }
}

/// The operations endpoint could not start (or stopped before it listened).
public struct OperationsServerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and how to fix it.
    public var message: String
    public var description: String { message }
}

/// A task executor on one NIO event loop: a job enqueued runs on the loop's thread. (This swift-nio
/// has no such conformance of its own.)
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Closes a connection whose request body exceeds the limit: the routes read no body, so a large
/// one is either a mistake or an attempt to tie the server up. (Request line and headers are bounded
/// by the HTTP decoder's limits.)
final class RequestBodyLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let maxBytes: Int
    private var received = 0

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            received = 0
        case .body(let buffer):
            received += buffer.readableBytes
            if received > maxBytes {
                context.close(promise: nil)
                return
            }
        case .end:
            break
        }
        context.fireChannelRead(data)
    }
}
