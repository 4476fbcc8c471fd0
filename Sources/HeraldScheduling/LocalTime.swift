import Foundation
import HeraldCore

/// A wall-clock time of day, `00:00` to `24:00`, to the minute.
public struct LocalTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Minutes since midnight, 0...1440.
    public let minutes: Int

    public init?(minutes: Int) {
        guard (0...1440).contains(minutes) else { return nil }
        self.minutes = minutes
    }

    /// Parses `HH:MM` or `HH:MM:SS` (seconds must be zero; PostgreSQL's `time` text form).
    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3,
              parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let h = Int(parts[0]), let m = Int(parts[1]), m < 60, h <= 24,
              parts.count == 2 || Int(parts[2]) == 0 else { return nil }
        self.init(minutes: h * 60 + m)
    }

    public static func < (a: LocalTime, b: LocalTime) -> Bool { a.minutes < b.minutes }

    public var description: String { "\((minutes / 60).zeroPadded(2)):\((minutes % 60).zeroPadded(2))" }
}

/// A calendar date on the proleptic Gregorian calendar, without a zone.
public struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        let date = LocalDate(year: y, month: m, day: d)
        guard LocalDate(daysSinceEpoch: date.daysSinceEpoch) == date else { return nil }  // rejects 2026-02-30
        self = date
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (civil_from_days).
    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Int {
        let d = daysSinceEpoch  // 1970-01-01 was a Thursday (4)
        return ((d % 7 + 7) % 7 + 3) % 7 + 1
    }

    public func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + days) }

    public static func < (a: LocalDate, b: LocalDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    public var description: String { "\(year.zeroPadded(4))-\(month.zeroPadded(2))-\(day.zeroPadded(2))" }
}

/// An IANA time zone with the two conversions the rules need, and explicit DST rules.
///
/// - Local time of an instant: the zone's offset at that instant.
/// - Instant of a local date and time:
///   - exists once: that instant;
///   - **does not exist** (spring forward, e.g. 02:30 in Madrid on the last Sunday of March):
///     the first instant after the gap, i.e. the moment of the transition (03:00 local);
///   - **happens twice** (fall back, 02:30 on the last Sunday of October): both are
///     returned, earlier first; the rules take the first one that is not in the past.
public struct Zone: Sendable, Equatable {
    public let identifier: String
    /// The Foundation time zone (for formatting).
    public let timeZone: TimeZone

    /// Nil when the identifier is not a known IANA zone.
    public init?(_ identifier: String) {
        guard !identifier.isEmpty, let tz = TimeZone(identifier: identifier) else { return nil }
        self.identifier = identifier
        self.timeZone = tz
    }

    /// Offset from UTC in seconds at an instant.
    public func offset(at instant: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
    }

    /// The local date and the seconds since local midnight of an instant (Unix seconds).
    public func local(_ instant: Int64) -> (date: LocalDate, secondOfDay: Int) {
        let local = instant + offset(at: instant)
        let days = Int((local >= 0 ? local : local - 86_399) / 86_400)
        return (LocalDate(daysSinceEpoch: days), Int(local - Int64(days) * 86_400))
    }

    /// Every instant at which the local clock reads `date` `time` (see the type's DST rules).
    public func instants(_ date: LocalDate, _ time: LocalTime) -> [Int64] {
        let naive = Int64(date.daysSinceEpoch) * 86_400 + Int64(time.minutes) * 60
        let offsets = Set([offset(at: naive - 86_400), offset(at: naive), offset(at: naive + 86_400)])
        let solutions = offsets.map { naive - $0 }.filter { offset(at: $0) == naive - $0 }.sorted()
        if !solutions.isEmpty { return Array(Set(solutions)).sorted() }
        // A gap: find the first instant whose local time is at or past `naive`.
        var lo = naive - (offsets.max() ?? 0)
        var hi = naive - (offsets.min() ?? 0)
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if mid + offset(at: mid) >= naive { hi = mid } else { lo = mid + 1 }
        }
        return [lo]
    }

    /// Human form of an instant in this zone: `2026-01-16 08:00 Europe/Madrid`.
    public func describe(_ instant: Int64) -> String {
        let (date, second) = local(instant)
        return "\(date) \((second / 3600).zeroPadded(2)):\((second % 3600 / 60).zeroPadded(2)) \(identifier)"
    }
}
