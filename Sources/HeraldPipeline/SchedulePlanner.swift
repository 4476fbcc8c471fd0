import Foundation
import HeraldCore
import HeraldRows
import HeraldRender
import HeraldScheduling

/// The scheduling rules applied to outbox rows: what the worker consults for every
/// claimed message, and exactly what `herald explain` runs.
///
/// Locations are validated once when loaded; a location with a bad row (an
/// unparsable quiet-hours window, an inverted opening interval) makes the
/// messages that use it fail with that reason, never send silently.
public struct SchedulePlanner: Sendable {
    public let scheduler: Scheduler
    /// Location id → why it cannot be used.
    public let invalidLocations: [String: String]
    /// Location id → what templates may print about it.
    public let locationDetails: [String: LocationDetails]

    public init(policy: SchedulingPolicy, records: [LocationRecord]) {
        var locations: [String: Location] = [:]
        var invalid: [String: String] = [:]
        for record in records {
            do {
                locations[record.id] = try Self.location(from: record)
            } catch {
                invalid[record.id] = "location \(record.id): \(error)"
            }
        }
        self.scheduler = Scheduler(policy: policy, locations: locations)
        self.invalidLocations = invalid
        self.locationDetails = Dictionary(uniqueKeysWithValues: records.map {
            ($0.id, LocationDetails(id: $0.id, name: $0.name, address: $0.address, phone: $0.phone, website: $0.website))
        })
    }

    /// What rendering `message` needs: the zone the rules resolved, the moment, its location.
    /// The worker and `herald templates preview` both build it here.
    public func renderContext(for message: OutboxMessage, timeZone: String, now: Date, smsMaxSegments: Int?) -> RenderContext {
        RenderContext(timeZone: timeZone, now: now, location: message.schedule.locationID.flatMap { locationDetails[$0] },
                      smsMaxSegments: smsMaxSegments)
    }

    /// What the rules decide for `message` at `now`.
    public func evaluate(_ message: OutboxMessage, channel: Channel, at now: Date) -> Result<Explanation, SchedulingError> {
        if let id = message.schedule.locationID, let reason = invalidLocations[id] { return .failure(.unsatisfiable(reason)) }
        let input = ScheduleInput(channel: channel, timeZone: message.timeZone, schedule: message.schedule)
        do {
            return .success(try scheduler.explain(input, at: now))
        } catch {
            return .failure(error)
        }
    }

    static func location(from record: LocationRecord) throws -> Location {
        var quiet: [Channel: TimeWindow?] = [:]
        guard let json = try? JSONSerialization.jsonObject(with: Data(record.quietHours.utf8)) as? [String: Any] else {
            throw SchedulingError.invalidWindow(record.quietHours, "quiet_hours must be a JSON object such as {\"sms\": \"20:00-09:00\"}")
        }
        for (key, value) in json {
            guard let channel = Channel(rawValue: key) else {
                throw SchedulingError.invalidWindow(key, "quiet_hours key is not a channel (sms, email, webhook)")
            }
            guard let text = value as? String else {
                throw SchedulingError.invalidWindow("\(value)", "quiet_hours.\(key) must be a string such as \"21:00-08:00\" or \"off\"")
            }
            quiet[channel] = .some(try TimeWindow.parse(text))
        }
        let openings = try record.hours.map { hour -> OpeningInterval in
            guard let opens = LocalTime(hour.opens), let closes = LocalTime(hour.closes) else {
                throw SchedulingError.invalidOpening("cannot read \(hour.opens)-\(hour.closes)")
            }
            return try OpeningInterval(weekday: hour.weekday, opens: opens, closes: closes)
        }
        let closed = try Set(record.closedDays.map { day -> LocalDate in
            guard let date = LocalDate(day) else { throw SchedulingError.invalidOpening("cannot read closed day \(day)") }
            return date
        })
        return Location(id: record.id, name: record.name, timeZone: record.timeZone, lockTimeZone: record.lockTimeZone,
                        quietHours: quiet, openings: openings, closedDates: closed)
    }
}
