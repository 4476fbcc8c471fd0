/// Small text operations in plain Swift. Their Foundation counterparts
/// (`String(format:)`, `replacingOccurrences`, `trimmingCharacters`) bridge through
/// NSString on Linux, and these run for every message (log lines, times, locales).

extension BinaryInteger {
    /// `7.zeroPadded(2)` is `"07"`; a negative number keeps its sign first (`"-07"`).
    public func zeroPadded(_ width: Int) -> String {
        let digits = String(self.magnitude)
        let padding = String(repeating: "0", count: Swift.max(0, width - digits.count))
        return (self < 0 ? "-" : "") + padding + digits
    }
}

extension StringProtocol {
    /// A locale tag with `-` separators: `en_GB` → `en-GB` (BCP 47 form).
    public var hyphenatedLocaleTag: String {
        utf8.contains(UInt8(ascii: "_")) ? String(map { $0 == "_" ? "-" : $0 }) : String(self)
    }

    /// Without leading and trailing white space and line breaks: Unicode White_Space and
    /// U+200B ZERO WIDTH SPACE, the set `CharacterSet.whitespacesAndNewlines` holds.
    public var trimmingWhiteSpace: String {
        let scalars = unicodeScalars
        func kept(_ s: Unicode.Scalar) -> Bool { !(s.properties.isWhitespace || s == "\u{200B}") }
        // Most texts have nothing to trim: returned as they are, without copying scalars.
        if let head = scalars.first, let tail = scalars.last, kept(head), kept(tail) { return String(self) }
        guard let first = scalars.firstIndex(where: kept), let last = scalars.lastIndex(where: kept) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
