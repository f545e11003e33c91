/// Appends JSON tokens to a byte buffer without Foundation.
enum JSONWriter {
    private static let hexDigits: StaticString = "0123456789abcdef"

    /// Appends `value` as a JSON string literal, quotes included. Escapes `"`, `\` and the control
    /// characters (as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`); everything else is copied as UTF-8.
    static func appendString(_ value: String, to buffer: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            buffer.append(UInt8(ascii: "\""))
            var runStart = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                runStart = i + 1
                buffer.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
                case 0x0A: buffer.append(UInt8(ascii: "n"))
                case 0x0D: buffer.append(UInt8(ascii: "r"))
                case 0x09: buffer.append(UInt8(ascii: "t"))
                case 0x08: buffer.append(UInt8(ascii: "b"))
                case 0x0C: buffer.append(UInt8(ascii: "f"))
                default:
                    buffer.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    buffer.append(hexDigits.utf8Start[Int(byte >> 4)])
                    buffer.append(hexDigits.utf8Start[Int(byte & 0xF)])
                }
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            buffer.append(UInt8(ascii: "\""))
        }
    }

    /// Appends raw ASCII (keys and punctuation known at compile time).
    @inline(__always)
    static func appendRaw(_ text: StaticString, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a decimal integer.
    static func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        if value < 0 {
            buffer.append(UInt8(ascii: "-"))
        }
        var magnitude = value.magnitude
        // 20 digits hold any UInt64; written backwards into a fixed tuple-free stack scratch.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            var i = 20
            repeat {
                i -= 1
                scratch[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[i..<20]))
        }
    }

    /// Appends a Float as its shortest round-tripping decimal (Swift's `description`), or `null` when
    /// it is NaN or infinite (JSON has no representation for them).
    ///
    /// `Float.description` is at most 15 UTF-8 bytes ("-1.17549435e-38"), which Swift stores inline
    /// in the `String` value: no heap allocation. Its forms ("0.7", "1e-05", "1e+20", "100.0") are all
    /// valid JSON numbers.
    static func appendFloat(_ value: Float, to buffer: inout [UInt8]) {
        guard value.isFinite else {
            appendRaw("null", to: &buffer)
            return
        }
        var text = value.description
        text.withUTF8 { buffer.append(contentsOf: $0) }
    }
}
