import Synchronization

/// A `Mutex` in a class, so that it can be a stored property of a type that must stay copyable
/// or be shared by reference with closures.
final class Synchronized<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout sending Value) throws -> sending R) rethrows -> sending R {
        try mutex.withLock(body)
    }
}

extension String {
    /// Decodes a NUL-terminated C buffer that librdkafka filled (an `errstr`).
    init(cBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
