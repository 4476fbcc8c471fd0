import Foundation
import HeraldCore

// The rows the pure modules plan with (HeraldPipeline), read by the stores in HeraldOutbox:
// here, so that planning links no database client. Each store names them as its own
// (`EventStore.EventRow` is ``EventRow``).

/// A row of `herald.location` with its hours and closed days, as stored (validated by the scheduler).
public struct LocationRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var timeZone: String
    public var lockTimeZone: Bool
    /// `quiet_hours` as JSON text.
    public var quietHours: String
    /// (weekday, opens, closes) as PostgreSQL prints them (`09:00:00`).
    public var hours: [(weekday: Int, opens: String, closes: String)]
    public var closedDays: [String]
    /// What templates can print about the location.
    public var address: String?
    public var phone: String?
    public var website: String?

    public static func == (a: LocationRecord, b: LocationRecord) -> Bool {
        a.id == b.id && a.name == b.name && a.address == b.address && a.phone == b.phone && a.website == b.website && a.timeZone == b.timeZone && a.lockTimeZone == b.lockTimeZone
            && a.quietHours == b.quietHours && a.closedDays == b.closedDays
            && a.hours.map { "\($0.weekday) \($0.opens) \($0.closes)" } == b.hours.map { "\($0.weekday) \($0.opens) \($0.closes)" }
    }

    public init(id: String, name: String, timeZone: String, lockTimeZone: Bool, quietHours: String, hours: [(weekday: Int, opens: String, closes: String)], closedDays: [String], address: String? = nil, phone: String? = nil, website: String? = nil) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.lockTimeZone = lockTimeZone
        self.quietHours = quietHours
        self.hours = hours
        self.closedDays = closedDays
        self.address = address
        self.phone = phone
        self.website = website
    }
}

/// A pending event, as the host recorded it.
public struct EventRow: Sendable, Equatable {
    /// Event data larger than this (bytes of JSON text) is not read: the event fails, saying so.
    public static let dataLimit = 256 * 1024

    public var id: Int64
    public var subjectType: String
    public var subjectID: String
    public var type: String
    public var status: String?
    /// The status the rules see (`herald.event_status`): the event's own, else (but for
    /// `created`) the subject's last recorded one, else `confirmed` for an appointment;
    /// lower-case; an appointment's `rejected` reads `declined`, `approved` and
    /// `accepted` read `confirmed`. Nil for other subjects without a status.
    public var effectiveStatus: String?
    public var previousStatus: String?
    public var startsAt: Date?
    public var previousStartsAt: Date?
    public var endsAt: Date?
    public var locationID: String?
    public var contactID: String?
    /// The event's `data`, a JSON object as text; nil when over ``dataLimit``.
    public var data: String?

    public init(id: Int64, subjectType: String, subjectID: String, type: String, status: String? = nil, effectiveStatus: String? = nil, previousStatus: String? = nil, startsAt: Date? = nil, previousStartsAt: Date? = nil, endsAt: Date? = nil, locationID: String? = nil, contactID: String? = nil, data: String? = nil) {
        self.id = id
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.type = type
        self.status = status
        self.effectiveStatus = effectiveStatus
        self.previousStatus = previousStatus
        self.startsAt = startsAt
        self.previousStartsAt = previousStartsAt
        self.endsAt = endsAt
        self.locationID = locationID
        self.contactID = contactID
        self.data = data
    }
}

/// The event's client, with why each channel may not be used now (`herald.contact_refusal`).
public struct EventContact: Sendable, Equatable {
    public var id: String
    public var name: String?
    public var email: String?
    public var phone: String?
    public var locale: String?
    public var timeZone: String?
    public var smsBlock: String?
    public var emailBlock: String?

    public init(id: String, name: String? = nil, email: String? = nil, phone: String? = nil, locale: String? = nil, timeZone: String? = nil, smsBlock: String? = nil, emailBlock: String? = nil) {
        self.id = id
        self.name = name
        self.email = email
        self.phone = phone
        self.locale = locale
        self.timeZone = timeZone
        self.smsBlock = smsBlock
        self.emailBlock = emailBlock
    }
}

/// A rule that matches an event, with the instant its messages are due.
public struct MatchedRule: Sendable, Equatable {
    public var name: String
    public var channels: [String]
    public var template: String
    /// A reminder (`send_before`), after the visit (`send_after`), a recall (after the
    /// contact's visit, never once they booked again), or at once.
    public var kind: RuleKind
    /// `starts_at - send_before` or `(ends_at | starts_at) + send_after` in the zone; nil: now.
    public var sendAt: Date?
    public var postpone: Double
    public var businessHoursOnly: Bool
    public var urgent: Bool
    public var emailFrom: String?
    public var smsFrom: String?
    public var recipient: RuleRecipient

