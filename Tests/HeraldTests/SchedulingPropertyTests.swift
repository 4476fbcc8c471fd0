import Foundation
import HeraldCore
import HeraldScheduling
import PropertyBased
import Testing

let propertyZones = ["Europe/Madrid", "Europe/Paris", "America/New_York", "America/Sao_Paulo", "Australia/Lord_Howe",
                     "Asia/Kathmandu", "Pacific/Chatham", "UTC", "America/St_Johns", "Asia/Kolkata", "Pacific/Apia"]

/// Instants around the DST transitions of 2024–2027, where the rules are hardest.
let propertyInstants: ClosedRange<Date> = Date(timeIntervalSince1970: 1_704_067_200)...Date(timeIntervalSince1970: 1_830_297_600)

@Suite struct SchedulingPropertyTests {
    static func windows() -> [TimeWindow] {
        var out: [TimeWindow] = []
        for (s, e) in [(21 * 60, 8 * 60), (20 * 60, 9 * 60), (22 * 60 + 30, 7 * 60 + 15), (60, 150), (0, 6 * 60),
                       (12 * 60, 14 * 60), (23 * 60 + 45, 15), (2 * 60, 3 * 60), (2 * 60 + 15, 2 * 60 + 45)] {
            out.append(TimeWindow(start: LocalTime(minutes: s)!, end: LocalTime(minutes: e)!)!)
        }
        return out
    }

    static let location = Location(
        id: "loc", name: "Loc", timeZone: "Europe/Paris",
        openings: (1...6).flatMap { day in [
            try! OpeningInterval(weekday: day, opens: LocalTime("02:30")!, closes: LocalTime("05:00")!),
            try! OpeningInterval(weekday: day, opens: LocalTime("09:00")!, closes: LocalTime("12:30")!),
            try! OpeningInterval(weekday: day, opens: LocalTime("14:00")!, closes: LocalTime("19:00")!),
        ] },
        closedDates: [LocalDate("2026-12-25")!, LocalDate("2027-01-01")!])

    @Test func decisionsNeverLandInAQuietWindowNorBeforeSendAtPlusPostponeNorAfterTheCutoff() async {
        await propertyCheck(count: 3000,
                            input: Gen<String?>.element(of: propertyZones), Gen.date(in: propertyInstants),
                            Gen.int(in: -7200...172_800), Gen.int(in: 0...21_600), Gen<TimeWindow?>.element(of: Self.windows()),
                            Gen.int(in: 0...4)) { zone, now, sendOffset, postpone, window, variant in
            let zone = zone!
            let window = window!
            let policy = SchedulingPolicy(defaultTimeZone: "UTC", quietHours: [.sms: window], minimumLead: .seconds(1800))
            let scheduler = Scheduler(policy: policy, locations: ["loc": Self.location])
            let sendAt = now.addingTimeInterval(TimeInterval(sendOffset))
            var input = ScheduleInput(channel: .sms, sendAt: sendAt, postpone: .seconds(postpone), timeZone: zone)
            if variant >= 1 { input.eventAt = now.addingTimeInterval(TimeInterval(sendOffset + postpone + 3600 * variant * 5)) }
            if variant >= 2 { input.expiresAt = now.addingTimeInterval(TimeInterval(sendOffset + postpone + 3600 * variant * 3)) }
            if variant >= 3 { input.locationID = "loc"; input.businessHoursOnly = true }
            let decision: Decision
            do { decision = try scheduler.decide(input, at: now) } catch {
                Issue.record("unexpected error \(error)")
                return
            }
            let z = Zone(zone)!
            let earliest = sendAt.addingTimeInterval(TimeInterval(postpone))
            func check(_ t: Date) {
                let s = Int64(t.timeIntervalSince1970)
                #expect(!window.contains(secondOfDay: z.local(s).secondOfDay), "in quiet window \(window): \(z.describe(s))")
                #expect(t >= earliest.addingTimeInterval(-1), "before send_at + postpone")
                if let e = input.expiresAt { #expect(t <= e, "after expires_at") }
                if let ev = input.eventAt { #expect(t <= ev.addingTimeInterval(-1800), "closer than the lead to the event") }
                if input.businessHoursOnly {
                    let loc = Zone("Europe/Paris")!
                    #expect(Scheduler.isOpenForTests(Self.location, zone: loc, at: s), "outside opening hours: \(loc.describe(s))")
                }
            }
            switch decision {
            case .send: check(now)
            case .deferred(let until, let reasons):
                #expect(until > now && !reasons.isEmpty)
                check(until)
                // Deciding again at that instant sends (the rules are stable).
                #expect((try? scheduler.decide(input, at: until)) == .send, "not stable at \(until)")
            case .expired(let reason):
                #expect(!reason.isEmpty)
                #expect(input.eventAt != nil || input.expiresAt != nil, "expired without a cutoff")
            }
        }
    }

    @Test func localTimeAndBackAgreeAroundTransitions() async {
        await propertyCheck(count: 3000, input: Gen<String?>.element(of: propertyZones), Gen.date(in: propertyInstants)) { zone, instant in
            let z = Zone(zone!)!
            let s = Int64(instant.timeIntervalSince1970)
            let (date, second) = z.local(s)
            let time = LocalTime(minutes: second / 60)!
            let back = z.instants(date, time)
            // The instant, truncated to its minute, is among the instants of its own local reading.
            #expect(back.contains(s - Int64(second % 60)), "\(zone!) \(date) \(time): \(back) vs \(s)")
        }
    }
}

extension Scheduler {
    /// Open at instant `s`? (The rules' own `nextOpening` returns `s` itself exactly then.)
    static func isOpenForTests(_ location: Location, zone: Zone, at s: Int64) -> Bool {
        let (date, second) = zone.local(s)
        if location.closedDates.contains(date) { return false }
        return location.openings.contains { $0.weekday == date.weekday && second >= $0.opens.minutes * 60 && second < $0.closes.minutes * 60 }
    }
}
