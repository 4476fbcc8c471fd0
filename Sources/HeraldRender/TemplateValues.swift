import Foundation
import HeraldCore
import HeraldScheduling
import Mustache

/// What a template sees: the message's data, with timestamps and amounts turned
/// into values that format themselves in the message's locale and time zone.
///
/// - A string holding an ISO 8601 date-time (`2026-05-10T11:00:00Z`, with an
///   offset, or without one = local time in the message's zone) or a date
///   (`2026-05-10`) becomes a ``TimestampValue``: `{{event_at}}` prints the date and
///   time; `{{event_at.date}}`, `.time`, `.relative` ... pick a form.
/// - An object with exactly `amount` and `currency` becomes a ``MoneyValue``:
///   `{{total}}` prints "49,90 €".
/// - `null` is absent.
///
/// Every lookup is recorded in a ``LookupTrace`` so that the renderer can tell a
/// missing variable from Mustache's search of outer contexts.
struct ObjectNode: MustacheParent, MustacheCustomRenderable {
    let values: [String: Any]
    /// `client.` for the object under `client`; empty for the root.
    let path: String
    let trace: LookupTrace

    /// An object printed as `{{order.total}}` prints nothing and fails the message (it
    /// would otherwise print Swift's description of this type into a client's message).
    var renderText: String {
        trace.printedNonText(path)
        return ""
    }
    var isNull: Bool { false }

    func child(named name: String) -> Any? {
        guard !trace.exhausted else { return nil }  // past the work budget: render nothing more
        let value = values[name]
        trace.record(path: path, name: name, found: value != nil)
        return value
    }
}

/// The lookups made while rendering, in order, and the work done: one unit per lookup,
/// per list item visited and per 16 bytes of text printed. Past ``budget`` units rendering stops producing output
/// (lookups find nothing, lists end) and the renderer fails the message: a template whose
/// sections nest over the same list (`{{#items}}…{{#items}}…`) with thousands of items
/// would otherwise render for minutes into hundreds of megabytes.
final class LookupTrace: @unchecked Sendable {
    struct Lookup {
        let path: String
        let name: String
        let found: Bool
    }
    private(set) var lookups: [Lookup] = []
    /// Objects and lists printed as text (`{{order.total}}` when it is not an amount), by name.
    private(set) var nonText: [String] = []
    /// Lookups and list items visited while rendering the current part.
    private(set) var work = 0
    /// Most work one part may take (a reminder takes well under a thousand).
    static let budget = 200_000

    var exhausted: Bool { work > Self.budget }

    func reset() {
        lookups.removeAll(keepingCapacity: true)
        nonText.removeAll()
        work = 0
    }

    func record(path: String, name: String, found: Bool) {
        work += 1
        if work <= Self.budget { lookups.append(Lookup(path: path, name: name, found: found)) }
    }

    func printedNonText(_ path: String) {
        let name = path.hasSuffix(".") ? String(path.dropLast()) : (path.isEmpty ? "." : path)
        if !nonText.contains(name) { nonText.append(name) }
    }

    /// Counts printed text: one unit per 16 bytes, so that the budget also bounds what a
    /// part prints (about 3 MB), whatever the template repeats and the data holds.
    func printed(bytes: Int) {
        work += bytes / 16
    }

    /// Counts one list item; false once the budget is spent.
    func visit() -> Bool {
        work += 1
        return work <= Self.budget
    }

    /// Dotted names the template used and the data lacks, in order of use.
    ///
    /// Mustache resolves `{{a.b}}` by searching the context stack (innermost
    /// section first, the root last) for `a`, then `b` inside what it found. So a
    /// failed lookup is a real miss when it failed at the root, or when it failed
    /// inside an object and the search did not go on to an outer context with the
    /// same name (the next lookup is not the same name).
    func missing() -> [String] {
        var out: [String] = []
        for (i, lookup) in lookups.enumerated() where !lookup.found {
            if lookup.name == "." { continue }
            if i + 1 < lookups.count, lookups[i + 1].name == lookup.name, lookups[i + 1].path.count < lookup.path.count {
                continue  // the stack search goes on outwards
            }
            let name = lookup.path + lookup.name
            if !out.contains(name) { out.append(name) }
        }
        return out
    }
}

/// A moment, formatted on demand in the message's locale and zone.
struct TimestampValue: MustacheParent, MustacheCustomRenderable, CustomStringConvertible {
    let date: Date
    /// False for a bare date (`2026-05-10`): it prints without a time.
    let hasTime: Bool
    let formatter: LocaleFormatter
    let now: Date
    let path: String
    let trace: LookupTrace

