/// The words the schema's CHECK constraints allow, as Swift enums: a test compares each
/// with its constraint, so a new value is added to both or the tests fail.

/// The event types Herald acts on: `herald.rule.on_event` allows exactly these.
/// (`herald.event.type` is the host's text: an unknown type fails that event.)
public enum EventType: String, Sendable, CaseIterable {
    case created
    case statusChanged = "status_changed"
    case timeChanged = "time_changed"
    case cancelled, completed, confirmed, declined
}

/// What expanding an event did for one rule and channel (`herald.event_outcome.action`).
public enum EventOutcomeAction: String, Sendable, CaseIterable {
    case created, skipped, cancelled
}

/// What re-planning after a rule edit did to one message (`herald.rule_edit_outcome.action`).
public enum RuleEditAction: String, Sendable, CaseIterable {
    case moved, updated, cancelled, created, skipped
}

/// Whom a rule's messages go to (`herald.rule.recipient`).
public enum RuleRecipient: String, Sendable, CaseIterable {
    /// The event's contact.
    case client
    /// The location's staff address.
    case staff
}

/// When a rule's messages are due, from its timing columns.
public enum RuleKind: Sendable, Equatable {
    /// At once, when the event is expanded.
    case atEvent
    /// `send_before` the start.
    case reminder
    /// `send_after` the end (or start).
    case afterVisit
    /// `send_after` a completed visit, unless the contact booked again.
    case recall

    /// `recall` only with `send_after` (the `rule_recall_kind` constraint).
    public init(sendBefore: Bool, sendAfter: Bool, recall: Bool) {
        if recall && sendAfter { self = .recall } else if sendBefore { self = .reminder } else if sendAfter { self = .afterVisit } else { self = .atEvent }
    }

    /// Due at a time computed from the event (a reminder, after the visit, a recall).
    public var isTimed: Bool { self != .atEvent }
}
