import Foundation
import HeraldCore
import HeraldPostgres
import Testing

/// Subjects (which appointment a message is about) and contacts (preference and consent),
/// against the real database, as the host role where the host acts.
@Suite struct SubjectTests {
    /// Runs `sql` as `role` on a connection of its own.
    func run(_ db: TestDatabase, as role: String, _ sql: String) async throws -> PostgresResult {
        let conn = try await db.connect()
        do {
            try await conn.execute("SET ROLE \(role)")
            let result = try await conn.query(sql)
            await conn.close()
            return result
        } catch {
            await conn.close()
            throw error
        }
    }

    @Test func hostsEnqueueWithASubjectReadItsFeedAndCancelIt() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            _ = try await run(db, as: "herald_host", """
                INSERT INTO herald.message (channel, recipient, template, data, subject_type, subject_id, send_at) VALUES
                  ('sms', '+34600000001', 't', '{"name":"Ana"}', 'appointment', 'A-1', now() + interval '1 day'),
                  ('email', 'ana@example.es', 't', '{"name":"Ana"}', 'appointment', 'A-1', now() + interval '2 days'),
                  ('sms', '+34600000002', 't', '{"name":"Luis"}', 'appointment', 'A-2', now() + interval '1 day')
                """)
            try await db.query("UPDATE herald.message SET status = 'sent', sent_at = now() WHERE id = 2")
            let cancelled = try await run(db, as: "herald_host", "SELECT herald.cancel_subject('appointment', 'A-1', 'client cancelled by phone')")
            #expect(cancelled.scalar == "1", "the sent one stays sent")
            let feed = try await run(db, as: "herald_host", """
                SELECT message_id, status, last_error FROM herald.subject_feed
                 WHERE subject_type = 'appointment' AND subject_id = 'A-1' ORDER BY message_id
                """).named
            #expect(feed.map { [$0["message_id"], $0["status"]] } == [["1", "cancelled"], ["2", "sent"]])
            #expect(feed.first?["last_error"] == "cancelled with appointment A-1 by postgres: client cancelled by phone")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 3") == "pending", "another subject is untouched")
            // Half a subject is refused.
            await #expect(throws: PostgresError.self) {
                _ = try await run(db, as: "herald_host", "INSERT INTO herald.message (channel, recipient, template, subject_type) VALUES ('sms', '+1', 't', 'appointment')")
            }
            // The daemon may read the feed but not cancel a subject.
            await #expect(throws: PostgresError.self) {
                _ = try await run(db, as: "herald_daemon", "SELECT herald.cancel_subject('appointment', 'A-2')")
            }
        }
    }

    /// Every preference × consent combination, for SMS and email, on insert.
    @Test func preferenceAndConsentDecideOnInsert() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.addTemplate(channel: "email", subject: "s")
            var expected: [String: (sms: String, email: String)] = [:]
            var n = 0
            for preference in ["email", "sms", "both", "none"] {
                for sms in ["true", "false", "NULL"] {
                    for email in ["true", "false", "NULL"] {
                        n += 1
                        let id = "c\(n)"
                        _ = try await run(db, as: "herald_host", """
                            INSERT INTO herald.contact (id, name, email, phone, preference, sms_consent, email_consent)
                            VALUES ('\(id)', 'Ana', 'ana\(n)@example.es', '+3460000\(String(format: "%04d", n))', '\(preference)', \(sms), \(email))
                            """)
                        func outcome(_ channel: String, _ consent: String) -> String {
                            if preference == "none" { return "suppressed: contact \(id) wants no messages (preference none)" }
                            if preference != channel && preference != "both" { return "suppressed: contact \(id) prefers \(preference), not \(channel)" }
                            if consent == "false" { return "suppressed: contact \(id) has not consented to \(channel)" }
                            return "pending: -"
                        }
                        expected[id] = (outcome("sms", sms), outcome("email", email))
                    }
                }
            }
            _ = try await run(db, as: "herald_host", """
                INSERT INTO herald.message (channel, recipient, template, data, contact_id)
                SELECT ch, CASE ch WHEN 'sms' THEN c.phone ELSE c.email END, 't', '{"name":"Ana"}', c.id
                  FROM herald.contact c, (VALUES ('sms'), ('email')) AS v(ch)
                """)
            let rows = try await db.query("SELECT contact_id, channel, status || ': ' || coalesce(last_error, '-') AS outcome FROM herald.message").named
            #expect(rows.count == 72)
            for row in rows {
                let want = try #require(expected[row["contact_id"] ?? ""])
                #expect(row["outcome"] == (row["channel"] == "sms" ? want.sms : want.email), "\(row["contact_id"] ?? "") \(row["channel"] ?? "")")
            }
            // An unknown contact is bad input: the message fails, saying so.
            _ = try await run(db, as: "herald_host", "INSERT INTO herald.message (channel, recipient, template, contact_id) VALUES ('sms', '+1', 't', 'ghost')")
            #expect(try await db.scalar("SELECT status || ': ' || last_error FROM herald.message WHERE contact_id = 'ghost'") == "failed: contact ghost does not exist")
        }
    }

    /// A reminder created days ahead follows the client's preference as it is when it is due.
    @Test func aPreferenceChangedAfterTheMessageWasCreatedWinsAtClaim() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.contact (id, phone, preference) VALUES ('c1', '+34600000001', 'both'), ('c2', '+34600000002', 'both'),
                                                                          ('c3', '+34600000003', 'sms');
                """)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data, contact_id, subject_type, subject_id) VALUES
                  ('sms', '+34600000001', 't', '{"name":"Ana"}', 'c1', 'appointment', 'A-1'),
                  ('sms', '+34600000002', 't', '{"name":"Luis"}', 'c2', 'appointment', 'A-2'),
                  ('sms', '+34600000003', 't', '{"name":"Eva"}', 'c3', 'appointment', 'A-3')
                """)
            #expect(try await db.statusCounts() == ["pending": 3])
            try await db.query("UPDATE herald.contact SET preference = 'email' WHERE id = 'c1'")
            try await db.query("UPDATE herald.contact SET sms_consent = false WHERE id = 'c2'")
            let driver = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: driver]))
            let rows = try await db.query("SELECT subject_id, status, coalesce(last_error, '-') AS error, attempts FROM herald.subject_feed ORDER BY subject_id").named
            #expect(rows.map { [$0["subject_id"], $0["status"], $0["error"], $0["attempts"]] } == [
                ["A-1", "suppressed", "contact c1 prefers email, not sms", "0"],
                ["A-2", "suppressed", "contact c2 has not consented to sms", "0"],
                ["A-3", "sent", "-", "1"],
            ])
            #expect(driver.deliveries.keys.sorted() == [3])
        }
    }
}
