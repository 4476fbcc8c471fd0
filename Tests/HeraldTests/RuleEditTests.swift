import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Testing

/// Issue 22: rules that change after planning. An edit re-plans what the rule planned
/// (moved, updated, cancelled, created, logged); a rule turned off is refused at claim; a
/// renamed rule keeps its messages; `install-defaults` upgrades the shipped rules and
/// leaves a business's edits alone. Against the real database and binary.
@Suite struct RuleEditTests {
    let events = EventTests()
    let life = BookingLifecycleTests()
    let later = BookingLifecycleTests().later

    func record(_ db: TestDatabase, _ sql: String) async throws { try await life.record(db, sql) }
    func expand(_ db: TestDatabase) async throws { try await life.expand(db) }

    @Test func editingARuleMovesCancelsAndCreatesItsPendingMessages() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await record(db, "'appointment', 'A-1', 'created', starts_at => '2030-05-10 13:00+02', contact_id => 'ana', location_id => 'sol'")
            try await expand(db)
            func reminders() async throws -> [String] {
                try await db.query("""
                    SELECT channel || ' ' || status || ' ' || to_char(send_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS l
                      FROM herald.message WHERE rule_name = 'appointment.reminder.1d' ORDER BY id
                    """).named.compactMap { $0["l"] }
            }
            #expect(try await reminders() == ["sms pending 2030-05-09 11:00", "email pending 2030-05-09 11:00"])
            // What an edit would do, shown by the same code, and nothing changed.
            let (code, out, err) = try await HeraldProcess.run(["rules", "preview", "appointment.reminder.1d", "--set", "send_before=2 hours"],
                                                               environment: ["HERALD_DATABASE_URL": db.url])
            #expect(code == 0, "\(err)")
            #expect(out.contains("moved     message 3 (sms): from 2030-05-09T11:00:00Z to 2030-05-10T09:00:00Z"), "\(out)")
            #expect(out.contains("would re-plan: 2 moved, 0 updated, 0 cancelled, 0 created, 0 skipped (nothing was changed)"), "\(out)")
            #expect(try await reminders() == ["sms pending 2030-05-09 11:00", "email pending 2030-05-09 11:00"])
            #expect(try await db.scalar("SELECT count(*) FROM herald.rule_edit") == "0")
            let (badCode, _, badErr) = try await HeraldProcess.run(["rules", "preview", "appointment.reminder.1d", "--set", "owner=me"],
                                                                  environment: ["HERALD_DATABASE_URL": db.url])
            #expect(badCode == 64 && badErr.contains("unknown rule column \"owner\""), "\(badErr)")

