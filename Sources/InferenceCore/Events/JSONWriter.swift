/// Writes JSON tokens into memory reserved up front, without Foundation.
///
/// ``JSONWriter/append(to:upperBound:_:)`` hands out a writer over temporary memory of an upper bound
/// of the output, then appends what was written to the destination array in one copy: one uniqueness
/// check and at most one reallocation per message instead of one per token.
/// Every write checks the bound (`precondition`): a wrong bound is a bug that must trap, never
/// write out of bounds.
struct JSONWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Bytes a string can take once escaped: 6 per byte (`\u00XX`) plus the quotes.
    static func escapedBound(_ value: String) -> Int { value.utf8.count * 6 + 2 }
    /// Bytes any Int64 takes in decimal ("-9223372036854775808").
    static let integerBound = 20
    /// Bytes any Float takes as Swift's shortest description ("-1.17549435e-38" is 15) or `null`.
    static let floatBound = 16

    /// Appends to `buffer` at most `upperBound` bytes written by `body`.
    ///
    /// The bytes are written into temporary storage (on the stack for a message-sized bound) and
    /// appended with one copy of what was written: growing the array by `upperBound` zeros and
    /// trimming them again cost a byte-by-byte fill per message (4 % of the scoring thread).
    static func append(to buffer: inout [UInt8], upperBound: Int, _ body: (inout JSONWriter) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: upperBound) { scratch in
            var writer = JSONWriter(base: scratch.baseAddress!, capacity: upperBound)
            body(&writer)
            buffer.append(contentsOf: UnsafeBufferPointer(start: scratch.baseAddress, count: writer.count))
        }
    }

    @inline(__always)
    private mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(count + n <= capacity, "JSONWriter upper bound too small")
        defer { count += n }
        return base + count
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        reserve(1).pointee = value
    }

    @inline(__always)
    mutating func raw(_ text: StaticString) {
        raw(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count).update(from: source, count: bytes.count)
    }

    /// Writes `value` as a JSON string literal, quotes included. Escapes `"`, `\` and the control
    /// characters (as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`); everything else is copied as UTF-8
    /// (Swift strings are valid UTF-8, so the output is too).
    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string($0) }
    }

    mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        byte(UInt8(ascii: "\""))
        escapedContents(utf8)
        byte(UInt8(ascii: "\""))
    }

    /// Writes the escaped contents of a string literal, without the quotes.
    mutating func escapedContents(_ value: String) {
        var value = value
        value.withUTF8 { escapedContents($0) }
    }

    mutating func escapedContents(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for i in 0..<utf8.count {
            let c = utf8[i]
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
            raw(UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
            runStart = i + 1
            byte(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\""): byte(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): byte(UInt8(ascii: "\\"))
            case 0x0A: byte(UInt8(ascii: "n"))
            case 0x0D: byte(UInt8(ascii: "r"))
            case 0x09: byte(UInt8(ascii: "t"))
            case 0x08: byte(UInt8(ascii: "b"))
            case 0x0C: byte(UInt8(ascii: "f"))
            default:
                raw("u00")
                byte(Self.hexDigit(c >> 4))
                byte(Self.hexDigit(c & 0xF))
            }
        }
        raw(UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Writes a decimal integer.
    mutating func integer(_ value: Int64) {
        var magnitude = value.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; digits += 1 }
        let sign = value < 0 ? 1 : 0
        let out = reserve(sign + digits)
        if sign == 1 { out[0] = UInt8(ascii: "-") }
        var i = sign + digits
        repeat {
            i -= 1
            out[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude != 0
    }

    /// Writes a Float as its shortest round-tripping decimal (Swift's `description`), or `null`
    /// when it is NaN or infinite (JSON cannot represent them).
    ///
    /// `Float.description` is at most 15 UTF-8 bytes, which Swift stores inline in the `String`
    /// value: no heap allocation. Its forms ("0.7", "1e-05", "1e+20", "100.0") are all valid JSON numbers.
    mutating func float(_ value: Float) {
        guard value.isFinite else {
            raw("null")
            return
        }
        var text = value.description
        text.withUTF8 { raw($0) }
    }
}
