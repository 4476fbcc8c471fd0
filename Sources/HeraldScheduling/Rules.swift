import Foundation
import HeraldCore

/// A daily window of wall-clock time, `[start, end)`; crosses midnight when start > end
/// (`21:00-08:00`). Used for quiet hours.
public struct TimeWindow: Sendable, Equatable, CustomStringConvertible {
    public let start: LocalTime
    public let end: LocalTime

    /// A window; nil when start == end (an empty or whole-day window is ambiguous: say `off`).
    public init?(start: LocalTime, end: LocalTime) {
        guard start != end, !(start.minutes == 0 && end.minutes == 1440), !(start.minutes == 1440) else { return nil }
        self.start = start
        self.end = end
    }

    /// Parses `HH:MM-HH:MM`; `off` or empty means no window (returns nil).
    public static func parse(_ text: String) throws(SchedulingError) -> TimeWindow? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.isEmpty || trimmed == "off" || trimmed == "none" { return nil }
        let parts = trimmed.split(separator: "-")
        guard parts.count == 2, let s = LocalTime(String(parts[0])), let e = LocalTime(String(parts[1])) else {
            throw .invalidWindow(text, "expected HH:MM-HH:MM (e.g. 21:00-08:00) or off")
        }
        guard let window = TimeWindow(start: s, end: e) else {
            throw .invalidWindow(text, "start and end must differ")
        }
        return window
    }

    /// True when a second of the day lies inside the window.
    public func contains(secondOfDay s: Int) -> Bool {
        let a = start.minutes * 60, b = end.minutes * 60
        return a < b ? (s >= a && s < b) : (s >= a || s < b)
    }

    public var description: String { "\(start)-\(end)" }
}

/// One opening interval of a location's week, `[opens, closes)` in its own zone.
public struct OpeningInterval: Sendable, Equatable {
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    public let weekday: Int
    public let opens: LocalTime
    public let closes: LocalTime

    public init(weekday: Int, opens: LocalTime, closes: LocalTime) throws(SchedulingError) {
        guard (1...7).contains(weekday) else { throw .invalidOpening("weekday \(weekday) is not 1 (Monday) to 7 (Sunday)") }
        guard opens < closes else { throw .invalidOpening("opens \(opens) is not before closes \(closes) on weekday \(weekday)") }
        self.weekday = weekday
        self.opens = opens
        self.closes = closes
    }
}

/// A place of business: its zone, its week, its closed dates, its own quiet hours.
public struct Location: Sendable, Equatable {
    public var id: String
    public var name: String
    public var timeZone: String
    /// Square's "locked to the location's time zone": show times and apply quiet hours
    /// in the location's zone whatever the client's.
    public var lockTimeZone: Bool
    /// Per-channel quiet hours overriding the global ones (`nil` value: none for that channel).
    public var quietHours: [Channel: TimeWindow?]
    public var openings: [OpeningInterval]
    public var closedDates: Set<LocalDate>

    public init(id: String, name: String, timeZone: String, lockTimeZone: Bool = false, quietHours: [Channel: TimeWindow?] = [:],
                openings: [OpeningInterval] = [], closedDates: Set<LocalDate> = []) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.lockTimeZone = lockTimeZone
        self.quietHours = quietHours
        self.openings = openings
        self.closedDates = closedDates
    }
}

/// The configured defaults.
public struct SchedulingPolicy: Sendable, Equatable {
    /// Zone used when neither the message nor its location has one.
    public var defaultTimeZone: String
    /// Quiet hours per channel; a channel absent here has none.
    public var quietHours: [Channel: TimeWindow]
    /// A message with `event_at` is not sent closer than this to the event.
    public var minimumLead: Duration

    public init(defaultTimeZone: String = "UTC",
                quietHours: [Channel: TimeWindow] = SchedulingPolicy.defaultQuietHours,
                minimumLead: Duration = .seconds(1800)) {
        self.defaultTimeZone = defaultTimeZone
        self.quietHours = quietHours
        self.minimumLead = minimumLead
    }

