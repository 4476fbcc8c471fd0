import HeraldCore
import HeraldPostgres

/// The rule set `herald rules install-defaults` seeds, every version of it Herald shipped,
/// and the upgrade from an older one.
extension CatalogStore {
    /// One default rule: what the products in the seeds configure out of the box.
    public struct DefaultRule: Sendable, Equatable {
        public var name: String
        public var enabled: Bool
        public var subjectType: String
        public var onEvent: String
        public var toStatus: String?
        public var channels: [String]
        public var template: String
        public var sendBefore: String?
        public var sendAfter: String?
        public var urgent: Bool
        public var recipient: String
        public var recall: Bool

        init(_ name: String, on subjectType: String, _ onEvent: String, to toStatus: String? = nil, enabled: Bool = true,
             channels: [String] = ["sms", "email"], template: String? = nil, before: String? = nil, after: String? = nil,
             urgent: Bool = false, staff: Bool = false, recall: Bool = false) {
            self.name = name
            self.enabled = enabled
            self.subjectType = subjectType
            self.onEvent = onEvent
            self.toStatus = toStatus
            self.channels = staff ? ["email"] : channels
            self.template = template ?? name
            self.sendBefore = before
            self.sendAfter = after
            self.urgent = urgent
            self.recipient = staff ? "staff" : "client"
            self.recall = recall
        }
    }

    /// The current default rules (version 2). Seed 002's approval flow: a booking saved as
    /// `pending` is told it waits (and nothing else); a confirmed one, or one the business
    /// approves (`status_changed` → `confirmed`), gets the confirmation and the reminders;
    /// one the business declines (`status_changed` → `declined`) gets the declined notice,
    /// and the expander cancels everything else pending for it. Seed 003's six hours before
    /// and the recall are present but off. Staff are told by email (skipped, with the
    /// reason, where a location has no `staff_email`).
    public static let defaultRules: [DefaultRule] = [
        .init("appointment.pending", on: "appointment", "created", to: "pending"),
        .init("appointment.confirmation", on: "appointment", "created", to: "confirmed", template: "appointment.confirmed"),
        .init("appointment.approved", on: "appointment", "status_changed", to: "confirmed", template: "appointment.confirmed"),
        .init("appointment.declined", on: "appointment", "status_changed", to: "declined"),
        .init("appointment.reminder.1d", on: "appointment", "created", to: "confirmed", template: "appointment.reminder", before: "1 day"),
        .init("appointment.reminder.6h", on: "appointment", "created", to: "confirmed", enabled: false, channels: ["sms"],
              template: "appointment.reminder", before: "6 hours"),
        .init("appointment.rescheduled", on: "appointment", "time_changed"),
        .init("appointment.cancelled", on: "appointment", "cancelled", urgent: true),
        .init("appointment.feedback", on: "appointment", "completed", after: "1 hour"),
        .init("appointment.recall", on: "appointment", "completed", enabled: false, after: "8 weeks", recall: true),
        .init("work_order.created", on: "work_order", "created"),
        .init("work_order.status_changed", on: "work_order", "status_changed", enabled: false),
        .init("work_order.ready", on: "work_order", "status_changed", to: "ready"),
        .init("lead.created", on: "lead", "created", channels: ["email"]),
        .init("appointment.status_changed", on: "appointment", "status_changed", enabled: false),
        .init("lead.status_changed", on: "lead", "status_changed", enabled: false, channels: ["email"]),
        .init("staff.appointment.created", on: "appointment", "created", staff: true),
        .init("staff.appointment.time_changed", on: "appointment", "time_changed", staff: true),
        .init("staff.appointment.cancelled", on: "appointment", "cancelled", urgent: true, staff: true),
        .init("staff.appointment.status_changed", on: "appointment", "status_changed", enabled: false, staff: true),
        .init("staff.lead.created", on: "lead", "created", staff: true),
        // Seed 003: the client's answer to a reminder (link or SMS reply) is acknowledged to
        // the client, and the business gets an email with it.
        .init("appointment.client_confirmed", on: "appointment", "confirmed"),
        .init("appointment.client_declined", on: "appointment", "declined"),
        .init("staff.appointment.client_confirmed", on: "appointment", "confirmed", staff: true),
        .init("staff.appointment.client_declined", on: "appointment", "declined", urgent: true, staff: true),
    ]

    /// Version 1 (until 0.28): the confirmation and the reminders fired on every `created`
    /// whatever its status, and there were no pending, approved, declined or recall rules.
    public static let defaultRulesVersion1: [DefaultRule] = defaultRules
        .filter { !["appointment.pending", "appointment.approved", "appointment.declined", "appointment.recall"].contains($0.name) }
        .map { rule in
            var rule = rule
            if ["appointment.confirmation", "appointment.reminder.1d", "appointment.reminder.6h"].contains(rule.name) { rule.toStatus = nil }
            return rule
        }

    /// Every shipped version, oldest first; the last is ``defaultRules``.
    public static let shippedDefaultRules: [[DefaultRule]] = [defaultRulesVersion1, defaultRules]

