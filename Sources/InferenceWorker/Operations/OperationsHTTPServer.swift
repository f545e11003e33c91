import Foundation
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 server for the operations endpoints (`/metrics`, `/health/live`,
/// `/health/ready`): GET and HEAD only, one request per connection, on one dedicated thread.
///
/// Why not swift-nio or hummingbird: the endpoint serves a scrape every few seconds and two probes;
/// NIOHTTP1 would add several minutes to every clean build (CI builds from scratch each run) for
/// three fixed routes. This server blocks only its own thread, never Swift's cooperative pool, and
/// bounds what a client can cost: requests larger than 8 KiB are refused, reads and writes time
/// out after 2 s, and connections are served one at a time, so a stuck client delays the next
/// scrape by at most the timeout and can never exhaust threads or memory.
public final class OperationsHTTPServer: Sendable {
    /// What a route answers.
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String
        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    /// Answers one request (method, path without the query string). Runs on the server's thread.
    public typealias Handler = @Sendable (_ method: String, _ path: String) -> Response

    /// The port actually bound (useful when 0 asked for an ephemeral one).
    public let port: Int
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Binds `host:port` (port 0: an ephemeral port, see ``port``) and starts serving at once.
    public init(host: String = "0.0.0.0", port: Int, logger: Logger, handler: @escaping Handler) throws {
        let fd = makeStreamSocket()
        guard fd >= 0 else { throw OperationsServerError(message: "cannot create a socket: \(Self.errnoText())") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw OperationsServerError(message: "'\(host)' is not an IPv4 address to listen on")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let text = Self.errnoText()
            close(fd)
            throw OperationsServerError(message: "cannot listen on \(host):\(port) (\(text)); choose another --metrics-port, or 0 to disable the endpoint")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.listener = fd
        logger.info("operations endpoint listening", metadata: ["http.host": "\(host)", "http.port": "\(self.port)"])
        let thread = Thread { [self] in serve(handler: handler, logger: logger) }
        thread.name = "operations-http"
        thread.start()
    }

    /// Stops accepting and waits (up to 3 s) for the request being served to finish.
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // shutdown(2) on a listening socket wakes the thread blocked in accept(2) on Linux.
        wakeListener(listener)
        _ = finished.wait(timeout: .now() + 3)
    }

    private func serve(handler: Handler, logger: Logger) {
        defer {
            close(listener)
            finished.signal()
        }
        while !stopped.load(ordering: .acquiring) {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if !stopped.load(ordering: .acquiring) {
                    logger.error("operations endpoint stopped accepting", metadata: ["error": "\(Self.errnoText())"])
                }
                return
            }
            respond(on: connection, handler: handler)
            close(connection)
        }
    }

    private func respond(on connection: Int32, handler: Handler) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        while request.count < 8192 {
            let n = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            request += chunk[0..<n]
            if request.count >= 4, request.suffix(4).elementsEqual(terminator) { break }
            if contains(request, terminator) { break }
        }
        guard let lineEnd = request.firstIndex(of: UInt8(ascii: "\r")) else { return }
        let parts = String(decoding: request[..<lineEnd], as: UTF8.self).split(separator: " ")
        let response: Response
        var includeBody = true
        if parts.count != 3 || !parts[2].hasPrefix("HTTP/1.") {
            response = Response(status: 400, body: "bad request\n")
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            response = Response(status: 405, body: "only GET and HEAD\n")
        } else {
            includeBody = parts[0] == "GET"
            let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
            response = handler(String(parts[0]), path)
        }
        let body = Array(response.body.utf8)
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        head += "Content-Type: \(response.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        if includeBody { bytes += body }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
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

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// The operations endpoint could not start.
public struct OperationsServerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

private func makeStreamSocket() -> Int32 {
    #if canImport(Glibc)
    socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    socket(AF_INET, SOCK_STREAM, 0)
    #endif
}

private func wakeListener(_ fd: Int32) {
    _ = shutdown(fd, Int32(SHUT_RDWR))
}
