import Foundation
import HeraldCore
import Synchronization

/// Formats dates, times, relative phrases and money for one locale and time zone,
/// the way a client reads them: "martes 10 de mayo a las 13:00", "mardi 10 mai à
/// 13:00", "Tuesday, May 10 at 1:00 PM".
///
/// Month and weekday names and the order of fields come from the locale (ICU);
/// Spanish, French and English have hand-set patterns and joiners so the wording is
/// natural in the three languages Herald ships templates for. Every output uses
/// plain spaces: ICU's no-break spaces (U+00A0, U+202F) would force an SMS into
/// UCS-2 and double its cost.
public struct LocaleFormatter: Sendable {
    public let locale: Locale
    public let timeZone: TimeZone
    /// `es`, `fr`, `en`, ...
    public let language: String

    /// `locale` is a BCP 47 tag (`es`, `fr-CA`, `en_GB`); `timeZone` an IANA zone.
    public init(locale: String, timeZone: TimeZone) {
        let tag = locale.hyphenatedLocaleTag
        self.locale = Locale(identifier: tag)
        self.timeZone = timeZone
        self.language = String(tag.prefix { $0 != "-" }).lowercased()
        self.cacheKey = tag + "|" + timeZone.identifier + "|"
        self.id = Self.id(for: cacheKey)
    }

    /// The locale and zone part of the formatter pool's keys.
    private let cacheKey: String
    /// This formatter in the memo of recent texts (hashing two integers, not a string,
    /// per date printed).
    private let id: Int
    /// One id per locale and zone, so that formatters made apart (the answer page makes one
    /// per request) share their texts; bounded: past 4,096 the table empties and ids go on
    /// from the last one, never reused.
    private static let ids = Mutex<(table: [String: Int], last: Int)>(([:], 0))

    private static func id(for key: String) -> Int {
        ids.withLock { ids in
            if let id = ids.table[key] { return id }
            if ids.table.count >= 4_096 { ids.table.removeAll() }
            ids.last += 1
            ids.table[key] = ids.last
            return ids.last
        }
    }

    /// The forms dates are printed in, each a fixed pattern or a localized template.
    enum Form: UInt8 {
        case spanishDate, date, spanishDateLong, dateLong, dateShort, time, weekday, month, day, year

        var pattern: String? {
            switch self {
            case .spanishDate: return "EEEE d 'de' MMMM"
            case .spanishDateLong: return "EEEE d 'de' MMMM 'de' y"
            case .weekday: return "EEEE"
            case .month: return "LLLL"
            case .day: return "d"
            case .year: return "y"
            case .date, .dateLong, .dateShort, .time: return nil
            }
        }

        var template: String? {
            switch self {
            case .date: return "EEEEdMMMM"
            case .dateLong: return "EEEEdMMMMy"
            case .dateShort: return "ddMMyyyy"
            case .time: return "jmm"
            case .spanishDate, .spanishDateLong, .weekday, .month, .day, .year: return nil
            }
        }
    }

    private struct RecentKey: Hashable, Sendable {
        let formatter: Int
        let form: Form
        let seconds: Int64
    }

    private func format(_ date: Date, _ form: Form) -> String {
        // Appointments start on a few times of day, shared by many messages: the text of one
        // instant in one locale, zone and form is kept (whole seconds; bounded).
        let recent = Int64(exactly: date.timeIntervalSince1970).map { RecentKey(formatter: id, form: form, seconds: $0) }
        if let recent, let text = Self.recentTexts.value(for: recent) { return text }
        let (pattern, template) = (form.pattern, form.template)
        let key = cacheKey + (pattern ?? "") + "|" + (template ?? "")
        let f = Self.formatters.withLock { $0[key]?.popLast() } ?? {
            let f = DateFormatter()
            f.locale = locale
            f.timeZone = timeZone
            f.calendar = Calendar(identifier: .gregorian)
            if let pattern { f.dateFormat = pattern } else if let template { f.setLocalizedDateFormatFromTemplate(template) }
            return f
        }()
        let text = f.string(from: date)
        Self.formatters.withLock { cache in
            if cache.count > 2_000 { cache.removeAll() }  // bounded: locales x zones x forms in use
            if cache[key, default: []].count < 8 { cache[key, default: []].append(f) }
        }
        let plain = Self.plainSpaces(text)
        if let recent { Self.recentTexts.remember(plain, for: recent) }
        return plain
    }

    /// Texts of recently formatted instants, by formatter and instant.
    private static let recentTexts = BoundedMemo<RecentKey, String>(capacity: 8_192)

    /// Formatters are costly to build (ICU pattern generation): built once per locale, zone
    /// and form and kept. A `DateFormatter` is not safe across threads, so each is used by
    /// one renderer at a time: taken out of the pool under the lock, used outside it (several
    /// renderers format at once instead of queueing on the lock), and put back.
    private static let formatters = Mutex<[String: [DateFormatter]]>([:])

    /// Replaces the no-break spaces ICU puts in times and amounts with plain spaces.
    static func plainSpaces(_ text: String) -> String {
        // U+00A0 is C2 A0 in UTF-8; U+202F, U+2009 and U+2007 start with E2 80. A text with
        // neither (ASCII, or accents only: "miércoles") is returned as it is.
        var utf8 = text.utf8.makeIterator()
        var previous: UInt8 = 0
        var found = false
        while let byte = utf8.next() {
            if (previous == 0xC2 && byte == 0xA0) || (previous == 0xE2 && byte == 0x80) { found = true; break }
            previous = byte
        }
        guard found else { return text }
        var out = ""
        out.unicodeScalars.append(contentsOf: text.unicodeScalars.map { s in
            switch s.value {
            case 0x00A0, 0x202F, 0x2009, 0x2007: return " "
            default: return s
            }
        })
        return out
    }