    func child(named name: String) -> Any? {
        let value: String?
        switch name {
        case "date": value = formatter.date(date)
        case "date_long": value = formatter.dateLong(date)
        case "date_short": value = formatter.dateShort(date)
        case "time": value = formatter.time(date)
        case "datetime": value = formatter.dateTime(date)
        case "datetime_long": value = formatter.dateTimeLong(date)
        case "datetime_short": value = formatter.dateTimeShort(date)
        case "weekday": value = formatter.weekday(date)
        case "day": value = formatter.day(date)
        case "month": value = formatter.month(date)
        case "year": value = formatter.year(date)
        case "relative": value = formatter.relative(date, now: now)
        case "iso": value = ISO8601.string(date)
        default: value = nil
        }
        trace.record(path: path, name: name, found: value != nil)
        return value
    }

    var renderText: String { hasTime ? formatter.dateTime(date) : formatter.date(date) }
    var isNull: Bool { false }
    var description: String { renderText }
}

/// An amount of money, printed in the locale's currency format.
struct MoneyValue: MustacheParent, MustacheCustomRenderable, CustomStringConvertible {
    let amount: Decimal
    let currency: String
    let text: String
    let path: String
    let trace: LookupTrace

    func child(named name: String) -> Any? {
        let value: Any?
        switch name {
        case "amount": value = "\(amount)"
        case "currency": value = currency
        case "formatted": value = text
        default: value = nil
        }
        trace.record(path: path, name: name, found: value != nil)
        return value
    }

    var renderText: String { text }
    var isNull: Bool { false }
    var description: String { text }
}

/// A string, number or boolean. It prints as itself, works with swift-mustache's
/// transforms (`{{capitalized(name)}}`), and records any dotted lookup into it
/// (`{{service.name}}` when `service` is a string) so that it is reported missing
/// instead of rendering as an empty hole. `false` and `""` are false in sections.
struct ScalarValue: MustacheParent, MustacheCustomRenderable, MustacheTransformable, CustomStringConvertible {
    enum Kind { case string(String), integer(Int64), number(Double), bool(Bool) }
    let kind: Kind
    let path: String
    let trace: LookupTrace

    func child(named name: String) -> Any? {
        trace.record(path: path, name: name, found: false)
        return nil
    }

    var renderText: String {
        switch kind {
        case .string(let s):
            trace.printed(bytes: s.utf8.count)
            return s
        case .integer(let i): return String(i)
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        }
    }

    var isNull: Bool {
        switch kind {
        case .string(let s): return s.isEmpty
        case .bool(let b): return !b
        case .integer, .number: return false
        }
    }

    func transform(_ name: String) -> Any? {
        switch kind {
        case .string(let s): return s.transform(name)
        case .integer(let i): return Int(exactly: i)?.transform(name)
        case .number, .bool: return nil
        }
    }

    var description: String { renderText }
}

/// Text computed only if a template prints it (`herald.data_json`).
struct LazyText: MustacheParent, MustacheCustomRenderable, CustomStringConvertible {
    let path: String
    let trace: LookupTrace
    let make: @Sendable () -> String

    init(path: String, trace: LookupTrace, _ make: @escaping @Sendable () -> String) {
        self.path = path
        self.trace = trace
        self.make = make
    }

    func child(named name: String) -> Any? {
        trace.record(path: path, name: name, found: false)
        return nil
    }

    var renderText: String { make() }
    var isNull: Bool { false }
    var description: String { make() }
}

/// `2026-05-10T11:00:00Z`, without building an `ISO8601DateFormatter` per message.
public enum ISO8601 {
    public static func string(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\((Int(parts.tm_year) + 1900).zeroPadded(4))-\((parts.tm_mon + 1).zeroPadded(2))-\(parts.tm_mday.zeroPadded(2))"
            + "T\(parts.tm_hour.zeroPadded(2)):\(parts.tm_min.zeroPadded(2)):\(parts.tm_sec.zeroPadded(2))Z"
    }
}

/// Turns decoded JSON into template values.
struct ValueBuilder {
    let formatter: LocaleFormatter
    let zone: Zone?
    let now: Date
    let trace: LookupTrace

    func object(_ object: [String: JSONValue], path: String) -> Any {
        if object.count == 2, let currency = object["currency"], case .string(let code) = currency,
           let amount = object["amount"].flatMap(Self.decimal),
           let text = formatter.money(amount, currency: code) {
            return MoneyValue(amount: amount, currency: code.uppercased(), text: text, path: path, trace: trace)
        }
        return node(object, path: path)
    }

    /// A plain object node, never a money value (the root of the data).
    func node(_ object: [String: JSONValue], path: String) -> ObjectNode {
        var values: [String: Any] = [:]
        for (key, value) in object {
            if let v = build(value, path: path + key + ".") { values[key] = v }
        }
        return ObjectNode(values: values, path: path, trace: trace)
    }

    func build(_ value: JSONValue, path: String) -> Any? {
        switch value {
        case .object(let o): return object(o, path: path)
        case .array(let a): return BudgetedList(items: a.compactMap { build($0, path: path) }, path: path, trace: trace)
        case .string(let s):
            if let (date, hasTime) = timestamp(s) {
                return TimestampValue(date: date, hasTime: hasTime, formatter: formatter, now: now, path: path, trace: trace)
            }
            return ScalarValue(kind: .string(s), path: path, trace: trace)
        case .integer(let i): return ScalarValue(kind: .integer(i), path: path, trace: trace)
        case .number(let d): return ScalarValue(kind: .number(d), path: path, trace: trace)
        case .bool(let b): return ScalarValue(kind: .bool(b), path: path, trace: trace)
        case .null: return nil
        }
    }

