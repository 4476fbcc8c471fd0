import Foundation
import HeraldCore
import HeraldRows
import HeraldPostgres

/// What the worker reads besides messages: templates, partials and locations.
extension CatalogStore {
    // MARK: Locations

    public typealias LocationRecord = HeraldRows.LocationRecord

    /// Every location with its opening hours and closed days.
    public func locations() async throws -> [LocationRecord] {
        let locations = try await connection.query(
            "SELECT id, name, time_zone, lock_time_zone, quiet_hours::text AS quiet_hours, address, phone, website FROM herald.location ORDER BY id")
        let hours = try await connection.query(
            "SELECT location_id, weekday, opens::text AS opens, closes::text AS closes FROM herald.location_hours ORDER BY location_id, weekday, opens")
        let closed = try await connection.query(
            "SELECT location_id, day::text AS day FROM herald.location_closed ORDER BY location_id, day")
        var records: [String: LocationRecord] = [:]
        for row in locations.named {
            let id = row["id"] ?? ""
            records[id] = LocationRecord(id: id, name: row["name"] ?? id, timeZone: row["time_zone"] ?? "", lockTimeZone: row.bool("lock_time_zone") == true,
                                         quietHours: row["quiet_hours"] ?? "{}", hours: [], closedDays: [],
                                         address: row["address"], phone: row["phone"], website: row["website"])
        }
        for row in hours.named {
            guard let id = row["location_id"], let weekday = row.int("weekday") else { continue }
            records[id]?.hours.append((weekday, row["opens"] ?? "", row["closes"] ?? ""))
        }
        for row in closed.named {
            guard let id = row["location_id"], let day = row["day"] else { continue }
            records[id]?.closedDays.append(day)
        }
        return records.values.sorted { $0.id < $1.id }
    }

    // MARK: Templates

    /// Every stored template.
    public func templates() async throws -> [TemplateRecord] {
        let result = try await connection.query("""
            SELECT key, channel, locale, subject, body, html, version, sample_data::text AS sample_data,
                   content_sid, content_variables::text AS content_variables
              FROM herald.template ORDER BY key, channel, locale
            """)
        return result.named.map {
            var record = TemplateRecord(key: $0["key"] ?? "", channel: $0["channel"] ?? "", locale: $0["locale"] ?? "", subject: $0["subject"],
                                        body: $0["body"] ?? "", html: $0["html"], version: $0.int("version") ?? 1, sampleData: $0["sample_data"])
            record.contentSID = $0["content_sid"]
            record.contentVariables = $0["content_variables"]
            return record
        }
    }

    /// One line of `herald templates list`.
    public struct TemplateSummary: Sendable, Equatable {
        public var key: String
        public var channel: String
        public var locale: String
        public var version: String
        /// `updated_at` as `YYYY-MM-DD HH24:MI`.
        public var updated: String
        public var description: String
    }

    /// Every stored template's key, channel, locale, version, last edit and description.
    public func templateSummaries() async throws -> [TemplateSummary] {
        let result = try await connection.query("""
            SELECT key, channel, locale, version, to_char(updated_at, 'YYYY-MM-DD HH24:MI') AS updated, coalesce(description, '') AS description
              FROM herald.template ORDER BY key, channel, locale
            """)
        return result.named.map { row in
            TemplateSummary(key: row["key"] ?? "", channel: row["channel"] ?? "", locale: row["locale"] ?? "", version: row["version"] ?? "",
                            updated: row["updated"] ?? "", description: row["description"] ?? "")
        }
    }

    /// Every shared partial.
    public func partials() async throws -> [PartialRecord] {
        let result = try await connection.query("SELECT name, locale, body FROM herald.template_partial ORDER BY name, locale")
        return result.named.map { PartialRecord(name: $0["name"] ?? "", locale: $0["locale"] ?? "", body: $0["body"] ?? "") }
    }

    /// How `installTemplates` went.
    public struct InstallReport: Sendable, Equatable {
        /// Rows written (new, or replaced with `replace`).
        public var written: Int
        /// Rows that existed and were left as the business edited them.
        public var kept: Int
    }

    /// Installs templates and partials in one transaction. Existing rows are kept
    /// (they may have been edited) unless `replace` is true.
    public func installTemplates(_ templates: [TemplateRecord], partials: [PartialRecord], descriptions: [String: String],
                                 replace: Bool) async throws -> InstallReport {
        let conflict = replace
            ? "DO UPDATE SET subject = excluded.subject, body = excluded.body, html = excluded.html, sample_data = excluded.sample_data, description = excluded.description"
            : "DO NOTHING"
        let partialConflict = replace ? "DO UPDATE SET body = excluded.body" : "DO NOTHING"
        try await connection.execute("BEGIN")
        do {
            let t = try await connection.query("""
                INSERT INTO herald.template (key, channel, locale, subject, body, html, sample_data, description)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[])
                ON CONFLICT (key, channel, locale) \(conflict)
                RETURNING key
                """, [PostgresArray(templates.map(\.key)), PostgresArray(templates.map(\.channel)), PostgresArray(templates.map(\.locale)),
                      PostgresArray(templates.map(\.subject)), PostgresArray(templates.map(\.body)), PostgresArray(templates.map(\.html)),
                      PostgresArray(templates.map(\.sampleData)), PostgresArray(templates.map { descriptions[$0.key] })])
            let p = try await connection.query("""
                INSERT INTO herald.template_partial (name, locale, body)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                ON CONFLICT (name, locale) \(partialConflict)
                RETURNING name
                """, [PostgresArray(partials.map(\.name)), PostgresArray(partials.map(\.locale)), PostgresArray(partials.map(\.body))])
            try await connection.execute("COMMIT")
            let written = t.rows.count + p.rows.count
            return InstallReport(written: written, kept: templates.count + partials.count - written)
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
    }
}
