/// A bundle version (its directory name), ordered numeric-aware: "10" > "9", "1.10" > "1.9", "2a" < "2b".
///
/// Names are split into runs of digits and of other characters; digit runs compare as numbers of
/// any length, other runs as text, and a digit run sorts before a text run.
public struct ModelVersion: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The directory name.
    public let name: String

    /// Creates a version from a directory name.
    public init(_ name: String) { self.name = name }

    public init(stringLiteral value: String) { self.name = value }

    public var description: String { name }

    public static func < (lhs: ModelVersion, rhs: ModelVersion) -> Bool {
        let left = chunks(lhs.name)
        let right = chunks(rhs.name)
        for (a, b) in zip(left, right) where a != b {
            switch (a.isNumber, b.isNumber) {
            case (true, true):
                let x = a.text.drop { $0 == "0" }
                let y = b.text.drop { $0 == "0" }
                if x.count != y.count { return x.count < y.count }
                if x != y { return x < y }
                return a.text.count < b.text.count  // "01" vs "1": equal value, order by spelling
            case (true, false): return true
            case (false, true): return false
            case (false, false): return a.text < b.text
            }
        }
        return left.count < right.count
    }

    private struct Chunk: Equatable {
        var text: Substring
        var isNumber: Bool
    }

    private static func chunks(_ name: String) -> [Chunk] {
        var result: [Chunk] = []
        var start = name.startIndex
        while start < name.endIndex {
            let isNumber = name[start].isASCII && name[start].isNumber
            var end = name.index(after: start)
            while end < name.endIndex, (name[end].isASCII && name[end].isNumber) == isNumber { end = name.index(after: end) }
            result.append(Chunk(text: name[start..<end], isNumber: isNumber))
            start = end
        }
        return result
    }
}
