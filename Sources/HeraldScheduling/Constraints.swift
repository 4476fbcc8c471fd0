import HeraldCore

/// One rule that may move a send time later. The scheduler applies its constraints in turn
/// until none moves the time (``Scheduler/settle(_:constraints:cutoff:horizon:)``): a quiet
/// window can push a message past closing time, and the next opening into another quiet
/// window.
public protocol SendTimeConstraint: Sendable {
    /// The earliest instant (seconds since 1970) at or after `t` this constraint allows:
    /// `t` itself when it has nothing against it.
    func earliest(from t: Int64) throws(SchedulingError) -> Int64
    /// Why it moved a time, for `herald explain`.
    var reason: String { get }
}

/// Quiet hours: inside the window, the time moves to the window's end (in `zone`, so the
/// window follows daylight-saving changes).
public struct QuietHours: SendTimeConstraint {
    public let window: TimeWindow
    public let zone: Zone
    public let channel: Channel

    public init(window: TimeWindow, zone: Zone, channel: Channel) {
        self.window = window
        self.zone = zone
        self.channel = channel
    }

    public func earliest(from t: Int64) throws(SchedulingError) -> Int64 {
        Self.endOfWindow(window, containing: t, in: zone) ?? t
    }

    public var reason: String { "quiet hours \(window) for \(channel.rawValue) in \(zone.identifier)" }

    /// The end of the window containing instant `t`, or nil when `t` is outside it.
    static func endOfWindow(_ window: TimeWindow, containing t: Int64, in zone: Zone) -> Int64? {
        let (date, second) = zone.local(t)
        guard window.contains(secondOfDay: second) else { return nil }
        // The window ends today when we are before its end, else tomorrow (crossing midnight).
        let endDate = second < window.end.minutes * 60 ? date : date.adding(days: 1)
        for day in [endDate, endDate.adding(days: 1)] {
            if let end = zone.instants(day, window.end).first(where: { $0 > t }) { return end }
        }
        return nil
    }
}

/// `business_hours_only`: outside the location's opening hours (closed dates included), the
/// time moves to its next opening, in the location's zone.
public struct OpeningHours: SendTimeConstraint {
    public let location: Location
    public let zone: Zone

    public init(location: Location, zone: Zone) {
        self.location = location
        self.zone = zone
    }

    public func earliest(from t: Int64) throws(SchedulingError) -> Int64 {
        guard let open = Self.nextOpening(location, zone: zone, from: t) else { throw .noOpeningHours(location.id) }
        return open
    }

    public var reason: String { "outside the opening hours of \(location.name) (\(location.timeZone))" }

    /// `t` when the location is open then, else the next opening; nil when none within 400 days.
    static func nextOpening(_ location: Location, zone: Zone, from t: Int64) -> Int64? {
        let (today, _) = zone.local(t)
        let byDay = Dictionary(grouping: location.openings, by: \.weekday).mapValues { $0.sorted { $0.opens < $1.opens } }
        for offset in -1...400 {
            let date = today.adding(days: offset)
            if location.closedDates.contains(date) { continue }
            for interval in byDay[date.weekday] ?? [] {
                guard let opens = zone.instants(date, interval.opens).first,
                      let closes = zone.instants(date, interval.closes).last else { continue }
                if t >= opens && t < closes { return t }
                if opens > t { return opens }
            }
        }
        return nil
    }
}

extension Scheduler {
    /// Applies `constraints` in turn until none moves `t`; returns the time and why it moved
    /// (each reason once). Stops past `cutoff` (the message will expire: no need to look
    /// further) and fails past `horizon` (no instant satisfies them all).
    public static func settle(_ t: Int64, constraints: [any SendTimeConstraint], cutoff: Int64?,
                              horizon: Int64) throws(SchedulingError) -> (time: Int64, reasons: [String]) {
        var t = t
        var reasons: [String] = []
        while true {
            if let cutoff, t > cutoff { break }
            guard t <= horizon else { throw .unsatisfiable("") }
            var moved = false
            for constraint in constraints {
                let next = try constraint.earliest(from: t)
                if next > t {
                    t = next
                    if !reasons.contains(constraint.reason) { reasons.append(constraint.reason) }
                    moved = true
                }
            }
            if !moved { break }
        }
        return (t, reasons)
    }
}
