import Foundation
@testable import HeraldRender
import HeraldScheduling
import Testing

private func at(_ iso: String) -> Date {
    guard let d = ISO8601DateFormatter().date(from: iso) else { fatalError("bad date \(iso)") }
    return d
}

private func formatter(_ locale: String, _ zone: String) -> LocaleFormatter {
    LocaleFormatter(locale: locale, timeZone: TimeZone(identifier: zone)!)
}

@Suite struct FormattingTests {
    @Test func theIssueExampleInMadrid() {
        // 10 May 2022 was a Tuesday; 11:00 UTC is 13:00 in Madrid (CEST).
        let f = formatter("es", "Europe/Madrid")
        #expect(f.dateTime(at("2022-05-10T11:00:00Z")) == "martes 10 de mayo a las 13:00")
    }

    @Test(arguments: [
        // locale, zone, instant, date, time, datetime
        ("es", "Europe/Madrid", "2026-05-12T11:00:00Z", "martes 12 de mayo", "13:00", "martes 12 de mayo a las 13:00"),
        ("es", "Europe/Madrid", "2026-01-15T00:30:00Z", "jueves 15 de enero", "1:30", "jueves 15 de enero a la 1:30"),
        ("es-MX", "America/Mexico_City", "2026-05-12T19:00:00Z", "martes 12 de mayo", "1:00 p.m.", "martes 12 de mayo a la 1:00 p.m."),
        ("fr", "Europe/Paris", "2026-05-12T11:00:00Z", "mardi 12 mai", "13:00", "mardi 12 mai à 13:00"),
        ("fr-CA", "America/Toronto", "2026-05-12T17:00:00Z", "mardi 12 mai", "13:00", "mardi 12 mai à 13:00"),
        ("en", "America/New_York", "2026-05-12T17:00:00Z", "Tuesday, May 12", "1:00 PM", "Tuesday, May 12 at 1:00 PM"),
        ("en-GB", "Europe/London", "2026-05-12T12:00:00Z", "Tuesday 12 May", "13:00", "Tuesday 12 May at 13:00"),
        // the same instant is a different day in another zone
        ("en", "Pacific/Auckland", "2026-05-12T17:00:00Z", "Wednesday, May 13", "5:00 AM", "Wednesday, May 13 at 5:00 AM"),
    ] as [(String, String, String, String, String, String)])
    func dateAndTime(locale: String, zone: String, instant: String, date: String, time: String, dateTime: String) {
        let f = formatter(locale, zone)
        let d = at(instant)
        #expect(f.date(d) == date)
        #expect(f.time(d) == time)
        #expect(f.dateTime(d) == dateTime)
    }

    @Test func longAndShortForms() {
        let d = at("2026-05-12T11:00:00Z")
        #expect(formatter("es", "Europe/Madrid").dateLong(d) == "martes 12 de mayo de 2026")
        #expect(formatter("es", "Europe/Madrid").dateTimeLong(d) == "martes 12 de mayo de 2026 a las 13:00")
        #expect(formatter("fr", "Europe/Paris").dateLong(d) == "mardi 12 mai 2026")
        #expect(formatter("en", "America/New_York").dateLong(d) == "Tuesday, May 12, 2026")
        #expect(formatter("es", "Europe/Madrid").dateShort(d) == "12/05/2026")
        #expect(formatter("fr", "Europe/Paris").dateShort(d) == "12/05/2026")
        #expect(formatter("en", "America/New_York").dateShort(d) == "05/12/2026")
        #expect(formatter("es", "Europe/Madrid").weekday(d) == "martes")
        #expect(formatter("fr", "Europe/Paris").month(d) == "mai")
        #expect(formatter("es", "Europe/Madrid").month(d) == "mayo")
    }

    @Test(arguments: [
        // Madrid springs forward at 01:00 UTC on 29 March 2026 (02:00 -> 03:00) and falls back at 01:00 UTC on 25 October.
        ("Europe/Madrid", "2026-03-29T00:59:00Z", "domingo 29 de marzo a la 1:59"),
        ("Europe/Madrid", "2026-03-29T01:00:00Z", "domingo 29 de marzo a las 3:00"),
        ("Europe/Madrid", "2026-10-25T00:30:00Z", "domingo 25 de octubre a las 2:30"),
        ("Europe/Madrid", "2026-10-25T01:30:00Z", "domingo 25 de octubre a las 2:30"),
        ("Europe/Madrid", "2026-10-25T02:30:00Z", "domingo 25 de octubre a las 3:30"),
        // New York: 8 March 2026 07:00 UTC (02:00 EST -> 03:00 EDT); 1 November 06:00 UTC.
        ("America/New_York", "2026-03-08T06:59:00Z", "domingo 8 de marzo a la 1:59"),
        ("America/New_York", "2026-03-08T07:00:00Z", "domingo 8 de marzo a las 3:00"),
        ("America/New_York", "2026-11-01T05:30:00Z", "domingo 1 de noviembre a la 1:30"),
        ("America/New_York", "2026-11-01T06:30:00Z", "domingo 1 de noviembre a la 1:30"),
        // Southern hemisphere: Santiago leaves DST at 03:00 UTC on 5 April 2026 (midnight -> 23:00 on the 4th),
        // so 23:30 on Saturday happens twice.
        ("America/Santiago", "2026-04-05T02:30:00Z", "sábado 4 de abril a las 23:30"),
        ("America/Santiago", "2026-04-05T03:30:00Z", "sábado 4 de abril a las 23:30"),
        ("America/Santiago", "2026-04-05T04:30:00Z", "domingo 5 de abril a las 0:30"),
    ] as [(String, String, String)])
    func acrossDaylightSavingTransitions(zone: String, instant: String, expected: String) {
        #expect(formatter("es", zone).dateTime(at(instant)) == expected)
    }

