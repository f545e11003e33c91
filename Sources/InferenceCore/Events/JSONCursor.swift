/// A validating JSON scanner over a byte buffer (RFC 8259), the engine of ``RequestDecoder``.
///
/// It never reads past `end`, never traps on any input, and reports every problem as a
/// ``RequestDecodingError`` with the byte offset. Strings are validated (escapes, surrogate pairs,
/// control characters, UTF-8) even when skipped; numbers follow the JSON grammar exactly.
struct JSONCursor {
    let base: UnsafePointer<UInt8>
    let end: Int
    var position = 0
    let maxDepth: Int

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.end = count
        self.maxDepth = maxDepth
    }

    /// A string's raw span between its quotes.
    struct StringSpan {
        var start: Int
        var end: Int
        var hasEscapes: Bool
    }

    // MARK: Bytes

    @inline(__always) var atEnd: Bool { position >= end }

    /// The current byte, or 0 at the end (0 is never valid JSON outside strings, so it fails naturally).
    @inline(__always) var peek: UInt8 { position < end ? base[position] : 0 }

    @inline(__always) mutating func skipWhitespace() {
        while position < end {
            switch base[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    func malformed(_ message: String, at offset: Int? = nil) -> RequestDecodingError {
        RequestDecodingError(code: .malformedJSON, byteOffset: offset ?? position, message: message)
    }

    /// "unexpected X" for the current byte, or "unexpected end" at the end.
    func unexpected(expecting what: String) -> RequestDecodingError {
        if atEnd { return malformed("unexpected end of payload, expected \(what) (truncated?)") }
        let byte = base[position]
        let shown = (0x20..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return malformed("unexpected \(shown), expected \(what)")
    }

    @inline(__always) mutating func expect(_ byte: UInt8, _ what: String) throws(RequestDecodingError) {
        guard peek == byte else { throw unexpected(expecting: what) }
        position += 1
    }

    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    }

    func rawBytes(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + start, count: end - start)
    }

    // MARK: Literals

    /// Consumes `true`, `false` or `null` and returns which; the cursor is on its first byte.
    mutating func scanLiteral() throws(RequestDecodingError) -> RawFeatureValue {
        let start = position
        @inline(__always) func matches(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard end - start >= count else { return false }
            let pointer = word.utf8Start
            for i in 0..<count where base[start + i] != pointer[i] { return false }
            return true
        }
        switch peek {
        case UInt8(ascii: "t") where matches("true"): position += 4; return .bool(true)
        case UInt8(ascii: "f") where matches("false"): position += 5; return .bool(false)
        case UInt8(ascii: "n") where matches("null"): position += 4; return .null
        default: throw malformed("invalid literal (expected true, false or null)")
        }
    }

    /// Consumes `NaN`, `Infinity` or `-Infinity`, the non-finite numbers Python's `json.dumps` writes
    /// by default (RFC 8259 has none), and returns the value; the cursor is on its first byte.
    ///
    /// Accepted wherever a number may appear; whether a feature takes it is the input schema's
    /// business (NaN is a missing value, infinity is rejected as `non_finite`).
    mutating func scanNonFiniteNumber() throws(RequestDecodingError) -> Double {
        let start = position
        @inline(__always) func matches(_ word: StaticString, at offset: Int) -> Bool {
            let count = word.utf8CodeUnitCount
            guard end - offset >= count else { return false }
            let pointer = word.utf8Start
            for i in 0..<count where base[offset + i] != pointer[i] { return false }
            return true
        }
        if matches("NaN", at: start) { position += 3; return .nan }
        if matches("Infinity", at: start) { position += 8; return .infinity }
        if matches("-Infinity", at: start) { position += 9; return -.infinity }
        throw malformed("invalid literal (expected NaN, Infinity or -Infinity)")
    }

    /// Whether the cursor is on `-I` (the start of `-Infinity`), checked before scanning a number.
    @inline(__always) var atNegativeInfinity: Bool {
        position + 1 < end && base[position] == UInt8(ascii: "-") && base[position + 1] == UInt8(ascii: "I")
    }

    // MARK: Strings

    /// Scans a string starting at its opening quote and validates it; the cursor ends after the closing quote.
    mutating func scanString() throws(RequestDecodingError) -> StringSpan {
        let open = position
        position += 1
        let start = position
        var hasEscapes = false
        while true {
            // Fast scan over plain ASCII on locals; escapes, control characters and UTF-8 take the slow path.
            var p = position
            while p < end {
                let byte = base[p]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
                p += 1
            }
            position = p
            guard position < end else { throw malformed("unterminated string starting at byte \(open)") }
            let byte = base[position]
            if byte == UInt8(ascii: "\"") {
                let span = StringSpan(start: start, end: position, hasEscapes: hasEscapes)
                position += 1
                return span
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
            } else if byte < 0x20 {
                throw malformed("control character 0x\(String(byte, radix: 16)) in string; escape it (\\n, \\t, \\u00XX)")
            } else {
                try scanUTF8Sequence()
            }
        }
    }

    private mutating func scanEscape() throws(RequestDecodingError) {
        let escapeStart = position
        position += 1
        guard position < end else { throw malformed("unterminated escape sequence", at: escapeStart) }
        switch base[position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            position += 1
            let unit = try scanHex4(escapeStart)
            if (0xDC00...0xDFFF).contains(unit) {
                throw malformed("unpaired low surrogate \\u\(String(unit, radix: 16, uppercase: true))", at: escapeStart)
            }
            if (0xD800...0xDBFF).contains(unit) {
                guard end - position >= 2, base[position] == UInt8(ascii: "\\"), base[position + 1] == UInt8(ascii: "u") else {
                    throw malformed("high surrogate \\u\(String(unit, radix: 16, uppercase: true)) not followed by a low surrogate escape", at: escapeStart)
                }
                position += 2
                let low = try scanHex4(escapeStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw malformed("high surrogate \\u\(String(unit, radix: 16, uppercase: true)) followed by \\u\(String(low, radix: 16, uppercase: true)), not a low surrogate", at: escapeStart)
                }
            }
        default:
            throw malformed("invalid escape sequence; JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX", at: escapeStart)
        }
    }

    private mutating func scanHex4(_ escapeStart: Int) throws(RequestDecodingError) -> UInt32 {
        guard end - position >= 4 else { throw malformed("truncated \\u escape", at: escapeStart) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Self.hexValue(base[position]) else {
                throw malformed("\\u escape needs four hexadecimal digits", at: escapeStart)
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    @inline(__always) static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
    private mutating func scanUTF8Sequence() throws(RequestDecodingError) {
        let lead = base[position]
        var needed: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0: needed = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: needed = 2
        case 0xED: needed = 2; high = 0x9F
        case 0xF0: needed = 3; low = 0x90
        case 0xF1...0xF3: needed = 3
        case 0xF4: needed = 3; high = 0x8F
        default: throw malformed("invalid UTF-8 byte 0x\(String(lead, radix: 16)) in string")
        }
        let start = position
        position += 1
        while needed > 0 {
            guard position < end else { throw malformed("truncated UTF-8 sequence in string", at: start) }
            let byte = base[position]
            guard byte >= low, byte <= high else { throw malformed("invalid UTF-8 sequence in string", at: start) }
            low = 0x80
            high = 0xBF
            position += 1
            needed -= 1
        }
    }

    /// The unescaped text of a validated string span.
    func decodeString(_ span: StringSpan) -> String {
        guard span.hasEscapes else { return text(span.start, span.end) }
        // Unescaped text is never longer than its escaped form (\uXXXX: 6 bytes -> at most 3;
        // a surrogate pair: 12 -> 4), so the raw length is a safe capacity.
        return String(unsafeUninitializedCapacity: span.end - span.start) { output in
            var out = 0
            var i = span.start
            @inline(__always) func put(_ byte: UInt8) { output[out] = byte; out += 1 }
            @inline(__always) func hex4(_ at: Int) -> UInt32 {
                var value: UInt32 = 0
                for k in 0..<4 { value = value << 4 | (Self.hexValue(base[at + k]) ?? 0) }
                return value
            }
            while i < span.end {
                let byte = base[i]
                guard byte == UInt8(ascii: "\\") else { put(byte); i += 1; continue }
                let kind = base[i + 1]
                i += 2
                switch kind {
                case UInt8(ascii: "b"): put(0x08)
                case UInt8(ascii: "f"): put(0x0C)
                case UInt8(ascii: "n"): put(0x0A)
                case UInt8(ascii: "r"): put(0x0D)
                case UInt8(ascii: "t"): put(0x09)
                case UInt8(ascii: "u"):
                    var scalar = hex4(i)
                    i += 4
                    if (0xD800...0xDBFF).contains(scalar) {
                        let lowUnit = hex4(i + 2)
                        i += 6
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (lowUnit - 0xDC00)
                    }
                    for unit in UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}")! { put(unit) }
                default: put(kind) // \" \\ \/
                }
            }
            return out
        }
    }

    /// The key bytes of a validated string span, unescaping into `scratch` only when needed.
    func withKeyBytes<R>(_ span: StringSpan, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if !span.hasEscapes { return body(rawBytes(span.start, span.end)) }
        var decoded = decodeString(span)
        return decoded.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    // MARK: Numbers

    /// Scans a number per the JSON grammar and converts it; the cursor is on `-` or a digit.
    mutating func scanNumber() throws(RequestDecodingError) -> Double {
        // The hot loop works on locals (not `self.position`) so the compiler keeps them in registers.
        let base = self.base, end = self.end
        let start = position
        var p = position
        defer { position = p }
        @inline(__always) func byte(_ i: Int) -> UInt8 { i < end ? base[i] : 0 }
        @inline(__always) func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

        var negative = false
        if byte(p) == UInt8(ascii: "-") { negative = true; p += 1 }
        // Digits accumulate with wrapping arithmetic; more than 19 significant digits (which could
        // wrap) take the slow path below, so a wrapped mantissa is never used.
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var fractionDigits = 0

        let first = byte(p)
        if first == UInt8(ascii: "0") {
            p += 1
            if isDigit(byte(p)) { throw malformed("leading zero in number", at: start) }
        } else if isDigit(first) {
            let digitsStart = p
            Self.accumulateDigits(base, &p, end, &mantissa)
            significantDigits = p &- digitsStart
        } else {
            throw malformed(negative ? "'-' must be followed by a digit" : "invalid number", at: start)
        }
        if byte(p) == UInt8(ascii: ".") {
            p += 1
            guard isDigit(byte(p)) else { throw malformed("a decimal point must be followed by a digit", at: start) }
            let fractionStart = p
            // Leading zeros of a fraction ("0.000123") are not significant digits.
            if mantissa == 0 {
                while p < end, base[p] == UInt8(ascii: "0") { p &+= 1 }
            }
            let digitsStart = p
            Self.accumulateDigits(base, &p, end, &mantissa)
            significantDigits &+= p &- digitsStart
            fractionDigits = p &- fractionStart
        }
        var explicitExponent = 0
        if byte(p) | 0x20 == UInt8(ascii: "e") {
            p += 1
            var exponentNegative = false
            if byte(p) == UInt8(ascii: "+") || byte(p) == UInt8(ascii: "-") {
                exponentNegative = byte(p) == UInt8(ascii: "-")
                p += 1
            }
            guard isDigit(byte(p)) else { throw malformed("an exponent needs at least one digit", at: start) }
            while p < end, isDigit(base[p]) {
                // Clamped: anything beyond +-100000 is zero or infinity anyway.
                if explicitExponent < 100_000 { explicitExponent = explicitExponent * 10 + Int(base[p] &- UInt8(ascii: "0")) }
                p += 1
            }
            if exponentNegative { explicitExponent = -explicitExponent }
        }

        let droppedDigits = significantDigits > 19
        if mantissa == 0 && !droppedDigits { return negative ? -0.0 : 0.0 }
        let exponent = explicitExponent - fractionDigits
        // Clinger's fast path: an integer below 2^53 and a power of ten up to 10^22 are both exact
        // doubles, so one IEEE multiplication or division is correctly rounded.
        if !droppedDigits, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / Self.powerOfTen(-exponent) : value * Self.powerOfTen(exponent)
            return negative ? -value : value
        }
        // Slow path: the span is grammatically valid JSON, which Swift's locale-independent parser
        // accepts; it returns +-infinity on overflow and 0 on underflow.
        return Double(text(start, p)) ?? (negative ? -.infinity : .infinity)
    }

    /// Appends the run of decimal digits at `p` to `mantissa` (wrapping; the caller counts the
    /// digits and never uses a mantissa of more than 19) and moves `p` past them.
    ///
    /// Eight bytes at a time while eight can be read (SWAR, as simdjson and fast_float do): one
    /// unaligned load, a mask of the bytes that are not digits, and the digits before the first of
    /// them converted with three multiplications, instead of a branch and a multiply-add per digit.
    @inline(__always)
    static func accumulateDigits(_ base: UnsafePointer<UInt8>, _ p: inout Int, _ end: Int, _ mantissa: inout UInt64) {
        while end &- p >= 8 {
            // Little-endian: the first character is the lowest byte.
            let t = UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self).littleEndian ^ 0x3030_3030_3030_3030
            // A byte is a digit iff t < 10 there: (t + 0x76) sets bit 7 for 10...0x89, t's own bit 7
            // covers 0x80...; a carry out of a non-digit byte only disturbs the bytes after it.
            let nonDigits = ((t &+ 0x7676_7676_7676_7676) | t) & 0x8080_8080_8080_8080
            let count = nonDigits == 0 ? 8 : nonDigits.trailingZeroBitCount >> 3
            guard count > 0 else { return }
            // The `count` digits moved to the top bytes (zeros in front of them), then combined in
            // pairs, quadruples and the whole.
            var v = t << UInt64(64 &- 8 &* count)
            v = (v &* 10 &+ (v >> 8)) & 0x00FF_00FF_00FF_00FF
            v = (v &* 100 &+ (v >> 16)) & 0x0000_FFFF_0000_FFFF
            v = (v &* 10_000 &+ (v >> 32)) & 0xFFFF_FFFF
            mantissa = mantissa &* powerOfTenInteger(count) &+ v
            p &+= count
            guard count == 8 else { return }
        }
        while p < end {
            let digit = base[p] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            mantissa = mantissa &* 10 &+ UInt64(digit)
            p &+= 1
        }
    }

    /// 10^k for k in 1...8 as an integer.
    @inline(__always)
    static func powerOfTenInteger(_ k: Int) -> UInt64 {
        switch k {
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        default: 100_000_000
        }
    }

    /// 10^k for k in 0...22, all exact doubles; a switch rather than a global array so that no
    /// lazy-initialisation check runs per number.
    @inline(__always)
    static func powerOfTen(_ k: Int) -> Double {
        switch k {
        case 0: 1e0
        case 1: 1e1
        case 2: 1e2
        case 3: 1e3
        case 4: 1e4
        case 5: 1e5
        case 6: 1e6
        case 7: 1e7
        case 8: 1e8
        case 9: 1e9
        case 10: 1e10
        case 11: 1e11
        case 12: 1e12
        case 13: 1e13
        case 14: 1e14
        case 15: 1e15
        case 16: 1e16
        case 17: 1e17
        case 18: 1e18
        case 19: 1e19
        case 20: 1e20
        case 21: 1e21
        default: 1e22
        }
    }


    // MARK: Skipping

    /// Validates and skips any JSON value; `depth` is the nesting depth of the value's container.
    mutating func skipValue(depth: Int) throws(RequestDecodingError) {
        switch peek {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw tooDeep() }
            position += 1
            skipWhitespace()
            if peek == UInt8(ascii: "}") { position += 1; return }
            while true {
                guard peek == UInt8(ascii: "\"") else { throw unexpected(expecting: "a string key") }
                _ = try scanString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after an object key")
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") { position += 1; skipWhitespace(); continue }
                try expect(UInt8(ascii: "}"), "',' or '}' in an object")
                return
            }
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw tooDeep() }
            position += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") { position += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") { position += 1; skipWhitespace(); continue }
                try expect(UInt8(ascii: "]"), "',' or ']' in an array")
                return
            }
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "-") where atNegativeInfinity:
            _ = try scanNonFiniteNumber()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            _ = try scanLiteral()
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            _ = try scanNonFiniteNumber()
        default:
            throw unexpected(expecting: "a JSON value")
        }
    }

    func tooDeep() -> RequestDecodingError {
        RequestDecodingError(code: .nestingTooDeep, byteOffset: position, message: "objects and arrays nested deeper than \(maxDepth) levels")
    }
}