    /// What `install-defaults` did.
    public struct DefaultRulesReport: Sendable, Equatable {
        /// Rules that did not exist, written.
        public var added: [String] = []
        /// Rules still equal to an older shipped version, rewritten to the current one.
        public var upgraded: [String] = []
        /// Rules equal to the current version already.
        public var current: [String] = []
        /// Rules that differ from every shipped version (a business's edits): left alone.
        public var edited: [String] = []
    }

    /// Installs ``defaultRules``: adds the missing ones, rewrites those still equal to an
    /// older shipped version (every column compared: an edited rule is never overwritten),
    /// and reports the edited ones it left alone. One transaction.
    public func installDefaultRules() async throws -> DefaultRulesReport {
        try await connection.inTransaction {
            var report = DefaultRulesReport()
            let current = Self.shippedDefaultRules.count - 1
            let all = Self.shippedDefaultRules.enumerated().flatMap { version, rules in rules.map { (version, $0) } }
            let matches = try await connection.query("""
                WITH shipped AS (
                    SELECT * FROM unnest($1::int[], $2::text[], $3::bool[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                                         $9::text[], $10::text[], $11::bool[], $12::text[], $13::bool[])
                             AS x(v, n, e, s, o, t, c, tpl, b, a, u, r, rc))
                SELECT r.name, max(x.v) FILTER (WHERE x.n IS NOT NULL) AS version
                  FROM herald.rule r LEFT JOIN shipped x
                    ON x.n = r.name AND r.enabled = x.e AND r.subject_type = x.s AND r.on_event = x.o
                   AND r.to_status IS NOT DISTINCT FROM x.t AND r.channels = string_to_array(x.c, ',') AND r.template = x.tpl
                   AND r.send_before::text IS NOT DISTINCT FROM x.b::interval::text
                   AND r.send_after::text IS NOT DISTINCT FROM x.a::interval::text
                   AND r.postpone = interval '0' AND NOT r.business_hours_only AND r.urgent = x.u AND r.location_ids IS NULL
                   AND r.email_from IS NULL AND r.sms_from IS NULL AND r.recipient = x.r AND r.priority IS NULL AND r.recall = x.rc
                 WHERE r.name = ANY ($2::text[])
                 GROUP BY r.name
                """, [PostgresArray(all.map { $0.0 })] + Self.columns(all.map(\.1)))
            var existing: [String: Int?] = [:]
            for row in matches.named {
                if let name = row["name"] { existing.updateValue(row.int("version"), forKey: name) }
            }
            var write: [DefaultRule] = []
            for rule in Self.defaultRules {
                switch existing[rule.name] {
                case .none: report.added.append(rule.name)
                case .some(.none): report.edited.append(rule.name)
                case .some(.some(let version)) where version == current: report.current.append(rule.name)
                case .some(.some): report.upgraded.append(rule.name); write.append(rule)
                }
            }
            if !write.isEmpty {
                try await connection.query("""
                    UPDATE herald.rule r
                       SET enabled = x.e, subject_type = x.s, on_event = x.o, to_status = x.t, channels = string_to_array(x.c, ','),
                           template = x.tpl, send_before = x.b::interval, send_after = x.a::interval, urgent = x.u, recipient = x.r,
                           recall = x.rc, updated_at = now()
                      FROM unnest($1::text[], $2::bool[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                                  $9::text[], $10::bool[], $11::text[], $12::bool[]) AS x(n, e, s, o, t, c, tpl, b, a, u, r, rc)
                     WHERE r.name = x.n
                    """, Self.columns(write))
            }
            let added = Self.defaultRules.filter { report.added.contains($0.name) }
            if !added.isEmpty {
                try await connection.query("""
                    INSERT INTO herald.rule (name, enabled, subject_type, on_event, to_status, channels, template, send_before, send_after,
                                             urgent, recipient, recall)
                    SELECT n, e, s, o, t, string_to_array(c, ','), tpl, b::interval, a::interval, u, r, rc
                      FROM unnest($1::text[], $2::bool[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                                  $9::text[], $10::bool[], $11::text[], $12::bool[]) AS x(n, e, s, o, t, c, tpl, b, a, u, r, rc)
                    ON CONFLICT (name) DO NOTHING
                    """, Self.columns(added))
            }
            return report
        }
    }

    /// The rules as twelve parallel arrays: name, enabled, subject type, event, status,
    /// channels (comma-joined), template, before, after, urgent, recipient, recall.
    public static func columns(_ rules: [DefaultRule]) -> [(any PostgresEncodable)?] {
        [PostgresArray(rules.map(\.name)), PostgresArray(rules.map(\.enabled)), PostgresArray(rules.map(\.subjectType)),
         PostgresArray(rules.map(\.onEvent)), PostgresArray(rules.map(\.toStatus)),
         PostgresArray(rules.map { $0.channels.joined(separator: ",") }), PostgresArray(rules.map(\.template)),
         PostgresArray(rules.map(\.sendBefore)), PostgresArray(rules.map(\.sendAfter)), PostgresArray(rules.map(\.urgent)),
         PostgresArray(rules.map(\.recipient)), PostgresArray(rules.map(\.recall))]
    }
}
