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
