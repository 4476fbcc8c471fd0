import Foundation
import HeraldCore
import HeraldRows
import HeraldRender
import HeraldScheduling

/// What expanding one event does, decided without I/O from what the database returned: the
/// subject's messages to cancel, the messages the matching rules call for, and the ones
/// they would call for but cannot have, each with the reason. Whether a reminder is still
/// worth sending is decided by the same scheduling rules the worker applies
/// (``SchedulePlanner``), not a second copy.
public struct EventPlan: Sendable, Equatable {
    /// Which of the subject's pending messages to cancel first, and why.
    public enum Cancel: Sendable, Equatable {
        /// The subject was cancelled, or the business declined the booking: every pending message.
        case all(String)
        /// Its time changed, the client declined, or the booking waits for approval again:
        /// the reminders planned for it.
        case reminders(String)

        public var remindersOnly: Bool { if case .reminders = self { true } else { false } }
        public var reason: String { switch self { case .all(let r), .reminders(let r): r } }
    }

    public var cancel: Cancel?
    /// The contact's pending recalls to cancel first (they booked, moved or completed a visit), and why.
    public var cancelRecalls: String?
    public var messages: [RuleMessage] = []
    /// Rule × channel pairs that make no message, with the reason.
    public var skipped: [EventOutcome] = []
    /// Set when the event itself is bad input: nothing is done and the event fails with it.
    public var failure: String?

    /// The event types Herald knows.
    public static let eventTypes = EventType.allCases.map(\.rawValue)

    /// Plans `event` at `now`. `location` is nil when the event names no location or one that
    /// does not exist. `upcomingBooking` says why a recall must not be planned (the contact's
    /// next booking), for events that match a recall rule.
    public static func make(event: EventRow, rules: [MatchedRule], contact: EventContact?,
                            location: EventLocation?, planner: SchedulePlanner, now: Date,
                            upcomingBooking: String? = nil, replanning: Bool = false) -> EventPlan {
        var plan = EventPlan()
        guard eventTypes.contains(event.type) else {
            plan.failure = "unknown event type \"\(oneLine(event.type))\"; expected \(eventTypes.joined(separator: ", "))"
            return plan
        }
        if !isName(event.subjectType, first: { $0.isLowercase || $0.isNumber }, rest: "_", limit: 63) {
            plan.failure = "invalid subject type \"\(oneLine(event.subjectType))\"; expected a lower-case name such as appointment or work_order"
            return plan
        }
        for (name, value) in [("status", event.status), ("previous_status", event.previousStatus)] {
            if let value, !isName(value, first: { $0.isLetter || $0.isNumber }, rest: "_ .-", limit: 64) {
                plan.failure = "invalid \(name) \"\(oneLine(value))\"; expected a name of letters, digits, _ . - or spaces (at most 64)"
                return plan
            }
        }
        if let id = event.locationID, location == nil {
            plan.failure = "unknown location \"\(oneLine(id))\" (not in herald.location)"
            return plan
        }
        if let id = event.contactID, contact == nil {
            plan.failure = "unknown contact \"\(oneLine(id))\" (not in herald.contact)"
            return plan
        }
        guard event.data != nil else {
            plan.failure = "data is larger than \(EventRow.dataLimit / 1024) KB"
            return plan
        }
        guard let data = templateData(event: event, contact: contact) else {
            plan.failure = "data is not a JSON object"
            return plan
        }
        plan.cancel = cancellation(event)
        if event.subjectType == "appointment", event.contactID != nil,
           let type = EventType(rawValue: event.type), [.created, .timeChanged, .completed, .confirmed].contains(type) {
            plan.cancelRecalls = type == .completed ? "a newer visit was completed (event \(event.id))"
                : "the client booked again (event \(event.id), \(event.subjectType) \(oneLine(event.subjectID)))"
        }
        for rule in rules {
            for name in rule.channels {
                guard let channel = Channel(rawValue: name) else { continue }
                if rule.kind == .recall, let upcomingBooking {
                    plan.skipped.append(.init(rule: rule.name, channel: name, action: .skipped, messageID: nil, reason: upcomingBooking))
                    continue
                }
                switch message(rule, channel, event: event, contact: contact, location: location, data: data, planner: planner, now: now,
                               replanning: replanning) {
                case .success(let m): plan.messages.append(m)
                case .failure(let why): plan.skipped.append(.init(rule: rule.name, channel: name, action: .skipped, messageID: nil, reason: why.reason))
                }
            }
        }
        return plan
    }

    struct Skip: Error { let reason: String }

    /// What the event makes obsolete among the subject's pending messages.
    static func cancellation(_ event: EventRow) -> Cancel? {
        switch EventType(rawValue: event.type) {
        case .cancelled: return .all("the \(event.subjectType) was cancelled")
        case .timeChanged: return .reminders("its time changed")
        case .declined: return .reminders("the client declined")
        case .statusChanged where event.subjectType == "appointment":
            switch event.effectiveStatus {
            case "declined": return .all("the business declined the booking")
            case "pending": return .reminders("the booking is waiting for approval again")
            default: return nil
            }
        default: return nil
        }
    }

    /// Outside text quoted in an error: capped, cleaned, on one line.
    static func oneLine(_ text: String) -> String {
        SafeText.clean(text, limit: 64).replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
    }

