import Foundation
import HeraldCore
import HeraldScheduling
import Testing

/// An instant from a local wall-clock reading in a zone: `at("2026-01-15 23:00", "Europe/Madrid")`.
func at(_ text: String, _ zone: String) -> Date {
    let parts = text.split(separator: " ")
    let date = LocalDate(String(parts[0]))!
    let time = LocalTime(String(parts[1]))!
    return Date(timeIntervalSince1970: TimeInterval(Zone(zone)!.instants(date, time).first!))
}

func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

func window(_ text: String) -> TimeWindow { try! TimeWindow.parse(text)! }

@Suite struct LocalCalendarTests {
    @Test(arguments: [("1970-01-01", 0, 4), ("2000-02-29", 11016, 2), ("2026-11-22", 20779, 7), ("1969-12-31", -1, 3), ("2400-03-01", 157_114, 3)])
    func daysAndWeekdays(text: String, days: Int, weekday: Int) {
        let date = LocalDate(text)!
        #expect(date.daysSinceEpoch == days)
        #expect(LocalDate(daysSinceEpoch: days) == date)
        #expect(date.weekday == weekday)
    }

    @Test(arguments: ["2026-02-30", "2026-13-01", "2025-02-29", "x", "2026-1"])
    func invalidDates(text: String) { #expect(LocalDate(text) == nil) }

    @Test(arguments: [("08:00", 480), ("00:00", 0), ("24:00", 1440), ("23:59", 1439), ("09:30:00", 570)])
    func times(text: String, minutes: Int) { #expect(LocalTime(text)?.minutes == minutes) }

    @Test(arguments: ["24:01", "8:00", "08:60", "08:00:30", "", "ab:cd", "-1:00"])
    func invalidTimes(text: String) { #expect(LocalTime(text) == nil) }

    @Test func windowsParseAndCrossMidnight() throws {
        let w = window("21:00-08:00")
        #expect(w.contains(secondOfDay: 21 * 3600) && w.contains(secondOfDay: 3 * 3600) && w.contains(secondOfDay: 8 * 3600 - 1))
        #expect(!w.contains(secondOfDay: 8 * 3600) && !w.contains(secondOfDay: 20 * 3600 + 3599))
        let lunch = window("12:00-14:00")
        #expect(lunch.contains(secondOfDay: 13 * 3600) && !lunch.contains(secondOfDay: 14 * 3600))
        #expect(try TimeWindow.parse("off") == nil)
        #expect(try TimeWindow.parse("") == nil)
        #expect(throws: SchedulingError.self) { try TimeWindow.parse("08:00-08:00") }
        #expect(throws: SchedulingError.self) { try TimeWindow.parse("25:00-08:00") }
        #expect(throws: SchedulingError.self) { try TimeWindow.parse("21:00") }
    }

    @Test func invertedOpeningIntervalIsAnError() {
        #expect(throws: SchedulingError.invalidOpening("opens 14:00 is not before closes 09:00 on weekday 1")) {
            try OpeningInterval(weekday: 1, opens: LocalTime("14:00")!, closes: LocalTime("09:00")!)
        }
        #expect(throws: SchedulingError.self) { try OpeningInterval(weekday: 8, opens: LocalTime("09:00")!, closes: LocalTime("10:00")!) }
    }
}

@Suite struct DaylightSavingTests {
    // Europe/Madrid springs forward 2026-03-29 02:00 → 03:00 and falls back 2026-10-25 03:00 → 02:00.
    @Test func aNonexistentLocalTimeResolvesToTheTransition() {
        let z = Zone("Europe/Madrid")!
        #expect(z.instants(LocalDate("2026-03-29")!, LocalTime("02:30")!) == [Int64(utc("2026-03-29T01:00:00Z").timeIntervalSince1970)])
    }

    @Test func anAmbiguousLocalTimeHasBothInstantsEarlierFirst() {
        let z = Zone("Europe/Madrid")!
        #expect(z.instants(LocalDate("2026-10-25")!, LocalTime("02:30")!) == [
            Int64(utc("2026-10-25T00:30:00Z").timeIntervalSince1970), Int64(utc("2026-10-25T01:30:00Z").timeIntervalSince1970),
        ])
    }

