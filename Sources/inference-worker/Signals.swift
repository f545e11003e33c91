import ArgumentParser
import Dispatch
import Foundation
import Kafka
import Logging

/// Turns SIGINT and SIGTERM into an async event. The first signal resumes ``wait()`` and calls
/// `onFirstSignal`; a second one exits the process at once (status 130), as operators expect from
/// Ctrl-C twice. `run` uses it beside its `ServiceGroup` (which shuts down gracefully on the first
/// signal but ignores later ones) for the second-signal exit; the other commands wait on it.
/// `@unchecked Sendable`: the sources are set once and only kept alive here; Dispatch owns their handlers.
final class ShutdownSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    /// Installs the handlers.
    ///
    /// - Parameter onFirstSignal: called (on a Dispatch queue) with the first signal's number.
    init(onFirstSignal: @escaping @Sendable (Int32) -> Void = { _ in }) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        let received = Counter()
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if received.increment() > 1 {
                    FileHandle.standardError.write(Data("second signal: exiting now\n".utf8))
                    // Without the exit handlers, which would run under librdkafka's threads (see KafkaClientsAtExit).
                    fflush(nil)
                    _exit(130)
                }
                onFirstSignal(signalNumber)
                continuation.yield(signalNumber)
            }
            source.resume()
            return source
        }
    }

    /// Returns the first signal received.
    func wait() async -> Int32 {
        for await signalNumber in stream { return signalNumber }
        return 0
    }
}

private final class Counter: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// The last step of a command that ran librdkafka clients: the process exits only once they are
/// destroyed, or without its exit handlers.
///
/// `exit` runs the process's exit handlers, OpenSSL's cleanup among them, and would run them under
/// a client's threads still at work (a TLS client retrying its handshake ended a worker stopped
/// during start-up with SIGSEGV instead of 0). A client is left open only when a bounded shutdown
/// gave up on it (a consumer whose group coordinator does not answer); the process then ends with
/// `_exit`, which skips those handlers, and says so.
enum KafkaClientsAtExit {
    /// How long the exit waits for librdkafka to destroy the clients released by the command.
    static let timeout: Duration = .seconds(3)

    /// Returns once every client is destroyed; otherwise logs how many are open and ends the
    /// process with status 0.
    static func awaitClosed(logger: Logger) {
        awaitClosed(logger: logger, status: 0) {}
    }

    /// As ``awaitClosed(logger:)`` for a command failing with `error`: when the process must end
    /// here, it first prints the error as ArgumentParser would and ends with the error's status.
    static func awaitClosed(logger: Logger, failing error: any Error) {
        awaitClosed(logger: logger, status: InferenceWorkerCommand.exitCode(for: error).rawValue) {
            let message = InferenceWorkerCommand.fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        }
    }

    private static func awaitClosed(logger: Logger, status: Int32, beforeExit: () -> Void) {
        if KafkaLibrary.waitForClientsToClose(timeout: timeout) { return }
        logger.warning("librdkafka clients still open at exit: ending the process without its exit handlers", metadata: [
            "kafka.clients.open": "\(KafkaLibrary.openClients)", "exit.status": "\(status)",
        ])
        beforeExit()
        fflush(nil)
        _exit(status)
    }
}
