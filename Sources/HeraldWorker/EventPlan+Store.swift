import Foundation
import HeraldOutbox
import HeraldPipeline
import HeraldRows
import HeraldScheduling

extension EventPlan {
    /// Reads what planning `event` needs (its contact, its location, the rules it matches in
    /// the message's zone, and for a recall the contact's next booking) and plans it: the one
    /// path shared by the expander and by re-planning after a rule edit. `only` restricts the
    /// rules to one; `replanning` keeps a pending reminder whose time has passed. Call inside
    /// the event's transaction (the zone is set for it only).
    public static func make(event: EventRow, in store: Stores, planner: SchedulePlanner, defaultZone: String,
                            now: Date, only: String? = nil, replanning: Bool = false) async throws -> EventPlan {
        var contact: EventContact?
        var location: EventLocation?
        if let id = event.contactID { contact = try await store.events.eventContact(id) }
        if let id = event.locationID { location = try await store.events.eventLocation(id) }
        let zone = zone(contact: contact, location: location, default: defaultZone)
        let rules = try await store.events.matchingRules(event, zone: zone, only: only)
        var upcoming: String?
        if rules.contains(where: { $0.kind == .recall }), let contact {
            upcoming = try await store.events.upcomingBooking(contact: contact.id, location: event.locationID, subject: event.subjectID, after: now)
        }
        return make(event: event, rules: rules, contact: contact, location: location, planner: planner, now: now,
                    upcomingBooking: upcoming, replanning: replanning)
    }

    /// The zone an event's messages are planned in: the contact's, else the location's,
    /// else the default.
    static func zone(contact: EventContact?, location: EventLocation?, default defaultZone: String) -> String {
        contact?.timeZone ?? location?.timeZone ?? defaultZone
    }
}