    @Test(arguments: [
        ("Asia/Kathmandu", "2026-06-01T00:00:00Z", "2026-06-01", 5 * 3600 + 45 * 60),
        ("Australia/Lord_Howe", "2026-01-10T00:00:00Z", "2026-01-10", 11 * 3600),          // +11 in summer
        ("Australia/Lord_Howe", "2026-07-10T00:00:00Z", "2026-07-10", 10 * 3600 + 30 * 60), // +10:30 in winter
        ("Pacific/Chatham", "2026-01-10T00:00:00Z", "2026-01-10", 13 * 3600 + 45 * 60),     // +13:45 in summer
        ("America/Sao_Paulo", "2026-01-10T12:00:00Z", "2026-01-10", 9 * 3600),              // -03:00, no DST since 2019
        ("America/St_Johns", "2026-01-10T12:00:00Z", "2026-01-10", 8 * 3600 + 30 * 60),     // -03:30
    ])
    func oddOffsets(zone: String, instant: String, date: String, secondOfDay: Int) {
        let local = Zone(zone)!.local(Int64(utc(instant).timeIntervalSince1970))
        #expect(local.date == LocalDate(date)!)
        #expect(local.secondOfDay == secondOfDay)
    }

    @Test func lordHoweHalfHourSpringForward() {
        // Lord Howe moves 02:00 → 02:30 on 2026-10-04: 02:15 does not exist.
        let z = Zone("Australia/Lord_Howe")!
        let result = z.instants(LocalDate("2026-10-04")!, LocalTime("02:15")!)
        #expect(result.count == 1)
        #expect(z.local(result[0]).secondOfDay == 2 * 3600 + 30 * 60)
    }
}

@Suite struct SchedulingRuleTests {
    let policy = SchedulingPolicy(defaultTimeZone: "Europe/Madrid")

    func decide(_ input: ScheduleInput, _ now: Date, locations: [Location] = [], policy: SchedulingPolicy? = nil) throws -> Decision {
        try Scheduler(policy: policy ?? self.policy, locations: Dictionary(uniqueKeysWithValues: locations.map { ($0.id, $0) }))
            .decide(input, at: now)
    }

    func deferredUntil(_ d: Decision) -> Date? {
        if case .deferred(let until, _) = d { return until }
        return nil
    }

    // MARK: Postponement

    @Test func postponementAddsToSendAt() throws {
        let now = at("2026-05-10 12:00", "Europe/Madrid")
        let d = try decide(ScheduleInput(channel: .email, sendAt: now, postpone: .seconds(3600)), now)
        #expect(d == .deferred(until: at("2026-05-10 13:00", "Europe/Madrid"), reasons: ["send_at + postpone is 2026-05-10 13:00 Europe/Madrid"]))
        #expect(try decide(ScheduleInput(channel: .email, sendAt: now, postpone: .seconds(3600)), at("2026-05-10 13:00", "Europe/Madrid")) == .send)
    }

    @Test func aDueMessageIsSentNow() throws {
        let now = at("2026-05-10 12:00", "Europe/Madrid")
        #expect(try decide(ScheduleInput(channel: .sms, sendAt: now.addingTimeInterval(-60)), now) == .send)
    }

    // MARK: Quiet hours

