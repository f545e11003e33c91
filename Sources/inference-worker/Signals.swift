import Dispatch
import Foundation

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
                    exit(130)
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
