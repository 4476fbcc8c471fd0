import Foundation
import HeraldCore
import HeraldRows
import HeraldPostgres

/// Rule edits (`herald.rule_edit`, queued by a trigger on `herald.rule`): the statements that
/// read what a rule planned and re-plan it, and the log of what each edit did.
extension EventStore {
    /// A queued rule edit.
    public struct RuleEdit: Sendable, Equatable {
        public var id: Int64
        public var rule: String
        /// The columns that changed, or `deleted`.
        public var changed: [String]
    }

    public typealias PlannedMessage = HeraldRows.PlannedMessage

    public typealias RuleState = HeraldRows.RuleState

    public typealias RuleEditOutcome = HeraldRows.RuleEditOutcome

    /// Takes the oldest pending rule edit (row lock, `SKIP LOCKED`); call inside a transaction.
    public func claimRuleEdit() async throws -> RuleEdit? {
        let row = try await connection.query("""
            SELECT id, rule_name, changed FROM herald.rule_edit
             WHERE state = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
            """).named.first
        guard let row, let id = row.int64("id"), let rule = row["rule_name"] else { return nil }
        return RuleEdit(id: id, rule: rule, changed: (row.array("changed") ?? []))
    }

    /// The rule's pending messages, oldest first, but not a WhatsApp message's SMS fallback
    /// (it stands for a message that went; turning the rule off still stops it at claim).
    /// `lock` takes their row locks and skips
    /// rows a worker is claiming right now: those finish under the rule they were planned by.
    public func pendingMessages(ofRule rule: String, lock: Bool) async throws -> [PlannedMessage] {
        let rows = try await connection.query("""
            SELECT id, channel, event_id, dedupe_key, extract(epoch FROM send_at)::float8 AS send_at, template,
                   extract(epoch FROM postpone)::float8::text AS postpone, business_hours_only::text AS hours, urgent::text AS urgent,
                   priority::text AS priority, recipient, sender, extract(epoch FROM event_at)::float8::text AS event_at
              FROM herald.message WHERE rule_name = $1 AND status = 'pending' AND fallback_of IS NULL ORDER BY id
            \(lock ? "FOR UPDATE SKIP LOCKED" : "")
            """, [rule]).named
        return rows.compactMap { row in
            guard let id = row.int64("id") else { return nil }
            return PlannedMessage(id: id, channel: row["channel"] ?? "", eventID: row.int64("event_id"),
                                  dedupeKey: row["dedupe_key"],
                                  sendAt: row.double("send_at").flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil },
                                  fields: ["template", "postpone", "hours", "urgent", "priority", "recipient", "sender", "event_at"].map { row[$0] })
        }
    }

    /// Whether the rule exists, is on, and its channels.
    public func ruleState(_ name: String) async throws -> RuleState? {
        guard let row = try await connection.query("""
            SELECT enabled, channels, template, extract(epoch FROM postpone)::float8::text AS postpone,
                   business_hours_only::text AS hours, urgent::text AS urgent,
                   (CASE WHEN urgent THEN 3 ELSE herald.rule_priority(r) END)::text AS priority
              FROM herald.rule r WHERE name = $1
            """, [name]).named.first else { return nil }
        return RuleState(enabled: row.bool("enabled") == true, channels: (row.array("channels") ?? []),
                         fields: ["template", "postpone", "hours", "urgent", "priority"].map { row[$0] })
    }

    /// Re-plans a pending message to what its rule says now (`herald.replan_message`, which
    /// checks the address and takes the sender and the start from the rule, location and
    /// event); false when it is no longer pending.
    public func replanMessage(_ id: Int64, rule: String, recipient: String, sendAt: Date?) async throws -> Bool {
        try await connection.query("SELECT herald.replan_message($1, $2, $3, to_timestamp($4::float8))",
                                   [id, rule, recipient, sendAt?.timeIntervalSince1970]).scalarBool
    }

    /// Cancels a pending message of the rule with the reason; false when it is no longer pending.
    public func cancelForRule(_ id: Int64, rule: String, reason: String) async throws -> Bool {
        try await connection.query("SELECT herald.cancel_for_rule($1, $2, $3)", [id, rule, reason]).scalarBool
    }

    /// Logs what re-planning did and marks the edit done (or failed, with the reason).
    public func finishRuleEdit(_ edit: RuleEdit, outcomes: [RuleEditOutcome], error: String?) async throws {
        if !outcomes.isEmpty {
            try await connection.query("""
                INSERT INTO herald.rule_edit_outcome (edit_id, rule_name, action, channel, message_id, reason)
                SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[])
                """, [edit.id, edit.rule, PostgresArray(outcomes.map(\.action.rawValue)), PostgresArray(outcomes.map(\.channel)),
                      PostgresArray(outcomes.map(\.messageID)), PostgresArray(outcomes.map { $0.reason.map { String($0.prefix(2000)) } })])
        }
        try await connection.query("""
            UPDATE herald.rule_edit SET state = CASE WHEN $2::text IS NULL THEN 'done' ELSE 'failed' END, processed_at = now(),
                   error = left($2, 2000)
             WHERE id = $1
            """, [edit.id, error])
    }

    /// Claims the oldest pending rule edit and re-plans it with `work` in one transaction;
    /// a statement error inside `work` is rolled back and the edit marked failed with the
    /// reason. Returns false when none is pending.
    public func replanNextRuleEdit(_ work: (RuleEdit) async throws -> [RuleEditOutcome]) async throws -> Bool {
        try await connection.inTransaction {
            guard let edit = try await claimRuleEdit() else { return false }
            try await connection.execute("SAVEPOINT replan")
            do {
                try await finishRuleEdit(edit, outcomes: try await work(edit), error: nil)
            } catch let error as PostgresError where !error.isTransient {
                // A deadlock or a timeout rolls the whole transaction back instead: the edit
                // stays pending and is re-planned again.
                try await connection.execute("ROLLBACK TO SAVEPOINT replan")
                try await finishRuleEdit(edit, outcomes: [], error: "could not be re-planned: \(error.message)")
            }
            return true
        }
    }

    /// The columns `herald rules preview --set` may change, with their SQL types.
    public static let editableRuleColumns: [String: String] = [
        "enabled": "boolean", "to_status": "text", "channels": "text[]", "template": "text", "send_before": "interval",
        "send_after": "interval", "postpone": "interval", "business_hours_only": "boolean", "urgent": "boolean",
        "location_ids": "text[]", "email_from": "text", "sms_from": "text", "recipient": "text", "priority": "smallint",
        "recall": "boolean",
    ]

    /// Why an edit cannot be previewed: an unknown column, or no such rule.
    public struct RuleEditError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Runs `body` with the rule changed as `set` says (column → value as SQL text, `NULL`
    /// for NULL, `{a,b}` for arrays), then rolls everything back: what an edit would do,
    /// computed by the same statements that apply one.
    public func withRuleEdited<T: Sendable>(_ name: String, set: [(column: String, value: String)],
                                            _ body: () async throws -> T) async throws -> T {
        let (assignments, values) = try Self.ruleAssignments(name, set: set)
        try await connection.execute("BEGIN")
        do {
            let updated = try await connection.query(
                "UPDATE herald.rule SET \(assignments) WHERE name = $1 RETURNING name", values)
            guard !updated.rows.isEmpty else { throw RuleEditError(description: "no rule named \"\(SafeText.clean(name, limit: 128))\"") }
            let value = try await body()
            try await connection.execute("ROLLBACK")
            return value
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The SET list for `set` (each value a parameter cast to its column's type) and the
    /// parameters, `$1` being the rule's name.
    static func ruleAssignments(_ name: String, set: [(column: String, value: String)]) throws -> (String, [(any PostgresEncodable)?]) {
        var assignments: [String] = []
        var values: [(any PostgresEncodable)?] = [name]
        for (column, value) in set {
            guard let type = Self.editableRuleColumns[column] else {
                throw RuleEditError(description: "unknown rule column \"\(SafeText.clean(column, limit: 64))\"; one of "
                    + Self.editableRuleColumns.keys.sorted().joined(separator: ", "))
            }
            values.append(value.uppercased() == "NULL" ? nil : value)
            assignments.append("\(column) = $\(values.count)::\(type)")
        }
        guard !assignments.isEmpty else { throw RuleEditError(description: "nothing to change: give --set column=value") }
        return (assignments.joined(separator: ", "), values)
    }
}
