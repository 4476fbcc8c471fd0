import HeraldCore
import HeraldPostgres

/// Reading rules back (the default set and its upgrade are in `DefaultRules.swift`).
extension CatalogStore {
    /// The rules as a table for `herald rules list`.
    public func ruleListing() async throws -> [NamedRow] {
        try await connection.query("""
            SELECT name, CASE WHEN enabled THEN 'on' ELSE 'off' END AS state, subject_type, on_event,
                   coalesce(to_status, '-') AS to_status, array_to_string(channels, ',') AS channels, template,
                   coalesce('-' || send_before::text, '+' || send_after::text, 'at once') || CASE WHEN recall THEN ' (recall)' ELSE '' END AS timing,
                   recipient, herald.rule_priority(r) AS priority
              FROM herald.rule r ORDER BY subject_type, name
            """).named
    }

    /// Enabled rules' templates and channels, and the locales contacts use (for lint).
    public func ruleNeeds() async throws -> (rules: [(name: String, template: String, channels: [String])], locales: [String]) {
        let rules = try await connection.query("""
            SELECT name, template, channels FROM herald.rule WHERE enabled ORDER BY name
            """).named.map { (name: $0["name"] ?? "", template: $0["template"] ?? "", channels: ($0.array("channels") ?? [])) }
        let locales = try await connection.query("SELECT DISTINCT locale FROM herald.contact WHERE locale IS NOT NULL ORDER BY 1")
            .rows.compactMap { $0.first.flatMap { $0 } }
        return (rules, locales)
    }
}
