/// Comparison of secrets (MACs, signatures, tokens) in time that does not depend on where
/// they differ.
public enum ConstantTime {
    /// True when `a` and `b` are the same bytes. Lengths are compared first: without that, a
    /// comparison of the common prefix would accept an empty or one-character guess, or the
    /// right value with anything appended.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
