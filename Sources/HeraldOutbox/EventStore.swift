import Foundation
import HeraldCore
import HeraldRows
import HeraldPostgres

/// Events and rules: claiming a pending event, the rules it matches (with their send times
/// computed by PostgreSQL's interval arithmetic in the message's zone), and the statements
/// that enqueue, cancel, log and finish — all inside one transaction per event.
extension EventStore {
    public typealias EventRow = HeraldRows.EventRow

    public typealias EventContact = HeraldRows.EventContact

    public typealias MatchedRule = HeraldRows.MatchedRule

    public typealias EventLocation = HeraldRows.EventLocation

    /// Takes the oldest pending event that may go now (its row lock, `SKIP LOCKED`; see
    /// ``claimableEvents``); call inside a transaction.
    public func claimEvent() async throws -> EventRow? {
        try await claimEvents(limit: 1).first
    }

    /// Pending events, oldest first, leaving any whose subject or contact has an earlier
    /// event still pending: that one is being expanded by another batch (another daemon) or
    /// waits its turn, so a booking's or a client's events are planned in the order of
    /// their ids (the order they were recorded, for events committed in that order).
    /// `$1` is ``eventDataLimit``, `$2` the limit. `event_pending_subject` and
    /// `event_pending_contact` (migration 023) answer the two questions from the pending
    /// events alone.
    ///
    /// Only the oldest `4 × $2` pending events are looked at: a client with thousands of
    /// pending events in front would otherwise make every claim read past all of them, to
    /// take one (their head) per transaction. Four times the limit leaves room for the
    /// events another daemon's batch holds.
    public static let claimableEvents = """
        SELECT \(eventColumns) FROM herald.event e
         WHERE e.id IN (SELECT w.id FROM herald.event w WHERE w.state = 'pending' ORDER BY w.id LIMIT 4 * $2::int)
           AND state = 'pending'
           AND NOT EXISTS (SELECT 1 FROM herald.event p WHERE p.state = 'pending' AND p.subject_type = e.subject_type
                              AND p.subject_id = e.subject_id AND p.id < e.id)
           AND NOT EXISTS (SELECT 1 FROM herald.event p WHERE p.state = 'pending' AND p.contact_id = e.contact_id AND p.id < e.id)
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
        """

    /// Event `id`, whatever its state (re-planning a rule reads the event that planned a message).
    public func event(id: Int64) async throws -> EventRow? {
        try await connection.query("SELECT \(Self.eventColumns) FROM herald.event e WHERE id = $2", [Self.eventDataLimit, id])
            .named.first.flatMap(Self.decodeEvent)
    }

    /// The columns ``decodeEvent(_:)`` reads from `herald.event e`; `$1` is ``eventDataLimit``.
    static let eventColumns = """
        id, subject_type, subject_id, type, status, herald.event_status(e) AS effective_status, previous_status,
        extract(epoch FROM herald.event_starts_at(e))::float8 AS starts_at,
        extract(epoch FROM previous_starts_at)::float8 AS previous_starts_at,
        extract(epoch FROM ends_at)::float8 AS ends_at, location_id, contact_id,
        CASE WHEN octet_length(data::text) <= $1 THEN data::text END AS data
        """

