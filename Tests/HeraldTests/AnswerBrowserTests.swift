import Foundation
import Testing

/// Seed 003's flow, end to end with the real binary and a real browser: `herald run` with
/// the listener and the file driver delivers a reminder; headless Chromium opens its
/// "manage" link, sees the appointment in the client's language and zone, clicks "confirm"
/// (with JavaScript off); the client's acknowledgement and the business's notice are then
/// delivered through the file driver.
@Suite struct AnswerBrowserTests {
    @Test func aClientConfirmsFromTheReminderInABrowserAndBothSidesAreTold() async throws {
        try await TestDatabase.with { db in
            let dir = try temporaryDirectory()
            let port = closedPort()
            let path = try writeConfig("""
                [database]
                url = "\(db.url)"
                [worker]
                poll_interval = "200ms"
                [quiet_hours]
                sms = "off"
                email = "off"
                [scheduling]
                minimum_lead = "0s"
                [http]
                listen = "127.0.0.1:\(port)"
                public_url = "http://127.0.0.1:\(port)"
                [channels.email]
                driver = "file"
                directory = "\(dir.path)"
                [channels.sms]
                driver = "file"
                directory = "\(dir.path)"
                """)
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            _ = try await HeraldProcess.run(["rules", "install-defaults", "--config", path])
            try await db.execute("""
                UPDATE herald.rule SET send_before = '24 hours' WHERE name = 'appointment.reminder.1d';  -- whatever the DST
                INSERT INTO herald.location (id, name, time_zone, staff_email) VALUES ('lumiere', 'Salon Lumière', 'Europe/Paris', 'accueil@lumiere.example');
                INSERT INTO herald.contact (id, name, email, phone, locale, time_zone) VALUES
                  ('camille', 'Camille', 'camille@example.ca', '+15145550101', 'fr', 'America/Toronto');
                """)
            let herald = try HeraldProcess(["run", "--config", path])
            defer { herald.signal(SIGKILL) }
            #expect(try await db.waitUntil(timeout: .seconds(60)) { herald.stderr.contains("herald ready") }, "\(herald.stderr)")
            // Camille books for this time tomorrow, plus 8 seconds: the 1-day reminder goes in 8 seconds
            // (time for the running daemon to expand the event on a loaded machine, or it is too late).
            let startsAt = (Date().timeIntervalSince1970 + 86_400 + 8).rounded(.down)
            try await db.query("""
                SELECT herald.record_event('appointment', 'L-7', 'created', starts_at => to_timestamp($1::float8), contact_id => 'camille',
                                           location_id => 'lumiere', data => '{"service":"coupe"}')
                """, [startsAt])
            let reminderID = try await db.waitForScalar("""
                SELECT id FROM herald.message WHERE rule_name = 'appointment.reminder.1d' AND channel = 'email' AND status = 'sent'
                """, otherwise: {
                    let rows = try await db.query("SELECT id, rule_name, channel, status, last_error FROM herald.message ORDER BY id").rows
                    let outcomes = try await db.query("SELECT rule_name, channel, action, reason FROM herald.event_outcome").rows
                    return "messages \(rows); outcomes \(outcomes); log \(herald.stderr)"
                })
            let eml = dir.appendingPathComponent("email/\(reminderID)-1.eml")

            struct Job: Encodable { let eml: String, lang: String, place: String, starts_at: Double, zone: String, button: String }
            struct Seen: Decodable { let url: String, lang: String, text: String, problems: [String], after: String, local_time: String }
            let job = Job(eml: eml.path, lang: "fr", place: "Salon Lumière", starts_at: startsAt, zone: "America/Toronto", button: "confirm")
            let seen = try JSONDecoder().decode(Seen.self, from: try await runPeerScriptInBackground("answer_browser.py", input: try JSONEncoder().encode(job)))
            #expect(seen.url.hasPrefix("http://127.0.0.1:\(port)/answer/a1."))
            #expect(seen.lang == "fr", "the client's language, not the browser's (en-US)")
            #expect(seen.text.contains("Viendrez-vous ?") && seen.text.contains("\(seen.local_time) (America/Toronto)"), "\(seen.text)")
            #expect(seen.problems.isEmpty, "accessibility and content: \(seen.problems)")
            #expect(seen.after.contains("votre rendez-vous est confirmé"), "\(seen.after)")

            // The acknowledgement (email and SMS to Camille) and the notice to the salon, delivered.
            let sent = try await db.waitUntil(timeout: .seconds(30)) {
                try await db.scalar("""
                    SELECT count(*) FROM herald.message WHERE rule_name IN ('appointment.client_confirmed', 'staff.appointment.client_confirmed') AND status = 'sent'
                    """) == "3"
            }
            #expect(sent, "\(herald.stderr)")
            let files = try await db.query("""
                SELECT channel || '/' || id || '-1.' || CASE channel WHEN 'email' THEN 'eml' ELSE 'json' END AS file, recipient, rule_name
                  FROM herald.message WHERE rule_name LIKE '%client_confirmed' ORDER BY id
                """).named
            for row in files {
                let text = try String(contentsOf: dir.appendingPathComponent(row["file"] ?? ""), encoding: .utf8)
                #expect(text.contains(row["rule_name"]?.hasPrefix("staff") == true ? "Camille a confirmé" : "confirmé"), "\(row["file"] ?? ""): \(text)")
            }
            #expect(Set(files.compactMap { $0["recipient"] }) == ["camille@example.ca", "+15145550101", "accueil@lumiere.example"])
            #expect(try await db.scalar("SELECT action || ' ' || channel || ' ' || from_address FROM herald.answer") == "confirm link camille@example.ca")
            herald.signal(SIGTERM)
            #expect(await herald.wait(timeout: .seconds(20)) == 0, "\(herald.stderr)")
        }
    }
}

extension TestDatabase {
    /// Waits for a statement to return a value; fails the test when it never does.
    /// `otherwise` says what the test saw instead.
    func waitForScalar(_ sql: String, timeout: Duration = .seconds(30), otherwise: () async throws -> String = { "" }) async throws -> String {
        var value: String?
        _ = try await waitUntil(timeout: timeout) {
            value = try await scalar(sql)
            return value != nil
        }
        if value == nil { Issue.record("nothing for: \(sql); \(try await otherwise())") }
        return try #require(value)
    }
}
