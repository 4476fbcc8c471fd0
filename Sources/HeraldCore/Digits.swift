/// Zero-padded decimal text without `String(format:)`, which goes through
/// CoreFoundation's format parser: these run for every message (log lines, times).
extension BinaryInteger {
    /// `7.zeroPadded(2)` is `"07"`; a negative number keeps its sign first (`"-07"`).
    public func zeroPadded(_ width: Int) -> String {
        let digits = String(self.magnitude)
        let padding = String(repeating: "0", count: Swift.max(0, width - digits.count))
        return (self < 0 ? "-" : "") + padding + digits
    }
}
