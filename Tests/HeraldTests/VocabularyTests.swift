import Foundation
import HeraldRows
import HeraldCore
import HeraldInbound
import Testing

/// Issue 23: the enums of Swift are the schema's CHECK constraints, value for value; every
/// constraint on a channel names exactly the channels of ``Channel`` (more are coming).
@Suite struct VocabularyTests {
    /// Every CHECK constraint of the herald schema: table, name, definition.
    static func constraints(_ db: TestDatabase) async throws -> [(table: String, name: String, definition: String)] {
        try await db.query("""
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
             WHERE contype = 'c' AND connamespace = 'herald'::regnamespace ORDER BY 1, 2
            """).rows.map { ($0[0] ?? "", $0[1] ?? "", $0[2] ?? "") }
    }

    static func values(_ definition: String) -> Set<String> { Set(definition.matches(of: /'([a-z_]+)'::text/).map { String($0.1) }) }

    @Test func eachEnumIsItsCheckConstraint() async throws {
        try await TestDatabase.with { db in
            let all = try await Self.constraints(db)
            func check(_ table: String, _ column: String) -> Set<String>? {
                all.first { $0.table == table && $0.definition.contains("(\(column) = ANY") }.map { Self.values($0.definition) }
            }
            #expect(check("herald.rule", "on_event") == Set(EventType.allCases.map(\.rawValue)))
            #expect(check("herald.rule", "recipient") == Set(RuleRecipient.allCases.map(\.rawValue)))
            #expect(check("herald.event_outcome", "action") == Set(EventOutcomeAction.allCases.map(\.rawValue)))
            #expect(check("herald.rule_edit_outcome", "action") == Set(RuleEditAction.allCases.map(\.rawValue)))
            // `manage` is a link that records no answer.
            #expect(check("herald.answer", "action") == Set(AnswerAction.allCases.filter { $0 != .manage }.map(\.rawValue)))
            #expect(check("herald.consent_event", "action") == ["opt_out", "opt_in"])
            #expect(check("herald.message", "status") == Set(MessageStatus.allCases.map(\.rawValue)))
        }
    }

    @Test func everyChannelConstraintNamesTheChannelEnum() async throws {
        try await TestDatabase.with { db in
            let channels = Set(Channel.allCases.map(\.rawValue))
            // Constraints on a channel: any that names 'sms' (an answer's channel is how the
            // client answered, `link` or `sms`: another vocabulary).
            // A fallback names its own two channels (WhatsApp falls back to SMS): not a list of channels.
            let onChannels = try await Self.constraints(db).filter {
                $0.definition.contains("'sms'") && $0.table != "herald.answer" && !$0.name.contains("fallback")
            }
            #expect(onChannels.count >= 5, "\(onChannels.map(\.name))")
            // A contact's preference: channels a person reads (not webhook), `both` or `none`.
            let preference = try #require(onChannels.first { $0.table == "herald.contact" })
            #expect(Self.values(preference.definition).subtracting(["both", "none"]) == channels.subtracting(["webhook"]))
            // An undeliverable address (a bounce, a landline) is a person's address too.
            let undeliverable = try #require(onChannels.first { $0.table == "herald.undeliverable" && $0.definition.contains("channel") })
            #expect(Self.values(undeliverable.definition) == channels.subtracting(["webhook"]))
            for constraint in onChannels where !["herald.contact", "herald.undeliverable"].contains(constraint.table) {
                #expect(Self.values(constraint.definition) == channels, "\(constraint.table) \(constraint.name): \(constraint.definition)")
            }
        }
    }
}