    /// Weekday, day and month: "martes 10 de mayo", "mardi 10 mai", "Tuesday, May 10".
    public func date(_ d: Date) -> String {
        language == "es" ? format(d, .spanishDate) : format(d, .date)
    }

    /// With the year: "martes 10 de mayo de 2026", "mardi 10 mai 2026", "Tuesday, May 10, 2026".
    public func dateLong(_ d: Date) -> String {
        language == "es" ? format(d, .spanishDateLong) : format(d, .dateLong)
    }

    /// Numeric: "10/05/2026", "05/10/2026" (en-US), "2026-05-10" (fr-CA).
    public func dateShort(_ d: Date) -> String { format(d, .dateShort) }

    /// The clock time in the locale's convention: "13:00", "1:00 PM", "1:00 p.m." (es-MX).
    public func time(_ d: Date) -> String { format(d, .time) }

    /// "martes 10 de mayo a las 13:00", "mardi 10 mai à 13:00", "Tuesday, May 10 at 1:00 PM".
    public func dateTime(_ d: Date) -> String { join(date(d), time(d)) }

    /// "martes 10 de mayo de 2026 a las 13:00".
    public func dateTimeLong(_ d: Date) -> String { join(dateLong(d), time(d)) }

    /// "10/05/2026 13:00".
    public func dateTimeShort(_ d: Date) -> String { dateShort(d) + " " + time(d) }

    /// "martes", "mardi", "Tuesday".
    public func weekday(_ d: Date) -> String { format(d, .weekday) }

    /// The month's name as used alone: "mayo", "mai", "May".
    public func month(_ d: Date) -> String { format(d, .month) }

    /// Day of the month: "10".
    public func day(_ d: Date) -> String { format(d, .day) }

    /// Year: "2026".
    public func year(_ d: Date) -> String { format(d, .year) }

    private func join(_ date: String, _ time: String) -> String {
        switch language {
        case "es": return date + (time.hasPrefix("1:") ? " a la " : " a las ") + time
        case "fr": return date + " à " + time
        case "en": return date + " at " + time
        case "pt": return date + (time.hasPrefix("1:") ? " à " : " às ") + time
        case "it": return date + " alle " + time
        case "de": return date + " um " + time
        default: return date + ", " + time
        }
    }

    /// "en 2 horas", "dans 2 heures", "in 2 hours"; "hace 3 días", "il y a 3 jours", "3 days ago";
    /// "mañana", "demain", "tomorrow" when the moment is on the next local day and 20 hours or more away.
    ///
    /// Minutes below an hour, hours below 20 hours, calendar days beyond. Languages
    /// other than Spanish, French and English get the English phrase.
    public func relative(_ d: Date, now: Date) -> String {
        let seconds = d.timeIntervalSince(now)
        let words = RelativeWords.for(language)
        let magnitude = abs(seconds)
        if magnitude < 60 { return words.now }
        let count: Int
        let unit: RelativeWords.Unit
        if magnitude < 3_570 {
            count = max(1, Int(clampingRounded: magnitude / 60))
            unit = .minute
        } else if magnitude < 20 * 3_600 {
            count = max(1, Int(clampingRounded: magnitude / 3_600))
            unit = .hour
        } else {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            let days = calendar.dateComponents([.day], from: calendar.startOfDay(for: now), to: calendar.startOfDay(for: d)).day ?? 0
            if days == 1 { return words.tomorrow }
            if days == -1 { return words.yesterday }
            count = max(1, abs(days))
            unit = .day
        }
        let noun = words.noun(unit, plural: count != 1)
        return seconds > 0 ? words.future(count, noun) : words.past(count, noun)
    }

    /// An amount in a currency: "1234,50 €" (es), "1 234,50 €" (fr), "€1,234.50" (en).
    /// Nil when `currency` is not a three-letter ISO 4217 code.
    public func money(_ amount: Decimal, currency: String) -> String? {
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        let f = NumberFormatter()
        f.locale = locale
        f.numberStyle = .currency
        f.currencyCode = currency.uppercased()
        guard let text = f.string(from: amount as NSDecimalNumber) else { return nil }
        return Self.plainSpaces(text)
    }
}

/// The words of relative phrases in the languages Herald ships templates for.
struct RelativeWords: Sendable {
    enum Unit { case minute, hour, day }
    let now: String
    let tomorrow: String
    let yesterday: String
    let nouns: [Unit: (String, String)]
    let future: @Sendable (Int, String) -> String
    let past: @Sendable (Int, String) -> String

    func noun(_ unit: Unit, plural: Bool) -> String {
        guard let pair = nouns[unit] else { return "" }
        return plural ? pair.1 : pair.0
    }

    static func `for`(_ language: String) -> RelativeWords {
        switch language {
        case "es":
            return RelativeWords(now: "ahora", tomorrow: "mañana", yesterday: "ayer",
                                 nouns: [.minute: ("minuto", "minutos"), .hour: ("hora", "horas"), .day: ("día", "días")],
                                 future: { "en \($0) \($1)" }, past: { "hace \($0) \($1)" })
        case "fr":
            return RelativeWords(now: "maintenant", tomorrow: "demain", yesterday: "hier",
                                 nouns: [.minute: ("minute", "minutes"), .hour: ("heure", "heures"), .day: ("jour", "jours")],
                                 future: { "dans \($0) \($1)" }, past: { "il y a \($0) \($1)" })
        default:
            return RelativeWords(now: "now", tomorrow: "tomorrow", yesterday: "yesterday",
                                 nouns: [.minute: ("minute", "minutes"), .hour: ("hour", "hours"), .day: ("day", "days")],
                                 future: { "in \($0) \($1)" }, past: { "\($0) \($1) ago" })
        }
    }
}