    @Test(arguments: [
        (30.0, "ahora", "maintenant", "now"),
        (60.0, "en 1 minuto", "dans 1 minute", "in 1 minute"),
        (45 * 60.0, "en 45 minutos", "dans 45 minutes", "in 45 minutes"),
        (2 * 3600.0, "en 2 horas", "dans 2 heures", "in 2 hours"),
        (3600.0, "en 1 hora", "dans 1 heure", "in 1 hour"),
        (-3 * 3600.0, "hace 3 horas", "il y a 3 heures", "3 hours ago"),
        (24 * 3600.0, "mañana", "demain", "tomorrow"),
        (3 * 86400.0, "en 3 días", "dans 3 jours", "in 3 days"),
        (-86400.0, "ayer", "hier", "yesterday"),
        (-5 * 86400.0, "hace 5 días", "il y a 5 jours", "5 days ago"),
    ] as [(Double, String, String, String)])
    func relativePhrases(seconds: Double, es: String, fr: String, en: String) {
        let now = at("2026-05-12T08:00:00Z")
        let target = now.addingTimeInterval(seconds)
        #expect(formatter("es", "Europe/Madrid").relative(target, now: now) == es)
        #expect(formatter("fr", "Europe/Paris").relative(target, now: now) == fr)
        #expect(formatter("en", "Europe/London").relative(target, now: now) == en)
        #expect(formatter("de", "Europe/Berlin").relative(target, now: now) == en)  // other languages: English
    }

    @Test func relativeUsesLocalCalendarDays() {
        // 22:00 tonight to 09:00 tomorrow in Madrid is 11 hours: hours, not "tomorrow".
        let now = at("2026-05-12T20:00:00Z")
        #expect(formatter("es", "Europe/Madrid").relative(at("2026-05-13T07:00:00Z"), now: now) == "en 11 horas")
        // 09:00 to 09:00 two days later is "en 2 días" even across the DST change.
        #expect(formatter("es", "Europe/Madrid").relative(at("2026-10-26T08:00:00Z"), now: at("2026-10-24T07:00:00Z")) == "en 2 días")
    }

    @Test(arguments: [
        ("es", "EUR", "1234,50 €"), ("fr", "EUR", "1 234,50 €"), ("en", "EUR", "€1,234.50"),
        ("en", "USD", "$1,234.50"), ("fr-CA", "CAD", "1 234,50 $"), ("es-MX", "MXN", "$1,234.50"),
    ])
    func money(locale: String, currency: String, expected: String) {
        #expect(formatter(locale, "UTC").money(Decimal(string: "1234.5")!, currency: currency) == expected)
    }

    @Test func noBreakSpacesBecomePlainSpaces() {
        // ICU writes U+202F before AM/PM and U+00A0/U+202F in French amounts: they would make an SMS UCS-2.
        let texts = [formatter("en", "UTC").time(at("2026-05-12T13:00:00Z")),
                     formatter("fr", "UTC").money(1234.5, currency: "EUR") ?? ""]
        for text in texts {
            #expect(!text.unicodeScalars.contains { $0.value == 0xA0 || $0.value == 0x202F })
            #expect(SMSSegments(text).encoding == .gsm7)
        }
    }

    @Test func unknownCurrencyIsNotAnAmount() {
        #expect(formatter("en", "UTC").money(5, currency: "EURO") == nil)
        #expect(formatter("en", "UTC").money(5, currency: "E1R") == nil)
    }
}

/// The renderer keeps one formatter per message locale, template locale and zone: each
/// of the three still decides what a message reads.
@Suite struct FormatterCacheTests {
    @Test func eachPartOfTheKeyStillDecidesTheFormatter() throws {
        let toronto = try #require(Zone("America/Toronto")), madrid = try #require(Zone("Europe/Madrid"))
        let cases: [(String?, String, Zone, String, String)] = [
            ("fr-CA", "fr", toronto, "fr-CA", "America/Toronto"), ("fr_CA", "fr", toronto, "fr-CA", "America/Toronto"),
            (nil, "fr", toronto, "fr", "America/Toronto"), ("de", "fr", toronto, "fr", "America/Toronto"),
            ("fr-CA", "fr", madrid, "fr-CA", "Europe/Madrid"), ("es-MX", "es", madrid, "es-MX", "Europe/Madrid"),
            ("fr-CA", "en", madrid, "en", "Europe/Madrid"),
        ]
        for _ in 0..<2 {  // the second round is served from the cache
            for (message, template, zone, locale, identifier) in cases {
                let f = Renderer.formatter(message: message, template: template, zone: zone)
                #expect(f.locale.identifier.replacingOccurrences(of: "_", with: "-") == locale, "\(String(describing: message)) \(template)")
                #expect(f.timeZone.identifier == identifier)
            }
        }
        // A 10:00 UTC appointment reads in the zone of the key, not of an earlier message.
        let instant = Date(timeIntervalSince1970: 1_778_407_200)  // 2026-05-10T10:00:00Z
        #expect(Renderer.formatter(message: "fr", template: "fr", zone: madrid).time(instant) == "12:00")
        #expect(Renderer.formatter(message: "fr", template: "fr", zone: toronto).time(instant) == "06:00")
    }

    @Test func manyLocalesFromHostRowsKeepTheCacheBounded() throws {
        let zone = try #require(Zone("Europe/Madrid"))
        for i in 0..<3_000 { _ = Renderer.formatter(message: "es-x\(i)", template: "es", zone: zone) }
        #expect(Renderer.formatterCount <= 1_024)
        #expect(Renderer.formatter(message: "es-ES", template: "es", zone: zone).language == "es")
    }
}