    public init(name: String, channels: [String], template: String, kind: RuleKind, sendAt: Date? = nil, postpone: Double, businessHoursOnly: Bool, urgent: Bool, emailFrom: String? = nil, smsFrom: String? = nil, recipient: RuleRecipient) {
        self.name = name
        self.channels = channels
        self.template = template
        self.kind = kind
        self.sendAt = sendAt
        self.postpone = postpone
        self.businessHoursOnly = businessHoursOnly
        self.urgent = urgent
        self.emailFrom = emailFrom
        self.smsFrom = smsFrom
        self.recipient = recipient
    }
}

/// The location's staff addresses and senders.
public struct EventLocation: Sendable, Equatable {
    public var timeZone: String
    public var staffEmail: String?
    public var staffPhone: String?
    public var emailFrom: String?
    public var smsFrom: String?

    public init(timeZone: String, staffEmail: String? = nil, staffPhone: String? = nil, emailFrom: String? = nil, smsFrom: String? = nil) {
        self.timeZone = timeZone
        self.staffEmail = staffEmail
        self.staffPhone = staffPhone
        self.emailFrom = emailFrom
        self.smsFrom = smsFrom
    }
}

/// One message a rule calls for (``enqueueForRule(_:)``).
public struct RuleMessage: Sendable, Equatable {
    public var eventID: Int64
    public var rule: String
    public var channel: String
    public var recipient: String
    public var locale: String?
    public var timeZone: String?
    public var data: String
    public var sendAt: Date?
    public var eventAt: Date?
    public var locationID: String?
    public var contactID: String?
    public var sender: String?
    public var dedupeKey: String

    public init(eventID: Int64, rule: String, channel: String, recipient: String, locale: String?, timeZone: String?, data: String,
                sendAt: Date?, eventAt: Date?, locationID: String?, contactID: String?, sender: String?, dedupeKey: String) {
        self.eventID = eventID
        self.rule = rule
        self.channel = channel
        self.recipient = recipient
        self.locale = locale
        self.timeZone = timeZone
        self.data = data
        self.sendAt = sendAt
        self.eventAt = eventAt
        self.locationID = locationID
        self.contactID = contactID
        self.sender = sender
        self.dedupeKey = dedupeKey
    }
}

/// One line of what expanding an event did.
public struct EventOutcome: Sendable, Equatable {
    public var rule: String?
    public var channel: String?
    public var action: EventOutcomeAction
    public var messageID: Int64?
    public var reason: String?

    public init(rule: String?, channel: String?, action: EventOutcomeAction, messageID: Int64?, reason: String?) {
        self.rule = rule
        self.channel = channel
        self.action = action
        self.messageID = messageID
        self.reason = reason
    }
}

/// A pending message a rule planned, as re-planning needs it.
public struct PlannedMessage: Sendable, Equatable {
    public var id: Int64
    public var channel: String
    public var eventID: Int64?
    public var dedupeKey: String?
    public var sendAt: Date?
    /// What re-planning may change, as text: template, postpone, hours, urgency,
    /// priority, recipient, sender, event time.
    public var fields: [String?]

    public init(id: Int64, channel: String, eventID: Int64? = nil, dedupeKey: String? = nil, sendAt: Date? = nil, fields: [String?]) {
        self.id = id
        self.channel = channel
        self.eventID = eventID
        self.dedupeKey = dedupeKey
        self.sendAt = sendAt
        self.fields = fields
    }
}

/// A rule's state: nil when it no longer exists.
public struct RuleState: Sendable, Equatable {
    public var enabled: Bool
    public var channels: [String]
    /// The rule's part of ``PlannedMessage/fields``: template, postpone, hours, urgency, priority.
    public var fields: [String?]

    public init(enabled: Bool, channels: [String], fields: [String?]) {
        self.enabled = enabled
        self.channels = channels
        self.fields = fields
    }
}

/// What re-planning after an edit did to one message (`herald.rule_edit_outcome`).
public struct RuleEditOutcome: Sendable, Equatable {
    public var action: RuleEditAction
    public var channel: String?
    public var messageID: Int64?
    public var reason: String?

    public init(action: RuleEditAction, channel: String?, messageID: Int64?, reason: String?) {
        self.action = action
        self.channel = channel
        self.messageID = messageID
        self.reason = reason
    }
}