    /// A status or subject type: ASCII letters and digits, `rest`'s characters after the first.
    static func isName(_ text: String, first: (Character) -> Bool, rest: String, limit: Int) -> Bool {
        guard let head = text.first, text.count <= limit, head.isASCII, first(head) else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || rest.contains($0)) }
    }

    static func message(_ rule: MatchedRule, _ channel: Channel, event: EventRow, contact: EventContact?,
                        location: EventLocation?, data: String, planner: SchedulePlanner, now: Date,
                        replanning: Bool = false) -> Result<RuleMessage, Skip> {
        // Who it goes to.
        let recipient: String?
        if rule.recipient == .staff {
            recipient = channel == .email ? location?.staffEmail : channel.isPhone ? location?.staffPhone : nil
            if recipient == nil { return .failure(Skip(reason: "the location has no staff \(channel.isPhone ? "phone" : channel.rawValue) address")) }
        } else {
            guard let contact else { return .failure(Skip(reason: "the event names no contact")) }
            switch channel {
            case .sms:
                if let block = contact.smsBlock { return .failure(Skip(reason: block)) }
                recipient = contact.phone
            case .email:
                if let block = contact.emailBlock { return .failure(Skip(reason: block)) }
                recipient = contact.email
            case .whatsapp:
                // Not skipped when WhatsApp is blocked (no opt-in, another preference): the
                // message is stored suppressed with the reason, and its rule's SMS fallback,
                // if any, goes in its place (herald.message_fall_back).
                recipient = contact.phone
            case .webhook:
                recipient = nil
            }
            if recipient?.isEmpty ?? true {
                return .failure(Skip(reason: "contact \(contact.id) has no \(channel.isPhone ? "phone" : channel.rawValue) address"))
            }
        }
        guard let recipient else { return .failure(Skip(reason: "no address")) }
        // When.
        if rule.kind.isTimed && rule.sendAt == nil {
            return .failure(Skip(reason: "the event has no \(rule.kind == .reminder ? "starts_at" : "starts_at or ends_at") to count from"))
        }
        // A new reminder whose time has passed is not planned; one already pending when its
        // rule is edited is kept, due at once, unless the scheduling rules would expire it.
        if rule.kind == .reminder, let at = rule.sendAt, at < now, !replanning {
            return .failure(Skip(reason: "too late: the reminder was due at \(ISO8601.string(at))"))
        }
        let sendAt = rule.sendAt ?? now
        let eventAt = rule.kind == .afterVisit || rule.kind == .recall ? nil : event.startsAt
        let schedule = OutboxMessage.Schedule(sendAt: sendAt, postpone: Duration.clamped(seconds: rule.postpone), eventAt: eventAt,
                                              businessHoursOnly: rule.businessHoursOnly, locationID: event.locationID, urgent: rule.urgent)
        let draft = OutboxMessage(id: 0, channel: channel.rawValue, recipient: recipient, template: rule.template,
                                  locale: contact?.locale, timeZone: contact?.timeZone, data: data, attempt: 1, maxAttempts: nil, schedule: schedule)
        let earliest = max(now, sendAt.addingTimeInterval(rule.postpone))
        switch planner.evaluate(draft, channel: channel, at: earliest) {
        case .failure(let error): return .failure(Skip(reason: "cannot be scheduled: \(error)"))
        case .success(let explanation):
            if case .expired(let reason) = explanation.decision { return .failure(Skip(reason: "too late: \(reason)")) }
        }
        let sender = channel == .email ? (rule.emailFrom ?? location?.emailFrom) : channel == .sms ? (rule.smsFrom ?? location?.smsFrom) : nil
        let key = dedupeKey(rule, channel, event: event, contact: contact)
        return .success(RuleMessage(
            eventID: event.id, rule: rule.name, channel: channel.rawValue, recipient: recipient, locale: contact?.locale,
            timeZone: contact?.timeZone, data: data, sendAt: rule.sendAt, eventAt: eventAt, locationID: event.locationID,
            contactID: rule.recipient == .staff ? nil : contact?.id, sender: sender, dedupeKey: key))
    }

    /// A rule message's `dedupe_key`: recording the same event again creates nothing twice.
    /// A reminder is one per rule, subject, channel and start time, whichever event planned
    /// it (created confirmed, or approved later); a recall one per visit; any other message
    /// one per event type and status.
    static func dedupeKey(_ rule: MatchedRule, _ channel: Channel, event: EventRow,
                          contact: EventContact?) -> String {
        let start = event.startsAt.map { String(Int64(clampingFloor: $0.timeIntervalSince1970)) } ?? ""
        let who = rule.recipient.rawValue
        let parts: [String]
        if rule.kind == .recall {
            parts = [rule.name, "recall", contact?.id ?? "", event.locationID ?? "", event.subjectType, event.subjectID, channel.rawValue]
        } else if rule.kind == .reminder {
            parts = [rule.name, event.subjectType, event.subjectID, channel.rawValue, who, "reminder", start]
        } else {
            parts = [rule.name, event.subjectType, event.subjectID, channel.rawValue, who, event.type, event.status ?? "", start]
        }
        return (["herald", "rule"] + parts).joined(separator: ":")
    }
}
