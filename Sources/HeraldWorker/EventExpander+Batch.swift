import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldRows
import HeraldScheduling
import Logging

extension EventExpander {
    /// An event in a batch, with what planning it read and decided.
    private struct Planned {
        let event: EventRow
        let zone: String
        var plan: EventPlan?
        var outcomes: [EventOutcome] = []
        var failure: String? { plan?.failure }
    }

    /// Expands up to `limit` pending events in one transaction, planned together: a few
    /// statements for the whole batch (claim, contacts, locations, the rules matched per
    /// time zone, one insert of every message, the log and the events marked done) instead
    /// of a dozen per event. A batch holds at most one event per subject and per contact
    /// (those after one already taken wait for the next batch), so the events of one booking
    /// or one client keep their order, as one by one.
    ///
    /// An event that is bad input fails alone (its plan says why); any statement that fails
    /// rolls the whole batch back and throws: the caller then expands the same events one
    /// at a time (``expandOne(planner:)``), where a bad one fails with its reason and the
    /// others commit. Returns how many events were expanded.
    func expandMany(planner: SchedulePlanner, limit: Int) async throws -> Int {
        let defaultZone = context.settings.scheduling.defaultTimeZone
        let now = context.now
        let logger = context.logger
        return try await link.withDatabase { store in
            try await store.connection.inTransaction {
                let events = Self.onePerSubjectAndContact(try await store.events.claimEvents(limit: limit))
                guard !events.isEmpty else { return 0 }
                let contacts = try await store.events.eventContacts(events.compactMap(\.contactID))
                let locations = try await store.events.eventLocations(events.compactMap(\.locationID))
                var planned = events.map { e in
                    Planned(event: e, zone: EventPlan.zone(contact: e.contactID.flatMap { contacts[$0] },
                                                           location: e.locationID.flatMap { locations[$0] }, default: defaultZone))
                }
                var rules: [Int64: [MatchedRule]] = [:]
                for zone in Set(planned.map(\.zone)).sorted() {
                    let group = planned.filter { $0.zone == zone }.map(\.event)
                    rules.merge(try await store.events.matchingRules(group, zone: zone)) { a, _ in a }
                }
                for i in planned.indices {
                    let e = planned[i].event
                    let contact = e.contactID.flatMap { contacts[$0] }
                    let matched = rules[e.id] ?? []
                    var upcoming: String?
                    if matched.contains(where: { $0.kind == .recall }), let contact {
                        upcoming = try await store.events.upcomingBooking(contact: contact.id, location: e.locationID, subject: e.subjectID, after: now)
                    }
                    let plan = EventPlan.make(event: e, rules: matched, contact: contact, location: e.locationID.flatMap { locations[$0] },
                                              planner: planner, now: now, upcomingBooking: upcoming)
                    planned[i].plan = plan
                }
                // The recalls the batch's bookings make obsolete, in one statement (a batch
                // holds one event per contact, so no event's recall is another's message),
                // then what each event cancels of its subject.
                let recalled = try await store.events.cancelRecalls(planned.compactMap { p in
                    p.failure == nil ? p.plan?.cancelRecalls.map { (id: p.event.id, reason: $0) } : nil
                })
                for i in planned.indices where planned[i].failure == nil {
                    guard let plan = planned[i].plan else { continue }
                    planned[i].outcomes = try await Self.cancel(plan, event: planned[i].event.id, in: store, recalled: recalled)
                }
                // The messages, one insert per zone: the outbox computes a message's due
                // time (send_at + postpone) in the session's zone, as one by one.
                for zone in Set(planned.map(\.zone)).sorted() {
                    let members = planned.indices.filter { planned[$0].zone == zone && planned[$0].failure == nil }
                    let messages = members.flatMap { planned[$0].plan?.messages ?? [] }
                    guard !messages.isEmpty else { continue }
                    try await store.events.setZone(zone)
                    var ids = try await store.events.enqueueForRules(messages)[...]
                    for i in members {
                        for message in planned[i].plan?.messages ?? [] {
                            planned[i].outcomes.append(Self.outcome(of: message, id: ids.popFirst() ?? nil))
                        }
                    }
                }
                for i in planned.indices where planned[i].failure == nil { planned[i].outcomes += planned[i].plan?.skipped ?? [] }
                try await store.events.finishEvents(planned.map { ($0.event.id, $0.outcomes, $0.failure) })
                for p in planned { Self.log(p.event, outcomes: p.outcomes, failure: p.failure, logger: logger) }
                return planned.count
            }
        }
    }

    /// Cancels what `plan` says the event makes obsolete (the subject's messages, the
    /// contact's recalls); one outcome per message cancelled. `recalled`: the recalls a
    /// batch already cancelled, by event (nil: cancel this event's here).
    static func cancel(_ plan: EventPlan, event: Int64, in store: Stores, recalled: [Int64: [Int64]]? = nil) async throws -> [EventOutcome] {
        var outcomes: [EventOutcome] = []
        if let cancel = plan.cancel {
            for id in try await store.events.cancelForEvent(event, remindersOnly: cancel.remindersOnly, reason: cancel.reason) {
                outcomes.append(.init(rule: nil, channel: nil, action: .cancelled, messageID: id, reason: cancel.reason))
            }
        }
        if let reason = plan.cancelRecalls {
            var ids = recalled?[event] ?? []
            if recalled == nil { ids = try await store.events.cancelRecalls([(id: event, reason: reason)])[event] ?? [] }
            for id in ids {
                outcomes.append(.init(rule: nil, channel: nil, action: .cancelled, messageID: id, reason: reason))
            }
        }
        return outcomes
    }

    /// The outcome of enqueueing a rule's message: created with its id, or skipped (nil: it
    /// existed already).
    static func outcome(of message: RuleMessage, id: Int64?) -> EventOutcome {
        guard let id else {
            return .init(rule: message.rule, channel: message.channel, action: .skipped, messageID: nil,
                         reason: "already created (the same event recorded again)")
        }
        return .init(rule: message.rule, channel: message.channel, action: .created, messageID: id, reason: nil)
    }

    /// The events up to the first whose subject or contact is already among them.
    static func onePerSubjectAndContact(_ events: [EventRow]) -> [EventRow] {
        var subjects = Set<String>(), contacts = Set<String>(), kept: [EventRow] = []
        for e in events {
            let subject = e.subjectType + "\u{1F}" + e.subjectID
            if subjects.contains(subject) || e.contactID.map(contacts.contains) == true { break }
            subjects.insert(subject)
            if let contact = e.contactID { contacts.insert(contact) }
            kept.append(e)
        }
        return kept
    }

    /// One line per event, as expanding it one at a time writes.
    static func log(_ event: EventRow, outcomes: [EventOutcome], failure: String?, logger: Logger) {
        if let failure {
            logger.error("event cannot be expanded", metadata: ["event": "\(event.id)", "error": "\(failure)"])
            return
        }
        logger.info("event expanded", metadata: [
            "event": "\(event.id)", "subject": "\(event.subjectType) \(event.subjectID)", "type": "\(event.type)",
            "created": "\(outcomes.filter { $0.action == .created }.count)",
            "cancelled": "\(outcomes.filter { $0.action == .cancelled }.count)",
            "skipped": "\(outcomes.filter { $0.action == .skipped }.count)",
        ])
    }
}