    static func decimal(_ value: JSONValue) -> Decimal? {
        switch value {
        case .integer(let i): return Decimal(i)
        case .number(let d): return Decimal(string: String(d))
        case .string(let s): return Decimal(string: s, locale: Locale(identifier: "en_US_POSIX"))
        default: return nil
        }
    }

    /// `2026-05-10`, `2026-05-10T13:00`, `2026-05-10 13:00:00`, with optional seconds,
    /// fraction, and `Z` or `±hh:mm` / `±hhmm` offset. Without an offset the time is
    /// local to the message's zone.
    func timestamp(_ text: String) -> (Date, Bool)? {
        // Most strings are not dates: rejected before any copy.
        guard (10...40).contains(text.utf8.count), text.utf8.first.map({ $0 >= 48 && $0 <= 57 }) == true else { return nil }
        let scalars = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= scalars.count else { return nil }
            var n = 0
            for b in scalars[from..<from + count] {
                guard b >= 48 && b <= 57 else { return nil }
                n = n * 10 + Int(b - 48)
            }
            return n
        }
        guard let year = digits(0, 4), scalars[4] == 45, let month = digits(5, 2), scalars[7] == 45, let day = digits(8, 2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        let date = LocalDate(year: year, month: month, day: day)
        guard LocalDate(daysSinceEpoch: date.daysSinceEpoch) == date else { return nil }  // 2026-02-30
        if scalars.count == 10 {
            guard let zone, let midnight = LocalTime(minutes: 0), let instant = zone.instants(date, midnight).first else { return nil }
            return (Date(timeIntervalSince1970: TimeInterval(instant)), false)
        }
        guard scalars[10] == 84 || scalars[10] == 32, let hour = digits(11, 2), scalars.count > 13, scalars[13] == 58,
              let minute = digits(14, 2), hour < 24, minute < 60 else { return nil }
        var i = 16
        var second = 0.0
        if i < scalars.count, scalars[i] == 58 {
            guard let s = digits(i + 1, 2), s < 61 else { return nil }
            second = Double(s)
            i += 3
            if i < scalars.count, scalars[i] == 46 || scalars[i] == 44 {
                var j = i + 1
                var fraction = "0."
                while j < scalars.count, scalars[j] >= 48 && scalars[j] <= 57 { fraction.append(Character(UnicodeScalar(scalars[j]))); j += 1 }
                guard j > i + 1 else { return nil }
                second += Double(fraction) ?? 0
                i = j
            }
        }
        let localSeconds = Double(date.daysSinceEpoch) * 86_400 + Double(hour * 3600 + minute * 60) + second
        if i == scalars.count {
            guard let zone, let local = LocalTime(minutes: hour * 60 + minute),
                  let instant = zone.instants(date, local).first else { return nil }
            return (Date(timeIntervalSince1970: TimeInterval(instant) + second), true)
        }
        if scalars[i] == 90 || scalars[i] == 122, i + 1 == scalars.count {
            return (Date(timeIntervalSince1970: localSeconds), true)
        }
        guard scalars[i] == 43 || scalars[i] == 45, let oh = digits(i + 1, 2), oh < 24 else { return nil }
        var j = i + 3
        var om = 0
        if j < scalars.count {  // ±hh alone (PostgreSQL's to_char OF), or ±hh:mm / ±hhmm
            if scalars[j] == 58 { j += 1 }
            guard let m = digits(j, 2), j + 2 == scalars.count, m < 60 else { return nil }
            om = m
        }
        let offset = Double(oh * 3600 + om * 60) * (scalars[i] == 45 ? -1 : 1)
        return (Date(timeIntervalSince1970: localSeconds - offset), true)
    }
}

/// A list in the data: iterating it counts each item against the render budget, and it
/// ends early once the budget is spent. Keeps swift-mustache's list transforms.
struct BudgetedList: MustacheSequence, MustacheTransformable, MustacheCustomRenderable {
    let items: [Any]
    /// `items.` for the list under `items`.
    let path: String
    let trace: LookupTrace

    /// A list printed as text fails the message, as an object does (``ObjectNode``).
    var renderText: String {
        trace.printedNonText(path)
        return ""
    }
    var isNull: Bool { false }

    struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[Any]>
        let trace: LookupTrace
        mutating func next() -> Any? {
            guard trace.visit() else { return nil }
            return base.next()
        }
    }

    func makeIterator() -> Iterator { Iterator(base: items.makeIterator(), trace: trace) }

    func transform(_ name: String) -> Any? {
        switch name {
        case "reversed": return BudgetedList(items: items.reversed(), path: path, trace: trace)
        default: return items.transform(name)
        }
    }
}
