import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into an async event. The first signal resumes ``wait()``; a second
/// one exits the process at once (status 130), as operators expect from Ctrl-C twice.
/// `@unchecked Sendable`: the sources are set once and only kept alive here; Dispatch owns their handlers.
final class ShutdownSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    init() {
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
