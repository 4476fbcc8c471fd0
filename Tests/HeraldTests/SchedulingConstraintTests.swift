import Foundation
import HeraldCore
import HeraldScheduling
import Testing

/// Each scheduling constraint alone, then ``Scheduler/settle(_:constraints:cutoff:horizon:)``
/// applying them until none moves the time (issue 23).
@Suite struct SchedulingConstraintTests {
    static let madrid = Zone("Europe/Madrid")!
    /// Seconds since 1970 of an ISO instant.
    static func s(_ iso: String) -> Int64 { Int64(ISO8601DateFormatter().date(from: iso)!.timeIntervalSince1970) }

    @Test func quietHoursMoveATimeInsideTheWindowToItsEndAndLeaveOthers() throws {
        let quiet = QuietHours(window: try #require(try TimeWindow.parse("21:00-08:00")), zone: Self.madrid, channel: .sms)
        #expect(try quiet.earliest(from: Self.s("2026-05-12T21:30:00+02:00")) == Self.s("2026-05-13T08:00:00+02:00"), "evening: tomorrow 08:00")
        #expect(try quiet.earliest(from: Self.s("2026-05-13T03:00:00+02:00")) == Self.s("2026-05-13T08:00:00+02:00"), "night: 08:00 the same day")
        #expect(try quiet.earliest(from: Self.s("2026-05-13T08:00:00+02:00")) == Self.s("2026-05-13T08:00:00+02:00"), "the end is outside")
        #expect(try quiet.earliest(from: Self.s("2026-05-13T20:59:59+02:00")) == Self.s("2026-05-13T20:59:59+02:00"))
        // Across the spring change (29 March 2026, 02:00 → 03:00): 08:00 is UTC+2 already.
        #expect(try quiet.earliest(from: Self.s("2026-03-28T23:00:00+01:00")) == Self.s("2026-03-29T08:00:00+02:00"))
        #expect(quiet.reason == "quiet hours 21:00-08:00 for sms in Europe/Madrid")
    }

    @Test func openingHoursMoveToTheNextOpeningAndSkipClosedDates() throws {
        // Tuesday and Wednesday 09:00-14:00; Wednesday 13 May is a holiday.
        let location = Location(id: "sol", name: "Sol", timeZone: "Europe/Madrid", openings: [
            try OpeningInterval(weekday: 2, opens: LocalTime("09:00")!, closes: LocalTime("14:00")!),
            try OpeningInterval(weekday: 3, opens: LocalTime("09:00")!, closes: LocalTime("14:00")!),
        ], closedDates: [LocalDate(year: 2026, month: 5, day: 13)])
        let open = OpeningHours(location: location, zone: Self.madrid)
        #expect(try open.earliest(from: Self.s("2026-05-12T10:00:00+02:00")) == Self.s("2026-05-12T10:00:00+02:00"), "open: unchanged")
        #expect(try open.earliest(from: Self.s("2026-05-12T07:00:00+02:00")) == Self.s("2026-05-12T09:00:00+02:00"))
        #expect(try open.earliest(from: Self.s("2026-05-12T14:00:00+02:00")) == Self.s("2026-05-19T09:00:00+02:00"), "closes at 14:00; Wednesday is a holiday")
        let never = OpeningHours(location: Location(id: "x", name: "X", timeZone: "Europe/Madrid"), zone: Self.madrid)
        #expect(throws: SchedulingError.noOpeningHours("x")) { try never.earliest(from: 0) }
    }

    /// A quiet window ending at 08:00 and an opening at 10:00: the message goes at 10:00,
    /// each reason once; past the cutoff the search stops; no instant at all fails.
    @Test func settleAppliesTheConstraintsUntilNoneMovesTheTime() throws {
        let quiet = QuietHours(window: try #require(try TimeWindow.parse("20:00-08:00")), zone: Self.madrid, channel: .sms)
        let location = Location(id: "sol", name: "Sol", timeZone: "Europe/Madrid", openings: (1...7).map {
            try! OpeningInterval(weekday: $0, opens: LocalTime("10:00")!, closes: LocalTime("21:00")!)
        })
        let open = OpeningHours(location: location, zone: Self.madrid)
        let start = Self.s("2026-05-12T20:30:00+02:00")
        let settled = try Scheduler.settle(start, constraints: [quiet, open], cutoff: nil, horizon: start + 86_400 * 30)
        #expect(settled.time == Self.s("2026-05-13T10:00:00+02:00"))
        #expect(settled.reasons == [quiet.reason, open.reason])
        let cut = try Scheduler.settle(start, constraints: [quiet, open], cutoff: start, horizon: start + 86_400)
        #expect(cut.time > start && cut.time <= Self.s("2026-05-13T10:00:00+02:00"), "stops once past the cutoff")
        // Open only 21:00-22:00 while quiet from 20:00: never both.
        let late = Location(id: "late", name: "Late", timeZone: "Europe/Madrid", openings: (1...7).map {
            try! OpeningInterval(weekday: $0, opens: LocalTime("21:00")!, closes: LocalTime("22:00")!)
        })
        #expect(throws: SchedulingError.self) {
            try Scheduler.settle(start, constraints: [quiet, OpeningHours(location: late, zone: Self.madrid)], cutoff: nil, horizon: start + 86_400 * 30)
        }
        #expect(try Scheduler.settle(start, constraints: [], cutoff: nil, horizon: start).time == start, "no constraint: unchanged")
    }
}
