import HeraldCore
import HeraldPostgres

/// The rule set `herald rules install-defaults` seeds, and reading rules back.
extension OutboxStore {
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
    }

    /// Confirmation on booking, a reminder a day before (and seed 003's six hours before,
    /// present but off), rescheduled and cancelled notices, feedback an hour after the
    /// visit; work orders registered and ready; leads acknowledged; staff told of new and
    /// cancelled bookings by email (off until the location has a `staff_email`).
    public static let defaultRules: [DefaultRule] = [
        .init(name: "appointment.confirmation", enabled: true, subjectType: "appointment", onEvent: "created", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.confirmed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "appointment.reminder.1d", enabled: true, subjectType: "appointment", onEvent: "created", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.reminder", sendBefore: "1 day", sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "appointment.reminder.6h", enabled: false, subjectType: "appointment", onEvent: "created", toStatus: nil,
              channels: ["sms"], template: "appointment.reminder", sendBefore: "6 hours", sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "appointment.rescheduled", enabled: true, subjectType: "appointment", onEvent: "time_changed", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.rescheduled", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "appointment.cancelled", enabled: true, subjectType: "appointment", onEvent: "cancelled", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.cancelled", sendBefore: nil, sendAfter: nil, urgent: true, recipient: "client"),
        .init(name: "appointment.feedback", enabled: true, subjectType: "appointment", onEvent: "completed", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.feedback", sendBefore: nil, sendAfter: "1 hour", urgent: false, recipient: "client"),
        .init(name: "work_order.created", enabled: true, subjectType: "work_order", onEvent: "created", toStatus: nil,
              channels: ["sms", "email"], template: "work_order.created", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "work_order.status_changed", enabled: false, subjectType: "work_order", onEvent: "status_changed", toStatus: nil,
              channels: ["sms", "email"], template: "work_order.status_changed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "work_order.ready", enabled: true, subjectType: "work_order", onEvent: "status_changed", toStatus: "ready",
              channels: ["sms", "email"], template: "work_order.ready", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "lead.created", enabled: true, subjectType: "lead", onEvent: "created", toStatus: nil,
              channels: ["email"], template: "lead.created", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "appointment.status_changed", enabled: false, subjectType: "appointment", onEvent: "status_changed", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.status_changed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "lead.status_changed", enabled: false, subjectType: "lead", onEvent: "status_changed", toStatus: nil,
              channels: ["email"], template: "lead.status_changed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        // Seed 002's notifications to the business: by email to the location's staff_email
        // (skipped, with the reason in herald.event_outcome, where a location has none).
        .init(name: "staff.appointment.created", enabled: true, subjectType: "appointment", onEvent: "created", toStatus: nil,
              channels: ["email"], template: "staff.appointment.created", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "staff"),
        .init(name: "staff.appointment.time_changed", enabled: true, subjectType: "appointment", onEvent: "time_changed", toStatus: nil,
              channels: ["email"], template: "staff.appointment.time_changed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "staff"),
        .init(name: "staff.appointment.cancelled", enabled: true, subjectType: "appointment", onEvent: "cancelled", toStatus: nil,
              channels: ["email"], template: "staff.appointment.cancelled", sendBefore: nil, sendAfter: nil, urgent: true, recipient: "staff"),
        .init(name: "staff.appointment.status_changed", enabled: false, subjectType: "appointment", onEvent: "status_changed", toStatus: nil,
              channels: ["email"], template: "staff.appointment.status_changed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "staff"),
        .init(name: "staff.lead.created", enabled: true, subjectType: "lead", onEvent: "created", toStatus: nil,
              channels: ["email"], template: "staff.lead.created", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "staff"),
        // Seed 003: the client's answer to a reminder (link or SMS reply) is acknowledged to the
        // client, and the business gets an email with it.
        .init(name: "appointment.client_confirmed", enabled: true, subjectType: "appointment", onEvent: "confirmed", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.client_confirmed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "appointment.client_declined", enabled: true, subjectType: "appointment", onEvent: "declined", toStatus: nil,
              channels: ["sms", "email"], template: "appointment.client_declined", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "client"),
        .init(name: "staff.appointment.client_confirmed", enabled: true, subjectType: "appointment", onEvent: "confirmed", toStatus: nil,
              channels: ["email"], template: "staff.appointment.client_confirmed", sendBefore: nil, sendAfter: nil, urgent: false, recipient: "staff"),
        .init(name: "staff.appointment.client_declined", enabled: true, subjectType: "appointment", onEvent: "declined", toStatus: nil,
              channels: ["email"], template: "staff.appointment.client_declined", sendBefore: nil, sendAfter: nil, urgent: true, recipient: "staff"),
    ]

    /// Installs ``defaultRules``; rules that exist (perhaps edited) are kept. Returns how many were written.
    public func installDefaultRules() async throws -> Int {
        let rules = Self.defaultRules
        let result = try await connection.query("""
            INSERT INTO herald.rule (name, enabled, subject_type, on_event, to_status, channels, template, send_before, send_after, urgent, recipient)
            SELECT n, e, s, o, t, string_to_array(c, ','), tpl, b::interval, a::interval, u, r
              FROM unnest($1::text[], $2::bool[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                          $10::bool[], $11::text[]) AS x(n, e, s, o, t, c, tpl, b, a, u, r)
            ON CONFLICT (name) DO NOTHING
            RETURNING name
            """, [PostgresArray(rules.map(\.name)), PostgresArray(rules.map(\.enabled)), PostgresArray(rules.map(\.subjectType)),
                  PostgresArray(rules.map(\.onEvent)), PostgresArray(rules.map(\.toStatus)),
                  PostgresArray(rules.map { $0.channels.joined(separator: ",") }), PostgresArray(rules.map(\.template)),
                  PostgresArray(rules.map(\.sendBefore)), PostgresArray(rules.map(\.sendAfter)), PostgresArray(rules.map(\.urgent)),
                  PostgresArray(rules.map(\.recipient))])
        return result.rows.count
    }

    /// The rules as a table for `herald rules list`.
    public func ruleListing() async throws -> [NamedRow] {
        try await connection.query("""
            SELECT name, CASE WHEN enabled THEN 'on' ELSE 'off' END AS state, subject_type, on_event,
                   coalesce(to_status, '-') AS to_status, array_to_string(channels, ',') AS channels, template,
                   coalesce('-' || send_before::text, '+' || send_after::text, 'at once') AS timing, recipient
              FROM herald.rule ORDER BY subject_type, name
            """).named
    }

    /// Enabled rules' templates and channels, and the locales contacts use (for lint).
    public func ruleNeeds() async throws -> (rules: [(name: String, template: String, channels: [String])], locales: [String]) {
        let rules = try await connection.query("""
            SELECT name, template, array_to_string(channels, ',') AS channels FROM herald.rule WHERE enabled ORDER BY name
            """).named.map { (name: $0["name"] ?? "", template: $0["template"] ?? "", channels: ($0["channels"] ?? "").split(separator: ",").map(String.init)) }
        let locales = try await connection.query("SELECT DISTINCT locale FROM herald.contact WHERE locale IS NOT NULL ORDER BY 1")
            .rows.compactMap { $0.first.flatMap { $0 } }
        return (rules, locales)
    }
}