    @Test(arguments: [
        // (local now, expected: nil = send now, else local deferral)
        ("2026-01-15 23:00", "2026-01-16 08:00"),
        ("2026-01-15 21:00", "2026-01-16 08:00"),
        ("2026-01-16 03:00", "2026-01-16 08:00"),
        ("2026-01-16 07:59", "2026-01-16 08:00"),
        ("2026-01-16 08:00", nil),
        ("2026-01-15 20:59", nil),
        ("2026-01-15 12:00", nil),
    ] as [(String, String?)])
    func smsQuietHoursDeferToTheEndOfTheWindowInTheClientsZone(now: String, expected: String?) throws {
        let instant = at(now, "Europe/Madrid")
        let d = try decide(ScheduleInput(channel: .sms, sendAt: instant, timeZone: "Europe/Madrid"), instant)
        #expect(deferredUntil(d) == expected.map { at($0, "Europe/Madrid") })
        if expected == nil { #expect(d == .send) }
    }

    @Test func emailHasNoQuietHoursByDefault() throws {
        let now = at("2026-01-16 03:00", "Europe/Madrid")
        #expect(try decide(ScheduleInput(channel: .email, sendAt: now), now) == .send)
    }

    @Test func quietHoursUseTheRecipientsZoneNotTheServers() throws {
        // 23:00 in Madrid is 17:00 in New York: fine for a New York client.
        let now = at("2026-01-15 23:00", "Europe/Madrid")
        #expect(try decide(ScheduleInput(channel: .sms, sendAt: now, timeZone: "America/New_York"), now) == .send)
        // 22:00 in New York: deferred to 08:00 New York time.
        let late = at("2026-01-15 22:00", "America/New_York")
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: late, timeZone: "America/New_York"), late)) == at("2026-01-16 08:00", "America/New_York"))
    }

    @Test func urgentMessagesBypassQuietHours() throws {
        let now = at("2026-01-16 03:00", "Europe/Madrid")
        #expect(try decide(ScheduleInput(channel: .sms, sendAt: now, urgent: true), now) == .send)
    }

    @Test func configuredAndPerLocationQuietHours() throws {
        let now = at("2026-01-15 20:30", "Europe/Madrid")
        let strict = SchedulingPolicy(defaultTimeZone: "Europe/Madrid", quietHours: [.sms: window("20:00-09:00"), .email: window("22:00-07:00")])
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: now), now, policy: strict)) == at("2026-01-16 09:00", "Europe/Madrid"))
        let shop = Location(id: "shop", name: "Shop", timeZone: "Europe/Madrid", quietHours: [.sms: window("20:00-10:00")])
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: now, locationID: "shop"), now, locations: [shop])) == at("2026-01-16 10:00", "Europe/Madrid"))
        let lenient = Location(id: "bar", name: "Bar", timeZone: "Europe/Madrid", quietHours: [.sms: nil])
        #expect(try decide(ScheduleInput(channel: .sms, sendAt: now, locationID: "bar"), now, locations: [lenient]) == .send)
    }

    // MARK: Time zones

    @Test func zoneResolutionRecipientThenLocationThenDefault() throws {
        let madrid = Location(id: "m", name: "Madrid salon", timeZone: "Europe/Madrid")
        let locked = Location(id: "l", name: "Paris clinic", timeZone: "Europe/Paris", lockTimeZone: true)
        let now = at("2026-01-15 12:00", "UTC")
        let s = Scheduler(policy: SchedulingPolicy(defaultTimeZone: "Asia/Kathmandu"), locations: ["m": madrid, "l": locked])
        #expect(try s.explain(ScheduleInput(channel: .sms, sendAt: now, timeZone: "America/Sao_Paulo", locationID: "m"), at: now).timeZone == "America/Sao_Paulo")
        #expect(try s.explain(ScheduleInput(channel: .sms, sendAt: now, locationID: "m"), at: now).timeZone == "Europe/Madrid")
        #expect(try s.explain(ScheduleInput(channel: .sms, sendAt: now), at: now).timeZone == "Asia/Kathmandu")
        // Square's "locked to the location's time zone".
        #expect(try s.explain(ScheduleInput(channel: .sms, sendAt: now, timeZone: "America/Sao_Paulo", locationID: "l"), at: now).timeZone == "Europe/Paris")
    }

    @Test func unknownZonesAndLocationsAreErrors() {
        let now = Date()
        #expect(throws: SchedulingError.unknownTimeZone("Europe/Madird", source: "message time_zone")) {
            try decide(ScheduleInput(channel: .sms, sendAt: now, timeZone: "Europe/Madird"), now)
        }
        #expect(throws: SchedulingError.unknownLocation("nowhere")) {
            try decide(ScheduleInput(channel: .sms, sendAt: now, locationID: "nowhere"), now)
        }
        #expect(throws: SchedulingError.noLocation) {
            try decide(ScheduleInput(channel: .sms, sendAt: now, businessHoursOnly: true), now)
        }
        let bad = Location(id: "b", name: "B", timeZone: "Mars/Olympus")
        #expect(throws: SchedulingError.unknownTimeZone("Mars/Olympus", source: "time zone of location b")) {
            try decide(ScheduleInput(channel: .email, sendAt: now, locationID: "b"), now, locations: [bad])
        }
        #expect(throws: SchedulingError.unknownTimeZone("Nope/Zone", source: "scheduling.default_time_zone")) {
            try decide(ScheduleInput(channel: .email, sendAt: now), now, policy: SchedulingPolicy(defaultTimeZone: "Nope/Zone"))
        }
    }

    // MARK: Business hours

    static func workshop(closed: Set<LocalDate> = []) -> Location {
        // Mon–Fri 09:00–13:00 and 15:00–19:00 (lunch break), Sat 10:00–14:00, Sun closed.
        var openings: [OpeningInterval] = []
        for day in 1...5 {
            openings.append(try! OpeningInterval(weekday: day, opens: LocalTime("09:00")!, closes: LocalTime("13:00")!))
            openings.append(try! OpeningInterval(weekday: day, opens: LocalTime("15:00")!, closes: LocalTime("19:00")!))
        }
        openings.append(try! OpeningInterval(weekday: 6, opens: LocalTime("10:00")!, closes: LocalTime("14:00")!))
        return Location(id: "ws", name: "Taller Centro", timeZone: "Europe/Madrid", openings: openings, closedDates: closed)
    }

    @Test(arguments: [
        ("2026-05-11 10:00", nil),                 // Monday morning: open
        ("2026-05-11 13:30", "2026-05-11 15:00"),  // lunch break
        ("2026-05-11 19:00", "2026-05-12 09:00"),  // closing time is exclusive
        ("2026-05-11 08:00", "2026-05-11 09:00"),
        ("2026-05-15 20:00", "2026-05-16 10:00"),  // Friday evening → Saturday 10:00
        ("2026-05-16 15:00", "2026-05-18 09:00"),  // Saturday afternoon → Monday
        ("2026-05-17 11:00", "2026-05-18 09:00"),  // Sunday
    ] as [(String, String?)])
    func businessHoursDeferToTheNextOpening(now: String, expected: String?) throws {
        let instant = at(now, "Europe/Madrid")
        let d = try decide(ScheduleInput(channel: .email, sendAt: instant, locationID: "ws", businessHoursOnly: true), instant, locations: [Self.workshop()])
        if let expected { #expect(deferredUntil(d) == at(expected, "Europe/Madrid")) } else { #expect(d == .send) }
    }

    @Test func closedDatesAreSkipped() throws {
        let now = at("2026-05-11 20:00", "Europe/Madrid")
        let loc = Self.workshop(closed: [LocalDate("2026-05-12")!, LocalDate("2026-05-13")!])
        let d = try decide(ScheduleInput(channel: .email, sendAt: now, locationID: "ws", businessHoursOnly: true), now, locations: [loc])
        #expect(deferredUntil(d) == at("2026-05-14 09:00", "Europe/Madrid"))
    }

    @Test func businessHoursUseTheLocationsZoneEvenForAClientElsewhere() throws {
        // 16:00 in New York is 22:00 in Madrid: the workshop is closed.
        let now = at("2026-05-11 16:00", "America/New_York")
        let d = try decide(ScheduleInput(channel: .email, sendAt: now, timeZone: "America/New_York", locationID: "ws", businessHoursOnly: true), now, locations: [Self.workshop()])
        #expect(deferredUntil(d) == at("2026-05-12 09:00", "Europe/Madrid"))
    }

    @Test func noOpeningHoursIsAnError() {
        let now = Date()
        let empty = Location(id: "e", name: "Empty", timeZone: "Europe/Madrid")
        #expect(throws: SchedulingError.noOpeningHours("e")) {
            try decide(ScheduleInput(channel: .email, sendAt: now, locationID: "e", businessHoursOnly: true), now, locations: [empty])
        }
    }

    @Test func quietHoursAndBusinessHoursTogether() throws {
        // Opens at 07:00 but SMS quiet hours last until 08:00: 08:00 it is.
        let early = Location(id: "bakery", name: "Bakery", timeZone: "Europe/Madrid",
                             openings: (1...7).map { try! OpeningInterval(weekday: $0, opens: LocalTime("07:00")!, closes: LocalTime("14:00")!) })
        let now = at("2026-05-11 22:00", "Europe/Madrid")
        let d = try decide(ScheduleInput(channel: .sms, sendAt: now, locationID: "bakery", businessHoursOnly: true), now, locations: [early])
        #expect(deferredUntil(d) == at("2026-05-12 08:00", "Europe/Madrid"))
        guard case .deferred(_, let quietOnly) = d else { return }
        #expect(quietOnly == ["quiet hours 21:00-08:00 for sms in Europe/Madrid"])
        // Closed on Sunday, opening Monday 07:00, inside quiet hours: both rules move it, to 08:00.
        let weekdays = Location(id: "b2", name: "Bakery", timeZone: "Europe/Madrid",
                                openings: (1...6).map { try! OpeningInterval(weekday: $0, opens: LocalTime("07:00")!, closes: LocalTime("14:00")!) })
        let sunday = at("2026-05-17 10:00", "Europe/Madrid")
        let both = try decide(ScheduleInput(channel: .sms, sendAt: sunday, locationID: "b2", businessHoursOnly: true), sunday, locations: [weekdays])
        #expect(both == .deferred(until: at("2026-05-18 08:00", "Europe/Madrid"), reasons: [
            "outside the opening hours of Bakery (Europe/Madrid)", "quiet hours 21:00-08:00 for sms in Europe/Madrid",
        ]))
    }

    // MARK: Cutoffs

    @Test func theTooCloseCutoffIncludesWhenQuietHoursPushThere() throws {
        // Square's example: quiet hours end at 08:00, after the 07:30 appointment.
        let now = at("2026-05-11 23:00", "Europe/Madrid")
        let input = ScheduleInput(channel: .sms, sendAt: now, eventAt: at("2026-05-12 07:30", "Europe/Madrid"), timeZone: "Europe/Madrid")
        let d = try decide(input, now)
        guard case .expired(let reason) = d else { Issue.record("expected expired, got \(d)"); return }
        #expect(reason == "would go out at 2026-05-12 08:00 Europe/Madrid (quiet hours 21:00-08:00 for sms in Europe/Madrid), less than 30 min before the appointment at 2026-05-12 07:30 Europe/Madrid")
        // An 09:00 appointment still gets its reminder at 08:00.
        var ok = input
        ok.eventAt = at("2026-05-12 09:00", "Europe/Madrid")
        #expect(deferredUntil(try decide(ok, now)) == at("2026-05-12 08:00", "Europe/Madrid"))
        // 08:20 is too close under the default 30 min, fine with a per-message 15 min.
        ok.eventAt = at("2026-05-12 08:20", "Europe/Madrid")
        #expect(try decide(ok, now).name == "expire")
        ok.minimumLead = .seconds(15 * 60)
        #expect(try decide(ok, now).name == "defer")
    }

    @Test func aReminderBookedTooCloseIsNotSent() throws {
        let now = at("2026-05-11 12:00", "Europe/Madrid")
        let d = try decide(ScheduleInput(channel: .email, sendAt: now, eventAt: now.addingTimeInterval(20 * 60)), now)
        #expect(d.name == "expire")
        #expect(try decide(ScheduleInput(channel: .email, sendAt: now, eventAt: now.addingTimeInterval(31 * 60)), now) == .send)
    }

    @Test func anAppointmentThatStartedIsNeverSentEvenWithNoLead() throws {
        let now = at("2026-05-11 12:00", "Europe/Madrid")
        let d = try decide(ScheduleInput(channel: .email, sendAt: now, eventAt: now, minimumLead: .zero), now)
        guard case .expired(let reason) = d else { Issue.record("\(d)"); return }
        #expect(reason.contains("the appointment started at 2026-05-11 12:00 Europe/Madrid"))
    }

    @Test func expiresAtIsAHardCutoffIncludingAfterDeferral() throws {
        let now = at("2026-05-11 22:00", "Europe/Madrid")
        #expect(try decide(ScheduleInput(channel: .email, sendAt: now, expiresAt: now.addingTimeInterval(-1)), now).name == "expire")
        let d = try decide(ScheduleInput(channel: .sms, sendAt: now, expiresAt: at("2026-05-12 07:00", "Europe/Madrid")), now)
        guard case .expired(let reason) = d else { Issue.record("\(d)"); return }
        #expect(reason.contains("past expires_at 2026-05-12 07:00 Europe/Madrid"))
        #expect(try decide(ScheduleInput(channel: .sms, sendAt: now, expiresAt: at("2026-05-12 08:00", "Europe/Madrid")), now).name == "defer")
    }

    // MARK: Daylight saving time

    @Test func quietHoursAcrossSpringForwardAndFallBack() throws {
        // Night before the March change in Madrid: still 08:00 local, which is 06:00Z (CEST).
        let spring = at("2026-03-28 23:00", "Europe/Madrid")
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: spring), spring)) == utc("2026-03-29T06:00:00Z"))
        // Night of the October change: 08:00 local is 07:00Z (CET).
        let fall = at("2026-10-24 23:00", "Europe/Madrid")
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: fall), fall)) == utc("2026-10-25T07:00:00Z"))
    }

    @Test func aWindowEndingInsideTheSpringGapEndsAtTheTransition() throws {
        let p = SchedulingPolicy(defaultTimeZone: "Europe/Madrid", quietHours: [.sms: window("21:00-02:30")])
        let now = at("2026-03-28 23:00", "Europe/Madrid")
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: now), now, policy: p)) == utc("2026-03-29T01:00:00Z"))
    }

    @Test func aWindowEndingAtAnAmbiguousTimeEndsAtItsFirstOccurrenceNotInThePast() throws {
        let p = SchedulingPolicy(defaultTimeZone: "Europe/Madrid", quietHours: [.sms: window("01:00-02:30")])
        // First pass of 02:10 (00:10Z): ends at the first 02:30 (00:30Z).
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: utc("2026-10-25T00:10:00Z")), utc("2026-10-25T00:10:00Z"), policy: p)) == utc("2026-10-25T00:30:00Z"))
        // Second pass of 02:10 (01:10Z): the clock reads inside the window again; it ends at the second 02:30 (01:30Z).
        #expect(deferredUntil(try decide(ScheduleInput(channel: .sms, sendAt: utc("2026-10-25T01:10:00Z")), utc("2026-10-25T01:10:00Z"), policy: p)) == utc("2026-10-25T01:30:00Z"))
    }
}

@Suite struct SubsecondTests {
    @Test func aMessageDueWithinTheCurrentSecondIsSentNotDeferred() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000.2)
        let s = Scheduler(policy: SchedulingPolicy(quietHours: [:]))
        #expect(try s.decide(ScheduleInput(channel: .sms, sendAt: now.addingTimeInterval(0.5)), at: now) == .send)
        #expect(try s.decide(ScheduleInput(channel: .sms, sendAt: now.addingTimeInterval(1.5)), at: now).name == "defer")
    }
}