    /// SMS 21:00–08:00; email and webhook none.
    public static let defaultQuietHours: [Channel: TimeWindow] = [
        .sms: TimeWindow(start: LocalTime(minutes: 21 * 60)!, end: LocalTime(minutes: 8 * 60)!)!,
        .whatsapp: TimeWindow(start: LocalTime(minutes: 21 * 60)!, end: LocalTime(minutes: 8 * 60)!)!,
    ]
}

/// What the rules need to know about one message: its channel and zone, and the
/// message's own ``OutboxMessage/Schedule`` (the one schedule type, shared with the outbox row).
public struct ScheduleInput: Sendable, Equatable {
    public var channel: Channel
    public var timeZone: String?
    public var schedule: OutboxMessage.Schedule

    public init(channel: Channel, timeZone: String?, schedule: OutboxMessage.Schedule) {
        self.channel = channel
        self.timeZone = timeZone
        self.schedule = schedule
    }

    public init(channel: Channel, sendAt: Date, postpone: Duration = .zero, eventAt: Date? = nil, expiresAt: Date? = nil,
                timeZone: String? = nil, locationID: String? = nil, businessHoursOnly: Bool = false, urgent: Bool = false,
                minimumLead: Duration? = nil) {
        self.init(channel: channel, timeZone: timeZone, schedule: OutboxMessage.Schedule(
            sendAt: sendAt, postpone: postpone, eventAt: eventAt, expiresAt: expiresAt, businessHoursOnly: businessHoursOnly,
            locationID: locationID, urgent: urgent, minimumLead: minimumLead))
    }

    public var sendAt: Date { get { schedule.sendAt } set { schedule.sendAt = newValue } }
    public var postpone: Duration { get { schedule.postpone } set { schedule.postpone = newValue } }
    public var eventAt: Date? { get { schedule.eventAt } set { schedule.eventAt = newValue } }
    public var expiresAt: Date? { get { schedule.expiresAt } set { schedule.expiresAt = newValue } }
    public var locationID: String? { get { schedule.locationID } set { schedule.locationID = newValue } }
    public var businessHoursOnly: Bool { get { schedule.businessHoursOnly } set { schedule.businessHoursOnly = newValue } }
    /// Urgent transactional messages ("your appointment was cancelled") ignore quiet hours.
    public var urgent: Bool { get { schedule.urgent } set { schedule.urgent = newValue } }
    /// Per-message override of the minimum lead before `eventAt`.
    public var minimumLead: Duration? { get { schedule.minimumLead } set { schedule.minimumLead = newValue } }
}

/// What the rules decide for a message at an instant.
public enum Decision: Sendable, Equatable {
    /// Send now.
    case send
    /// Not yet: wait until the instant, for these reasons. Not an attempt.
    case deferred(until: Date, reasons: [String])
    /// Never: it would be sent too late.
    case expired(reason: String)

    public var name: String {
        switch self {
        case .send: return "send"
        case .deferred: return "defer"
        case .expired: return "expire"
        }
    }
}

/// A decision with the context an operator needs to understand it.
public struct Explanation: Sendable, Equatable {
    public var decision: Decision
    /// The zone used for quiet hours and rendering.
    public var timeZone: String
    /// `send_at + postpone`.
    public var earliest: Date
    /// A one-line human summary (`herald explain`).
    public var summary: String {
        guard let sendNowAt else { return written }
        return "send now (\(Zone(timeZone)?.describe(sendNowAt) ?? String(sendNowAt)))"
    }
    /// The summary of a decision other than "send now".
    var written: String
    /// For "send now": the instant (seconds), shown only when the summary is asked for; the
    /// worker decides this for every message and never reads it.
    var sendNowAt: Int64?
}

