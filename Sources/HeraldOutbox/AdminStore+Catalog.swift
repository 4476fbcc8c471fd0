import Foundation
import HeraldCore
import HeraldPostgres
import HeraldRows

/// Templates written through the API (with their history) and rules changed through it.
extension AdminStore {
    /// The stored template `key`/`channel`/`locale`, if any.
    public func template(key: String, channel: String, locale: String) async throws -> TemplateRecord? {
        try await connection.query("""
            SELECT key, channel, locale, subject, body, html, version, sample_data::text AS sample_data
              FROM herald.template WHERE key = $1 AND channel = $2 AND locale = $3
            """, [key, channel, locale]).named.first.map(Self.decodeTemplate)
    }

    static func decodeTemplate(_ r: NamedRow) -> TemplateRecord {
        TemplateRecord(key: r["key"] ?? "", channel: r["channel"] ?? "", locale: r["locale"] ?? "", subject: r["subject"],
                       body: r["body"] ?? "", html: r["html"], version: r.int("version") ?? 1, sampleData: r["sample_data"])
    }

    /// Writes a template as `actor` (a built-in one becomes a stored row overriding it; its
    /// sample data is kept, or taken from `sampleData` for a new row). Returns the row.
    public func writeTemplate(_ t: TemplateRecord, sampleData: String?, actor: String) async throws -> TemplateRecord {
        try await asActor(actor) {
            guard let row = try await connection.query("""
                INSERT INTO herald.template (key, channel, locale, subject, body, html, sample_data)
                VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
                ON CONFLICT (key, channel, locale) DO UPDATE SET subject = EXCLUDED.subject, body = EXCLUDED.body, html = EXCLUDED.html
                RETURNING key, channel, locale, subject, body, html, version, sample_data::text AS sample_data
                """, [t.key, t.channel, t.locale, t.subject, t.body, t.html, sampleData]).named.first else {
                throw AdminStoreError.notFound("template \(t.key)")
            }
            return Self.decodeTemplate(row)
        }
    }

    /// One stored version of a template.
    public struct TemplateVersionRow: Sendable, Equatable {
        public var version: Int
        public var subject: String?
        public var body: String
        public var html: String?
        public var author: String
        public var createdAt: Date
    }

    /// Every stored version, newest first.
    public func templateHistory(key: String, channel: String, locale: String) async throws -> [TemplateVersionRow] {
        try await connection.query("""
            SELECT version, subject, body, html, author, extract(epoch FROM created_at)::float8 AS created_at
              FROM herald.template_version WHERE key = $1 AND channel = $2 AND locale = $3 ORDER BY version DESC
            """, [key, channel, locale]).named.map { r in
            TemplateVersionRow(version: r.int("version") ?? 0, subject: r["subject"], body: r["body"] ?? "", html: r["html"],
                               author: r["author"] ?? "", createdAt: Self.date(r, "created_at"))
        }
    }

    /// Pending messages of template `key` on `channel` (at most `limit`, oldest first), and
    /// how many there are in all.
    public func pendingMessages(template key: String, channel: String, limit: Int) async throws -> (messages: [OutboxMessage], total: Int) {
        let total = Int(try await connection.query(
            "SELECT count(*) FROM herald.message WHERE template = $1 AND channel = $2 AND status = 'pending'", [key, channel]).scalar ?? "0") ?? 0
        let result = try await connection.query("""
            SELECT \(MessageStore.messageColumns) FROM herald.message m
             WHERE m.template = $1 AND m.channel = $2 AND m.status = 'pending' ORDER BY m.id LIMIT $3
            """, [key, channel, max(0, limit)])
        let columns = MessageStore.MessageColumns(RowDecoder(result))
        return (result.rows.compactMap { MessageStore.decodeMessage($0, columns) }, total)
    }

    /// A rule as the API lists it.
    public struct RuleRow: Sendable, Equatable {
        public var name, subjectType, onEvent, template, postpone, recipient: String
        public var enabled, businessHoursOnly: Bool
        public var toStatus, sendBefore, sendAfter: String?
        public var channels: [String]
        public var priority: Int
    }

    /// Every rule, by subject type and name.
    public func rules() async throws -> [RuleRow] {
        try await connection.query("""
            SELECT name, enabled, subject_type, on_event, to_status, channels, template, send_before::text AS send_before,
                   send_after::text AS send_after, postpone::text AS postpone, business_hours_only, recipient,
                   herald.rule_priority(r) AS priority
              FROM herald.rule r ORDER BY subject_type, name
            """).named.map { r in
            RuleRow(name: r["name"] ?? "", subjectType: r["subject_type"] ?? "", onEvent: r["on_event"] ?? "", template: r["template"] ?? "",
                    postpone: r["postpone"] ?? "00:00:00", recipient: r["recipient"] ?? "client", enabled: r.bool("enabled") == true,
                    businessHoursOnly: r.bool("business_hours_only") == true, toStatus: r["to_status"], sendBefore: r["send_before"],
                    sendAfter: r["send_after"], channels: r.array("channels") ?? [], priority: r.int("priority") ?? 2)
        }
    }

    /// Changes rule `name` as `actor` (the trigger queues the re-planning the daemon does);
    /// false when there is no such rule.
    public func changeRule(_ name: String, set: [(column: String, value: String)], actor: String) async throws -> Bool {
        let (assignments, values) = try EventStore.ruleAssignments(name, set: set)
        return try await asActor(actor) {
            !(try await connection.query(
                "UPDATE herald.rule SET \(assignments), updated_at = now() WHERE name = $1 RETURNING name", values).rows.isEmpty)
        }
    }
}
