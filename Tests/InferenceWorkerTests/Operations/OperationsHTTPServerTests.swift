import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import InferenceWorker
import KafkaTestSupport
import Testing

/// The operations HTTP server on its own (no pipeline): where it binds, what it answers, what it refuses.
@Suite struct OperationsHTTPServerTests {
    static func echo(_ method: String, _ path: String) -> OperationsHTTPServer.Response {
        path == "/missing" ? .init(status: 404, body: "not found\n") : .init(status: 200, body: "\(method) \(path)\n")
    }

    @Test func bindsTheHostItIsGivenAndReportsTheBoundAddress() async throws {
        let server = OperationsHTTPServer(host: "127.0.0.1", port: 0, logger: .quiet, handler: Self.echo)
        #expect(server.boundAddress == nil, "nothing is bound before run()")
        let running = try await server.start()
        defer { running.shutdown() }
        #expect(running.host == "127.0.0.1")
        #expect(running.port > 0)
        #expect(server.boundAddress == running.address)
        let response = try await Request.send(port: running.port, path: "/metrics?x=1")
        #expect(response.status == 200)
        #expect(response.body == "GET /metrics\n", "the query string is not part of the path")
        await running.stop()
        #expect(server.boundAddress == nil, "nothing is bound after the server stopped")
    }

    @Test func theDefaultHostIsEveryIPv4Interface() async throws {
        let running = try await OperationsHTTPServer(port: 0, logger: .quiet, handler: Self.echo).start()
        defer { running.shutdown() }
        #expect(running.host == "0.0.0.0")
        #expect(try await Request.send(port: running.port, path: "/health/live").status == 200)
    }

    @Test func headAnswersTheLengthWithoutTheBodyAndOtherMethodsAreRefused() async throws {
        let running = try await OperationsHTTPServer(host: "127.0.0.1", port: 0, logger: .quiet, handler: Self.echo).start()
        defer { running.shutdown() }
        let head = try await Request.send(port: running.port, path: "/a", method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.headers["content-length"] == "\("HEAD /a\n".utf8.count)")
        #expect(head.headers["content-type"] == "text/plain; charset=utf-8")
        let post = try await Request.send(port: running.port, path: "/a", method: "POST")
        #expect(post.status == 405)
        #expect(post.body == "only GET and HEAD\n")
        #expect(try await Request.send(port: running.port, path: "/missing").status == 404)
    }

    @Test func headersAboveTheLimitAreRefused() async throws {
        let limits = OperationsHTTPServer.Limits(maxRequestBytes: 8192)
        let running = try await OperationsHTTPServer(host: "127.0.0.1", port: 0, limits: limits, logger: .quiet, handler: Self.echo).start()
        defer { running.shutdown() }
        let small = try await Request.send(port: running.port, path: "/a", headers: ["X-Padding": String(repeating: "a", count: 1000)])
        #expect(small.status == 200)
        let large = try await Request.send(port: running.port, path: "/a", headers: ["X-Padding": String(repeating: "a", count: 9000)])
        #expect(large.status == 400)
    }

    @Test func aTakenPortFailsWithAMessageNamingTheAddressAndTheFix() async throws {
        let first = try await OperationsHTTPServer(host: "127.0.0.1", port: 0, logger: .quiet, handler: Self.echo).start()
        defer { first.shutdown() }
        let second = OperationsHTTPServer(host: "127.0.0.1", port: first.port, logger: .quiet, handler: Self.echo)
        let error = await #expect(throws: OperationsServerError.self) { try await second.start() }
        #expect(error?.message.contains("cannot listen on 127.0.0.1:\(first.port)") == true, "\(String(describing: error))")
        #expect(error?.message.contains("--metrics-port") == true)
    }
}

extension OperationsHTTPServerTests {
    /// Kubernetes restarts a pod whose liveness probe goes unanswered: the answer must not wait for
    /// Swift's cooperative pool, which the rest of the process may keep busy (a model loading, a
    /// busy test run: CI once timed a scrape out after 10 s that way).
    @Test func aProbeIsAnsweredWhileEveryThreadOfSwiftsCooperativePoolIsBlocked() async throws {
        let running = try await OperationsHTTPServer(host: "127.0.0.1", port: 0, logger: .quiet, handler: Self.echo).start()
        defer { running.shutdown() }
        let port = running.port
        // The pool has one thread per processor: one task blocks each until the probe is answered.
        let width = ProcessInfo.processInfo.activeProcessorCount
        let pool = PoolBlocker(width: width)
        for _ in 0..<width { Task.detached { pool.hold() } }
        let (allHeld, answer) = await withCheckedContinuation { (continuation: CheckedContinuation<(Bool, String?), Never>) in
            // The probe is sent from a thread of its own: the pool has none to spare.
            Thread {
                let allHeld = pool.waitUntilAllHeld(timeout: 60)
                let answer = allHeld ? blockingGet(port: port, path: "/health/live", timeout: 5) : nil
                pool.release()
                continuation.resume(returning: (allHeld, answer))
            }.start()
        }
        #expect(allHeld, "every thread of the pool was blocked while the probe was sent")
        #expect(answer == "200 GET /health/live\n", "answered within 5 s although the pool was blocked")
    }
}

/// Blocks threads of Swift's cooperative pool: ``hold()`` waits until ``release()``.
final class PoolBlocker: Sendable {
    private let width: Int
    private let state = NSCondition()
    nonisolated(unsafe) private var held = 0
    nonisolated(unsafe) private var released = false

    init(width: Int) { self.width = width }

    func hold() {
        state.lock()
        held += 1
        state.broadcast()
        while !released { state.wait() }
        state.unlock()
    }

    /// Waits until `width` callers are in ``hold()``; false after `timeout` seconds.
    func waitUntilAllHeld(timeout: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        state.lock()
        defer { state.unlock() }
        while held < width { if !state.wait(until: deadline) { return held >= width } }
        return true
    }

    func release() {
        state.lock()
        released = true
        state.broadcast()
        state.unlock()
    }
}

/// A GET that blocks the calling thread: "status body", or "failed: error".
private func blockingGet(port: Int, path: String, timeout: TimeInterval) -> String {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.timeoutInterval = timeout
    let session = URLSession(configuration: .ephemeral)
    defer { session.finishTasksAndInvalidate() }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result = "no answer"
    session.dataTask(with: request) { data, response, error in
        if let error {
            result = "failed: \(error)"
        } else {
            result = "\((response as? HTTPURLResponse)?.statusCode ?? -1) \(String(decoding: data ?? Data(), as: UTF8.self))"
        }
        done.signal()
    }.resume()
    done.wait()
    return result
}

/// One HTTP request over URLSession, any method and headers.
enum Request {
    static func send(port: Int, path: String, method: String = "GET", headers: [String: String] = [:]) async throws
        -> (status: Int, body: String, headers: [String: String])
    {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 10
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return (http?.statusCode ?? -1, String(decoding: data, as: UTF8.self), fields)
    }
}