/// Bad scheduling input: the message fails with this reason (never a silent send).
public enum SchedulingError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownTimeZone(String, source: String)
    case unknownLocation(String)
    case noLocation
    case noOpeningHours(String)
    case invalidWindow(String, String)
    case invalidOpening(String)
    case unsatisfiable(String)
    /// A timestamp or interval of the row no schedule can use (`infinity`, year 200000).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .unknownTimeZone(let zone, let source): return "unknown time zone \"\(zone)\" (\(source)); expected an IANA name such as Europe/Madrid"
        case .unknownLocation(let id): return "unknown location \"\(id)\" (no row in herald.location)"
        case .noLocation: return "business_hours_only is set but the message has no location_id"
        case .noOpeningHours(let id): return "location \(id) has no opening hours in the next 400 days (herald.location_hours, herald.location_closed)"
        case .invalidWindow(let text, let why): return "invalid time window \"\(text)\": \(why)"
        case .invalidOpening(let why): return "invalid opening hours: \(why)"
        case .unsatisfiable(let why): return why
        case .invalidInput(let why): return why
        }
    }
}

/// The scheduling rules, as pure functions of a message, the configuration and an instant.
///
/// In order: the appointment must not have started and `expires_at` not passed;
/// the earliest time is `send_at + postpone`; quiet hours of the channel (in the
/// client's zone, or the location's when it is locked) move it to the end of the
/// window; with `business_hours_only` it moves to the location's next opening;
/// both repeat until neither moves it. Then the cutoff: past `expires_at`, or
/// closer to `event_at` than the minimum lead, the message expires.
public struct Scheduler: Sendable {
    public let policy: SchedulingPolicy
    public let locations: [String: Location]

    public init(policy: SchedulingPolicy, locations: [String: Location] = [:]) {
        self.policy = policy
        self.locations = locations
    }

    public func decide(_ input: ScheduleInput, at now: Date) throws(SchedulingError) -> Decision {
        try explain(input, at: now).decision
    }