            // From 1 day to 2 hours: the pending reminders move.
            try await db.query("UPDATE herald.rule SET send_before = '2 hours' WHERE name = 'appointment.reminder.1d'")
            try await expand(db)
            #expect(try await reminders() == ["sms pending 2030-05-10 09:00", "email pending 2030-05-10 09:00"])
            #expect(try await db.scalar("SELECT DISTINCT next_attempt_at = send_at FROM herald.message WHERE rule_name = 'appointment.reminder.1d'") == "t")
            // Email removed from its channels: the email one is cancelled, saying why.
            try await db.query("UPDATE herald.rule SET channels = '{sms}' WHERE name = 'appointment.reminder.1d'")
            try await expand(db)
            #expect(try await reminders() == ["sms pending 2030-05-10 09:00", "email cancelled 2030-05-10 09:00"])
            #expect(try await db.scalar("SELECT last_error FROM herald.message WHERE rule_name = 'appointment.reminder.1d' AND channel = 'email'")
                    == "rule appointment.reminder.1d edited: email was removed from the rule's channels")
            // Added back: created again for the pending booking.
            try await db.query("UPDATE herald.rule SET channels = '{sms,email}' WHERE name = 'appointment.reminder.1d'")
            try await expand(db)
            #expect(try await reminders() == ["sms pending 2030-05-10 09:00", "email cancelled 2030-05-10 09:00", "email pending 2030-05-10 09:00"])
            // Turned off: every pending message it planned is cancelled with the reason; a sent one is never touched.
            try await db.execute("UPDATE herald.message SET status = 'sent', sent_at = now() WHERE rule_name = 'appointment.confirmation' AND channel = 'sms'")
            try await db.query("UPDATE herald.rule SET enabled = false WHERE name IN ('appointment.reminder.1d', 'appointment.confirmation')")
            try await expand(db)
            #expect(try await reminders() == ["sms cancelled 2030-05-10 09:00", "email cancelled 2030-05-10 09:00", "email cancelled 2030-05-10 09:00"])
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE rule_name = 'appointment.confirmation' AND channel = 'sms'") == "sent")
            let log = try await db.query("""
                SELECT e.rule_name, array_to_string(e.changed, ',') AS changed, o.action, coalesce(o.reason, '') AS reason
                  FROM herald.rule_edit e JOIN herald.rule_edit_outcome o ON o.edit_id = e.id ORDER BY o.id
                """).named.map { "\($0["rule_name"] ?? "") [\($0["changed"] ?? "")] \($0["action"] ?? ""): \($0["reason"] ?? "")" }
            #expect(log.contains("appointment.reminder.1d [send_before] moved: from 2030-05-09T11:00:00Z to 2030-05-10T09:00:00Z"), "\(log)")
            #expect(log.contains("appointment.reminder.1d [channels] cancelled: email was removed from the rule's channels"), "\(log)")
            #expect(log.contains("appointment.reminder.1d [channels] created: due 2030-05-10T09:00:00Z"), "\(log)")
            #expect(log.contains("appointment.reminder.1d [enabled] cancelled: the rule was turned off"), "\(log)")
            #expect(log.contains("appointment.confirmation [enabled] cancelled: the rule was turned off"), "\(log)")
            #expect(log.count == 7, "no line for the messages an edit leaves as they were: \(log)")
        }
    }

    /// A rule edited once a pending reminder's time has passed (held by quiet hours, a
    /// backlog, an outage) keeps the reminder, due at once; a wording change never cancels it.
    @Test func anEditNeverDropsAReminderWhoseTimeHasPassed() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await record(db, "'appointment', 'A-1', 'created', starts_at => now() + interval '30 hours', contact_id => 'ana', location_id => 'sol'")
            try await expand(db)
            try await db.query("UPDATE herald.rule SET send_before = '40 hours' WHERE name = 'appointment.reminder.1d'")
            try await expand(db)
            #expect(try await db.scalar("""
                SELECT string_agg(DISTINCT status || ' ' || (send_at < now()) || ' ' || (next_attempt_at <= now()), ',')
                  FROM herald.message WHERE rule_name = 'appointment.reminder.1d'
                """) == "pending true true", "moved to a time already past: due at once")
            try await db.query("UPDATE herald.rule SET template = 'appointment.reminder' || '' , postpone = '1 minute' WHERE name = 'appointment.reminder.1d'")
            try await expand(db)
            #expect(try await db.scalar("SELECT string_agg(DISTINCT status, ',') FROM herald.message WHERE rule_name = 'appointment.reminder.1d'") == "pending")
            #expect(try await db.scalar("SELECT count(*) FROM herald.rule_edit_outcome WHERE action = 'cancelled'") == "0")
        }
    }

    /// A rule turned off whose re-planning has not run yet: the claim refuses its messages.
    /// A renamed rule keeps its messages and their keys: an event recorded again sends nothing twice.
    @Test func aRuleTurnedOffIsCheckedAtClaimAndARenamedRuleKeepsItsMessages() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await record(db, "'appointment', 'A-1', 'created', \(later)")
            try await expand(db)
            try await db.execute("""
                UPDATE herald.rule SET name = 'appointment.booked' WHERE name = 'appointment.confirmation';
                UPDATE herald.rule_edit SET state = 'done';
                """)
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE rule_name = 'appointment.booked' AND dedupe_key LIKE 'herald:rule:appointment.booked:%'") == "2")
            try await db.query("INSERT INTO herald.event (subject_type, subject_id, type, starts_at, contact_id, location_id) SELECT subject_type, subject_id, type, starts_at, contact_id, location_id FROM herald.event WHERE id = 1")
            try await expand(db)
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE rule_name IN ('appointment.booked', 'appointment.confirmation')") == "2")
            // Off, and the daemon has not re-planned yet (the edit is marked done by hand here).
            try await db.execute("""
                UPDATE herald.rule SET enabled = false WHERE name = 'appointment.booked';
                UPDATE herald.rule_edit SET state = 'done';
                """)
            let conn = PostgresConnection(connectionString: db.daemonURL)
            try await conn.connect()
            let claimed = try await MessageStore(connection: conn, workerID: "w").claim(channels: ["sms", "email"], limit: 50, lease: .seconds(60))
            await conn.close()
            #expect(!claimed.contains { $0.template == "appointment.confirmed" })
            #expect(try await db.scalar("SELECT string_agg(DISTINCT status || ': ' || last_error, ',') FROM herald.message WHERE rule_name = 'appointment.booked'")
                    == "suppressed: rule appointment.booked was turned off or deleted")
        }
    }

    /// An installation with the old default rules, one of them edited, runs install-defaults.
    @Test func installDefaultsUpgradesTheShippedRulesAndLeavesEditedOnesAlone() async throws {
        try await TestDatabase.with { db in
            let conn = try await db.connect()
            let v1 = CatalogStore.defaultRulesVersion1
            try await conn.query("""
                INSERT INTO herald.rule (name, enabled, subject_type, on_event, to_status, channels, template, send_before, send_after, urgent, recipient, recall)
                SELECT n, e, s, o, t, string_to_array(c, ','), tpl, b::interval, a::interval, u, r, rc
                  FROM unnest($1::text[], $2::bool[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                              $9::text[], $10::bool[], $11::text[], $12::bool[]) AS x(n, e, s, o, t, c, tpl, b, a, u, r, rc)
                """, CatalogStore.columns(v1))
            await conn.close()
            try await db.query("UPDATE herald.rule SET send_before = '2 days' WHERE name = 'appointment.reminder.1d'")
            let (code, out, err) = try await HeraldProcess.run(["rules", "install-defaults"], environment: ["HERALD_DATABASE_URL": db.url])
            #expect(code == 0, "\(err)")
            #expect(out.contains("default rules: 4 added, 2 upgraded, 18 already current, 1 edited and left alone"), "\(out)")
            #expect(out.contains("added: appointment.pending, appointment.approved, appointment.declined, appointment.recall"), "\(out)")
            #expect(out.contains("upgraded to the current version: appointment.confirmation, appointment.reminder.6h"), "\(out)")
            #expect(out.contains("edited by you, left alone (compare with herald rules list): appointment.reminder.1d"), "\(out)")
            let rules = try await db.query("SELECT name, coalesce(to_status, '-') AS s, send_before::text AS b FROM herald.rule ORDER BY name").named
            func rule(_ name: String) -> [String?] { rules.first { $0["name"] == name }.map { [$0["s"], $0["b"]] } ?? [] }
            #expect(rule("appointment.confirmation") == ["confirmed", nil])
            #expect(rule("appointment.reminder.6h") == ["confirmed", "06:00:00"])
            #expect(rule("appointment.reminder.1d") == ["-", "2 days"], "the business's edit is kept")
            let (_, again, _) = try await HeraldProcess.run(["rules", "install-defaults"], environment: ["HERALD_DATABASE_URL": db.url])
            #expect(again.contains("default rules: 0 added, 0 upgraded, 24 already current, 1 edited and left alone"), "\(again)")
        }
    }
}