    static func decodeEvent(_ row: NamedRow) -> EventRow? {
        guard let id = row.int64("id") else { return nil }
        func date(_ name: String) -> Date? { row[name].flatMap { Double($0) }.flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil } }
        return EventRow(id: id, subjectType: row["subject_type"] ?? "", subjectID: row["subject_id"] ?? "", type: row["type"] ?? "",
                        status: row["status"], effectiveStatus: row["effective_status"], previousStatus: row["previous_status"],
                        startsAt: date("starts_at"), previousStartsAt: date("previous_starts_at"), endsAt: date("ends_at"),
                        locationID: row["location_id"], contactID: row["contact_id"], data: row["data"])
    }

    /// Event data larger than this (bytes of JSON text) is not read: the event fails, saying so.
    public static let eventDataLimit = EventRow.dataLimit

    /// The event's contact, if it names one that exists.
    public func eventContact(_ id: String) async throws -> EventContact? {
        try await eventContacts([id])[id]
    }

    /// The contacts of these ids that exist, by id (one statement for a batch of events).
    public func eventContacts(_ ids: [String]) async throws -> [String: EventContact] {
        guard !ids.isEmpty else { return [:] }
        let result = try await connection.query("""
            SELECT c.id, c.name, c.email, c.phone, c.locale, c.time_zone,
                   herald.contact_refusal(c, c.id, 'sms', false) AS sms_block, herald.contact_refusal(c, c.id, 'email', false) AS email_block
              FROM herald.contact c WHERE c.id = ANY($1::text[])
            """, [PostgresArray(Array(Set(ids)))])
        var out: [String: EventContact] = [:]
        for row in result.named {
            guard let id = row["id"] else { continue }
            out[id] = EventContact(id: id, name: row["name"], email: row["email"], phone: row["phone"], locale: row["locale"],
                                   timeZone: row["time_zone"], smsBlock: row["sms_block"], emailBlock: row["email_block"])
        }
        return out
    }

    /// The location's staff addresses and senders; nil when it does not exist.
    public func eventLocation(_ id: String) async throws -> EventLocation? {
        try await eventLocations([id])[id]
    }

    /// The locations of these ids that exist, by id.
    public func eventLocations(_ ids: [String]) async throws -> [String: EventLocation] {
        guard !ids.isEmpty else { return [:] }
        let result = try await connection.query(
            "SELECT id, time_zone, staff_email, staff_phone, email_from, sms_from FROM herald.location WHERE id = ANY($1::text[])",
            [PostgresArray(Array(Set(ids)))])
        var out: [String: EventLocation] = [:]
        for row in result.named {
            guard let id = row["id"] else { continue }
            out[id] = EventLocation(timeZone: row["time_zone"] ?? "UTC", staffEmail: row["staff_email"], staffPhone: row["staff_phone"],
                                    emailFrom: row["email_from"], smsFrom: row["sms_from"])
        }
        return out
    }

    /// The enabled rules the event matches (all, or only the rule named `only`): same
    /// subject type; its event type (a reminder rule also on `time_changed`, to plan the new
    /// time, and, when it names a `to_status`, on `status_changed`, so an approved booking
    /// gets its reminders); `to_status` if set, against the event's
    /// ``EventRow/effectiveStatus``; its location among `location_ids` if set. Send times are computed in `zone` by PostgreSQL, so
    /// `'1 day'` keeps the wall-clock time across a DST change and `'24 hours'` is exactly
    /// 24 hours. Call inside the event's transaction (the zone is set for it only).
    public func matchingRules(_ event: EventRow, zone: String, only: String? = nil) async throws -> [MatchedRule] {
        try await matchingRules([event], zone: zone, only: only)[event.id] ?? []
    }

    /// ``matchingRules(_:zone:only:)`` for several events whose messages share the zone
    /// `zone`, by event id (one statement).
    public func matchingRules(_ events: [EventRow], zone: String, only: String? = nil) async throws -> [Int64: [MatchedRule]] {
        guard !events.isEmpty else { return [:] }
        try await setZone(zone)
        let result = try await connection.query("""
            SELECT e.id AS event_id, r.name, r.channels, r.template,
                   r.send_before IS NOT NULL AS is_reminder, r.send_after IS NOT NULL AS is_after,
                   extract(epoch FROM CASE
                       WHEN r.send_before IS NOT NULL THEN herald.event_starts_at(e) - r.send_before
                       WHEN r.send_after IS NOT NULL THEN coalesce(e.ends_at, herald.event_starts_at(e)) + r.send_after
                   END)::float8 AS send_at,
                   extract(epoch FROM r.postpone)::float8 AS postpone, r.business_hours_only, r.urgent, r.email_from, r.sms_from,
                   r.recipient, r.recall
              FROM unnest($1::bigint[], $2::text[]) AS x(id, status)
              JOIN herald.event e ON e.id = x.id
              JOIN herald.rule r ON r.enabled AND r.subject_type = e.subject_type
             WHERE ($3::text IS NULL OR r.name = $3)
               AND (r.on_event = e.type OR (r.send_before IS NOT NULL AND e.type = 'time_changed')
                    OR (r.send_before IS NOT NULL AND r.to_status IS NOT NULL AND e.type = 'status_changed'))
               AND (r.to_status IS NULL OR lower(r.to_status) = x.status)
               AND (r.location_ids IS NULL OR e.location_id = ANY (r.location_ids))
             ORDER BY e.id, r.name
            """, [PostgresArray(events.map(\.id)), PostgresArray(events.map(\.effectiveStatus)), only])
        var out: [Int64: [MatchedRule]] = [:]
        for row in result.named {
            guard let id = row.int64("event_id") else { continue }
            out[id, default: []].append(MatchedRule(
                name: row["name"] ?? "", channels: (row.array("channels") ?? []),
                template: row["template"] ?? "", kind: RuleKind(sendBefore: row.bool("is_reminder") == true, sendAfter: row.bool("is_after") == true,
                                                         recall: row.bool("recall") == true),
                sendAt: row.double("send_at").flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil },
                postpone: row.double("postpone") ?? 0, businessHoursOnly: row.bool("business_hours_only") == true,
                urgent: row.bool("urgent") == true, emailFrom: row["email_from"], smsFrom: row["sms_from"],
                recipient: RuleRecipient(rawValue: row["recipient"] ?? "") ?? .client))
        }
        return out
    }

    /// Sets the session's zone for the rest of the transaction: timestamptz ± interval
    /// applies days and months in it and the time part exactly (a rule's send time, a
    /// message's due time).
    public func setZone(_ zone: String) async throws {
        try await connection.query("SELECT set_config('TimeZone', $1, true)", [zone])
    }

    public typealias RuleMessage = HeraldRows.RuleMessage

    /// Enqueues a rule's message (`herald.enqueue_for_rule`); nil when it exists already.
    public func enqueueForRule(_ m: RuleMessage) async throws -> Int64? {
        try await enqueueForRules([m]).first ?? nil
    }

    /// Enqueues rules' messages in one statement (`herald.enqueue_for_rules`: the checks of
    /// `herald.enqueue_for_rule` for every row, then one insert); each one's id, in order, or
    /// nil when it exists already.
    public func enqueueForRules(_ ms: [RuleMessage]) async throws -> [Int64?] {
        guard !ms.isEmpty else { return [] }
        let result = try await connection.query("""
            SELECT ord, id FROM herald.enqueue_for_rules($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                                         $7::jsonb[],
                                                         ARRAY(SELECT to_timestamp(v) FROM unnest($8::float8[]) WITH ORDINALITY u(v, o) ORDER BY o),
                                                         ARRAY(SELECT to_timestamp(v) FROM unnest($9::float8[]) WITH ORDINALITY u(v, o) ORDER BY o),
                                                         $10::text[], $11::text[],
                                                         $12::text[], $13::text[])
            """, [PostgresArray(ms.map(\.eventID)), PostgresArray(ms.map(\.rule)), PostgresArray(ms.map(\.channel)),
                  PostgresArray(ms.map(\.recipient)), PostgresArray(ms.map(\.locale)), PostgresArray(ms.map(\.timeZone)),
                  PostgresArray(ms.map(\.data)), PostgresArray(ms.map { $0.sendAt?.timeIntervalSince1970 }),
                  PostgresArray(ms.map { $0.eventAt?.timeIntervalSince1970 }), PostgresArray(ms.map(\.locationID)),
                  PostgresArray(ms.map(\.contactID)), PostgresArray(ms.map(\.sender)), PostgresArray(ms.map(\.dedupeKey))])
        var ids = [Int64?](repeating: nil, count: ms.count)
        for row in result.named {
            if let ord = row.int("ord"), ord >= 1, ord <= ms.count { ids[ord - 1] = row.int64("id") }
        }
        return ids
    }

    /// Cancels the subject's pending messages (all, or reminders only), saying why on each;
    /// returns their ids.
    public func cancelForEvent(_ eventID: Int64, remindersOnly: Bool, reason: String) async throws -> [Int64] {
        try await connection.query("SELECT herald.cancel_for_event($1, $2, $3) AS id", [eventID, remindersOnly, reason]).ids
    }

    /// Cancels the pending recalls of each event's contact at its location planned before
    /// it (the client booked again), with that event's reason, in one statement; returns
    /// the ids cancelled per event.
    public func cancelRecalls(_ events: [(id: Int64, reason: String)]) async throws -> [Int64: [Int64]] {
        guard !events.isEmpty else { return [:] }
        let result = try await connection.query("SELECT event_id, id FROM herald.cancel_recalls_many($1::bigint[], $2::text[]) ORDER BY id",
                                                [PostgresArray(events.map(\.id)), PostgresArray(events.map(\.reason))])
        var ids: [Int64: [Int64]] = [:]
        for row in result.named {
            if let event = row.int64("event_id"), let id = row.int64("id") { ids[event, default: []].append(id) }
        }
        return ids
    }

    /// Why a recall for `contact` at `location` after the visit `subject` must not be
    /// planned: their next booking there, if any starts after `after`.
    public func upcomingBooking(contact: String, location: String?, subject: String, after: Date) async throws -> String? {
        try await connection.query("SELECT herald.upcoming_booking($1, $2, $3, to_timestamp($4::float8))",
                                   [contact, location, subject, after.timeIntervalSince1970]).scalar
    }

    public typealias EventOutcome = HeraldRows.EventOutcome

    /// Logs what expanding an event did and marks it done (or failed, with the reason).
    public func finishEvent(_ id: Int64, outcomes: [EventOutcome], error: String?) async throws {
        try await finishEvents([(id, outcomes, error)])
    }

    /// ``finishEvent(_:outcomes:error:)`` for several events: two statements.
    public func finishEvents(_ events: [(id: Int64, outcomes: [EventOutcome], error: String?)]) async throws {
        guard !events.isEmpty else { return }
        let rows = events.flatMap { e in e.outcomes.map { (e.id, $0) } }
        if !rows.isEmpty {
            try await connection.query("""
                INSERT INTO herald.event_outcome (event_id, rule_name, channel, action, message_id, reason)
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
                """, [PostgresArray(rows.map(\.0)), PostgresArray(rows.map(\.1.rule)), PostgresArray(rows.map(\.1.channel)),
                      PostgresArray(rows.map(\.1.action.rawValue)), PostgresArray(rows.map(\.1.messageID)), PostgresArray(rows.map(\.1.reason))])
        }
        try await connection.query("""
            UPDATE herald.event e SET state = CASE WHEN x.error IS NULL THEN 'done' ELSE 'failed' END, processed_at = now(),
                   error = left(x.error, 2000)
              FROM unnest($1::bigint[], $2::text[]) AS x(id, error)
             WHERE e.id = x.id
            """, [PostgresArray(events.map(\.id)), PostgresArray(events.map(\.error))])
    }

    /// Takes up to `limit` pending events that may go now, oldest first (their row locks,
    /// `SKIP LOCKED`; see ``claimableEvents``): no two of one subject or one contact.
    /// Call inside a transaction.
    public func claimEvents(limit: Int) async throws -> [EventRow] {
        let result = try await connection.query(Self.claimableEvents, [Self.eventDataLimit, limit])
        return result.named.compactMap(Self.decodeEvent)
    }

    /// Claims the oldest pending event and expands it with `work` in one transaction: the
    /// messages, cancellations and the log commit together with the event marked done.
    /// A statement error inside `work` (a bad time zone, a rule that no longer applies) is
    /// rolled back and the event marked failed with the reason, so it never blocks the
    /// events after it. Returns false when no event is pending.
    public func expandNextEvent(_ work: (EventRow) async throws -> (outcomes: [EventOutcome], error: String?)) async throws -> Bool {
        try await connection.inTransaction {
            guard let event = try await claimEvent() else { return false }
            try await connection.execute("SAVEPOINT expand")
            do {
                let (outcomes, error) = try await work(event)
                try await finishEvent(event.id, outcomes: outcomes, error: error)
            } catch let error as PostgresError where !error.isTransient {
                // A deadlock or a timeout rolls the whole transaction back instead: the event
                // stays pending and is expanded again.
                try await connection.execute("ROLLBACK TO SAVEPOINT expand")
                try await finishEvent(event.id, outcomes: [], error: "could not be expanded: \(error.message)")
            }
            return true
        }
    }
}