    public func explain(_ input: ScheduleInput, at now: Date) throws(SchedulingError) -> Explanation {
        // Resolve the location and the zone.
        var location: Location?
        if let id = input.locationID {
            guard let found = locations[id] else { throw .unknownLocation(id) }
            location = found
        }
        if input.businessHoursOnly && location == nil { throw .noLocation }
        let zoneID: String
        let zoneSource: String
        if let location, location.lockTimeZone {
            (zoneID, zoneSource) = (location.timeZone, "time zone of location \(location.id)")
        } else if let own = input.timeZone, !own.isEmpty {
            (zoneID, zoneSource) = (own, "message time_zone")
        } else if let location {
            (zoneID, zoneSource) = (location.timeZone, "time zone of location \(location.id)")
        } else {
            (zoneID, zoneSource) = (policy.defaultTimeZone, "scheduling.default_time_zone")
        }
        guard let zone = Zone(zoneID) else { throw .unknownTimeZone(zoneID, source: zoneSource) }
        var locationZone: Zone?
        if let location {
            guard let z = Zone(location.timeZone) else {
                throw .unknownTimeZone(location.timeZone, source: "time zone of location \(location.id)")
            }
            locationZone = z
        }

        try Self.validate(input)
        guard let nowS = Int64(checkedFloor: now.timeIntervalSince1970),
              let earliestS = Int64(checkedFloor: input.sendAt.timeIntervalSince1970 + input.postpone.seconds) else {
            throw .invalidInput("send_at + postpone is not a time Herald can schedule")
        }
        let earliest = Date(timeIntervalSince1970: TimeInterval(earliestS))
        func result(_ decision: Decision, _ summary: String) -> Explanation {
            Explanation(decision: decision, timeZone: zoneID, earliest: earliest, written: summary)
        }
        func show(_ s: Int64) -> String { zone.describe(s) }

        // Too late already?
        if let event = input.eventAt, now >= event {
            let reason = "the appointment started at \(show(Int64(clampingFloor: event.timeIntervalSince1970))); a message about it is never sent late"
            return result(.expired(reason: reason), "expired: \(reason)")
        }
        if let expires = input.expiresAt, now > expires {
            let reason = "past expires_at \(show(Int64(clampingFloor: expires.timeIntervalSince1970)))"
            return result(.expired(reason: reason), "expired: \(reason)")
        }

        // Move forward until no constraint objects.
        var reasons: [String] = []
        if earliestS > nowS {
            reasons.append(input.postpone > .zero
                ? "send_at + postpone is \(show(earliestS))"
                : "send_at is \(show(earliestS))")
        }
        let quiet: TimeWindow? = input.urgent ? nil
            : (location?.quietHours[input.channel].map { $0 } ?? policy.quietHours[input.channel])
        var constraints: [any SendTimeConstraint] = []
        if let quiet { constraints.append(QuietHours(window: quiet, zone: zone, channel: input.channel)) }
        if input.businessHoursOnly, let location, let locationZone { constraints.append(OpeningHours(location: location, zone: locationZone)) }
        // The latest instant it may go out: past it the message expires (checked below), so
        // the search stops there; without a cutoff it gives up past the horizon.
        let expiresS = input.expiresAt.map { Int64(clampingFloor: $0.timeIntervalSince1970) }
        let lead = input.minimumLead ?? policy.minimumLead
        let eventS = input.eventAt.map { Int64(clampingFloor: $0.timeIntervalSince1970) }
        let leadS = Int64(clampingFloor: lead.seconds)
        let cutoff = [expiresS, eventS.map { $0 - leadS }].compactMap { $0 }.min()
        let start = max(nowS, earliestS)
        let t: Int64
        do {
            let settled = try Self.settle(start, constraints: constraints, cutoff: cutoff, horizon: start + Self.searchHorizonDays * 86_400)
            t = settled.time
            reasons += settled.reasons
        } catch .unsatisfiable {
            throw .unsatisfiable("no time in the next \(Self.searchHorizonDays) days is both outside the quiet hours "
                + "(\(quiet.map { "\($0)" } ?? "none") in \(zone.identifier)) and inside the opening hours of location \(input.locationID ?? "-")")
        }

        // Cutoffs on the time it would go out.
        let because = reasons.isEmpty ? "" : " (\(reasons.joined(separator: "; ")))"
        if let expiresS, t > expiresS {
            let reason = "would go out at \(show(t))\(because), past expires_at \(show(expiresS))"
            return result(.expired(reason: reason), "expired: \(reason)")
        }
        if let eventS {
            if eventS - t < leadS {
                let reason = "would go out at \(show(t))\(because), less than \(Self.format(lead)) before the appointment at \(show(eventS))"
                return result(.expired(reason: reason), "expired: \(reason)")
            }
        }
        if t <= nowS {
            var explanation = result(.send, "")
            explanation.sendNowAt = nowS
            return explanation
        }
        let until = Date(timeIntervalSince1970: TimeInterval(t))
        return result(.deferred(until: until, reasons: reasons), "deferred until \(show(t)): \(reasons.joined(separator: "; "))")
    }

    /// How far ahead the search for an instant outside quiet hours and inside opening hours looks.
    public static let searchHorizonDays: Int64 = 400

    /// Rejects timestamps and intervals no schedule can use, naming the column.
    static func validate(_ input: ScheduleInput) throws(SchedulingError) {
        let dates: [(String, Date?)] = [("send_at", input.sendAt), ("event_at", input.eventAt), ("expires_at", input.expiresAt)]
        for case let (column, date?) in dates where !date.isSchedulable {
            let t = date.timeIntervalSince1970
            let shown = t.isNaN ? "not a time" : t == .infinity ? "infinity" : t == -.infinity ? "-infinity" : "outside the years 1 to 9999"
            throw .invalidInput("\(column) is \(shown); Herald schedules only real times (years 1 to 9999)")
        }
        let durations: [(String, Duration?)] = [("postpone", input.postpone), ("min_lead", input.minimumLead)]
        for case let (column, d?) in durations where d > .heraldMaximum || d < .zero - .heraldMaximum {
            throw .invalidInput("\(column) is longer than \(DurationText.format(.heraldMaximum)); Herald schedules at most that far")
        }
    }

    static func format(_ d: Duration) -> String {
        let s = Int64(clampingFloor: d.seconds)
        if s % 3600 == 0 { return "\(s / 3600)h" }
        if s % 60 == 0 { return "\(s / 60) min" }
        return "\(s)s"
    }
}
