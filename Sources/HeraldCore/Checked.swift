import Foundation

/// Floating → integer conversions that cannot trap.
///
/// `Int64(Double)` traps on NaN, ±infinity and values past ±9.2e18. PostgreSQL hands
/// out `infinity` timestamps (`extract(epoch …)` is then ±Infinity) and operators write
/// `1e30`: every such conversion in Herald goes through these and checks the result.
extension Int64 {
    /// `value` rounded down, or nil when it is not finite or out of `Int64`'s range.
    public init?(checkedFloor value: Double) {
        guard value.isFinite, let exact = Int64(exactly: value.rounded(.down)) else { return nil }
        self = exact
    }

    /// `value` rounded down and clamped to `Int64`'s range (NaN becomes 0).
    public init(clampingFloor value: Double) {
        if value.isNaN { self = 0; return }
        self = Int64(exactly: value.rounded(.down)) ?? (value > 0 ? .max : .min)
    }
}

extension Int {
    /// `value` rounded to nearest and clamped to `Int`'s range (NaN becomes 0): for log figures.
    public init(clampingRounded value: Double) {
        self = Int(Int64(clampingFloor: value.rounded()))
    }
}

extension Duration {
    /// The longest duration Herald accepts anywhere (configuration, delays, leases): 3650 days.
    public static let heraldMaximum: Duration = .seconds(3650 * 86_400)

    /// `seconds` as a duration (millisecond precision), or nil when it is negative, not
    /// finite, or longer than `maximum`.
    public static func checked(seconds: Double, maximum: Duration = .heraldMaximum) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds <= maximum.seconds,
              let millis = Int64(exactly: (seconds * 1000).rounded()) else { return nil }  // a caller's huge maximum too
        return .milliseconds(millis)
    }

    /// `seconds` clamped into `0...maximum` (NaN becomes zero).
    public static func clamped(seconds: Double, maximum: Duration = .heraldMaximum) -> Duration {
        if seconds.isNaN || seconds <= 0 { return .zero }
        return checked(seconds: min(seconds, maximum.seconds), maximum: maximum) ?? maximum
    }

    /// This duration clamped into `0...maximum`.
    public func clamped(to maximum: Duration) -> Duration {
        self < .zero ? .zero : (self > maximum ? maximum : self)
    }

    /// The duration in whole milliseconds (truncated toward zero), its seconds clamped to
    /// about ±292 million years first so that the product never overflows.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let bound = Int64.max / 1000 - 1
        return min(max(seconds, -bound), bound) * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension Date {
    /// A timestamp Herald can schedule with: years 1 to 9999 (what PostgreSQL and the
    /// calendar code agree on). `infinity` and year 200000 are not.
    public var isSchedulable: Bool {
        let t = timeIntervalSince1970
        return t.isFinite && t >= -62_135_596_800 && t < 253_402_300_800
    }
}

extension Sequence where Element == UInt8 {
    /// The bytes as lower-case hexadecimal, two digits each (keys, digests, signatures).
    public var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