extension EventStore {
    /// What expanding one event did, for `herald explain --event`.
    public struct EventReport: Sendable, Equatable {
        /// `event 12: appointment A-1042 time_changed (done …)`.
        public var summary: String
        /// One line per message created, skipped or cancelled.
        public var lines: [String]
        /// The rules that matched (created or skipped something).
        public var rules: [String]
    }

    /// The report for event `id`; nil when there is no such event.
    public func eventReport(_ id: Int64) async throws -> EventReport? {
        let events = try await connection.query("""
            SELECT subject_type, subject_id, type, coalesce(status, '') AS status, state, coalesce(error, '') AS error,
                   coalesce(to_char(processed_at, 'YYYY-MM-DD HH24:MI:SS TZ'), '') AS processed_at
              FROM herald.event WHERE id = $1
            """, [id])
        guard let e = events.named.first else { return nil }
        var summary = "event \(id): \(e["subject_type"] ?? "") \(e["subject_id"] ?? "") \(e["type"] ?? "")"
        if let status = e["status"], !status.isEmpty { summary += " → \(status)" }
        switch e["state"] {
        case "pending": summary += " (pending: not expanded yet)"
        case "failed": summary += " (failed: \(e["error"] ?? ""))"
        default: summary += " (done \(e["processed_at"] ?? ""))"
        }
        let outcomes = try await connection.query("""
            SELECT action, coalesce(rule_name, '') AS rule, coalesce(channel, '') AS channel, message_id, coalesce(reason, '') AS reason
              FROM herald.event_outcome WHERE event_id = $1 ORDER BY CASE action WHEN 'cancelled' THEN 0 WHEN 'created' THEN 1 ELSE 2 END, id
            """, [id]).named
        var lines: [String] = []
        var rules: [String] = []
        for o in outcomes {
            let rule = o["rule"] ?? ""
            if !rule.isEmpty && !rules.contains(rule) { rules.append(rule) }
            switch o["action"] {
            case "cancelled": lines.append("cancelled message \(o["message_id"] ?? "?") (\(o["reason"] ?? ""))")
            case "created": lines.append("created   message \(o["message_id"] ?? "?") by \(rule) (\(o["channel"] ?? ""))")
            default: lines.append("skipped   \(rule) (\(o["channel"] ?? "")): \(o["reason"] ?? "")")
            }
        }
        if lines.isEmpty && e["state"] == "done" { lines.append("no rule matched") }
        return EventReport(summary: summary, lines: lines, rules: rules)
    }
}
