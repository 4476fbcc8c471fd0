import Foundation
import HeraldHTTP
import Testing

/// deploy/demo's data through the real binary: it runs from events and rules, a reschedule
/// moves the reminders, and the deliberately bad row fails with its readable reason
/// whatever the hour (it is urgent: no quiet hour can merely defer it).
@Suite struct DemoDataTests {
    @Test func theDemoRunsFromEventsAndItsBadRowAlwaysFailsReadably() async throws {
        try await TestDatabase.with { db in
            let out = try temporaryDirectory()
            let path = try writeConfig("""
                [database]
                url = "\(db.url)"
                [worker]
                poll_interval = "200ms"
                [channels.email]
                driver = "file"
                directory = "\(out.path)"
                from = "Herald demo <demo@herald.localhost>"
                bounce_address = "bounces@herald.localhost"
                [channels.sms]
                driver = "file"
                directory = "\(out.path)"
                [channels.whatsapp]
                driver = "file"
                directory = "\(out.path)"
                [quiet_hours]
                whatsapp = "off"
                """)
            #expect(try await HeraldProcess.run(["templates", "install-defaults", "--config", path]).0 == 0)
            #expect(try await HeraldProcess.run(["rules", "install-defaults", "--config", path]).0 == 0)
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            try await db.execute(try String(contentsOf: root.appendingPathComponent("deploy/demo-data.sql"), encoding: .utf8))
            try await db.execute(try String(contentsOf: root.appendingPathComponent("deploy/demo-whatsapp.sql"), encoding: .utf8))
            // As deploy/demo runs it: what is due now, then Tomás's new number, then what is due within a minute.
            let first = try await HeraldProcess.run(["run", "--exit-when-idle", "--idle-horizon", "0s", "--config", path], timeout: .seconds(90))
            #expect(first.0 == 0, "\(first.2)")
            #expect(try await db.scalar("SELECT recipient FROM herald.message WHERE subject_id = 'A-1004' AND rule_name = 'appointment.reminder.1d'") == "+34600111230")
            try await db.execute(try String(contentsOf: root.appendingPathComponent("deploy/demo-later.sql"), encoding: .utf8))
            let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", path], timeout: .seconds(120))
            #expect(run.0 == 0, "\(run.2)")
            // Tomás's reminder went to the number he has now.
            #expect(try await db.scalar("""
                SELECT status || ' ' || recipient FROM herald.message WHERE subject_id = 'A-1004' AND rule_name = 'appointment.reminder.1d'
                """) == "sent +34 611 555 777")
            // Seed 002: Inés's pending booking was told it waits, then approved; Marc's was declined.
            #expect(try await db.scalar("""
                SELECT string_agg(DISTINCT rule_name, ',' ORDER BY rule_name) FROM herald.message WHERE subject_id = 'A-1003' AND contact_id = 'ines'
                """) == "appointment.approved,appointment.pending,appointment.reminder.1d")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id = 'A-1003' AND rule_name = 'appointment.confirmation'") == "0")
            // (Its pending notice was cancelled, or sent if a worker took it before the decline was expanded.)
            #expect(try await db.scalar("""
                SELECT string_agg(rule_name || ' ' || status, ',' ORDER BY id) FROM herald.message
                 WHERE subject_id = 'A-2003' AND contact_id = 'marc' AND rule_name <> 'appointment.pending'
                """) == "appointment.declined sent")
            #expect(try await db.scalar("SELECT string_agg(DISTINCT state, ',') FROM herald.event") == "done")
            #expect(try await db.scalar("SELECT status || ': ' || last_error FROM herald.message WHERE subject_type IS NULL")
                    == "failed: template work_order.status_changed (en) body uses location, order, missing from data")
            // Camille's move: the reminders for the old time are cancelled, new ones wait for the new time.
            let reminders = try await db.query("""
                SELECT status, count(*) AS n FROM herald.message WHERE subject_id = 'A-2001' AND rule_name = 'appointment.reminder.1d'
                 GROUP BY status ORDER BY status
                """).named.map { "\($0["status"] ?? "") \($0["n"] ?? "")" }
            #expect(reminders == ["cancelled 2", "pending 2"])
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id = 'A-2001' AND rule_name = 'appointment.rescheduled'") == "2")
            // Sam's cancellation went at once; his reminders never will.
            #expect(try await db.scalar("SELECT string_agg(status, ',' ORDER BY channel) FROM herald.message WHERE subject_id = 'A-3001' AND rule_name = 'appointment.cancelled'") == "sent,sent")
            #expect(try await db.scalar("SELECT string_agg(DISTINCT status, ',') FROM herald.message WHERE subject_id = 'A-3001' AND rule_name = 'appointment.reminder.1d'") == "cancelled")

            // Seed 000, as deploy/demo plays it: Olga's confirmation bounces at its own bounce
            // address; the bounce goes through herald ingest-mail; herald.unreachable says why.
            let olga = try #require(try await db.scalar("SELECT id FROM herald.message WHERE subject_id = 'A-1005' AND contact_id = 'olga' AND channel = 'email' AND status = 'sent'"))
            let preview = try await HeraldProcess.run(["templates", "preview", "--message", olga, "--config", path])
            let returnPath = try #require(preview.1.firstMatch(of: /Return-Path: <(bounces\+b1-\d+-[0-9a-f]{20}@herald\.localhost)>/)?.1)
            let bounce = try temporaryDirectory().appendingPathComponent("bounce.eml")
            _ = try await runShell("python3 '\(root.path)/deploy/demo-bounce.py' '\(returnPath)' olga.martin@correo.invalid > '\(bounce.path)'")
            let ingest = try await HeraldProcess.run(["ingest-mail", "--config", path, "--recipient", String(returnPath)], stdin: bounce)
            #expect(ingest.1 == "message \(olga) to olga.martin@correo.invalid: hard bounce 5.1.1: undelivered; address undeliverable\n", "\(ingest)")
            #expect(try await db.scalar("SELECT reason || ' ' || message_id FROM herald.unreachable WHERE contact_id = 'olga' AND channel = 'email'") == "hard_bounce \(olga)")
            #expect(try await db.scalar("SELECT string_agg(DISTINCT status, ',') FROM herald.message WHERE subject_id = 'A-1005' AND rule_name = 'appointment.reminder.1d'") == "suppressed")

            // WhatsApp, as deploy/demo plays it: both confirmations went as the approved
            // template; Twilio reports 63003 for Pau's; his SMS goes, once.
            #expect(try await db.scalar("SELECT string_agg(contact_id || ' ' || status, ',' ORDER BY id) FROM herald.message WHERE channel = 'whatsapp'")
                    == "rosa sent,pau sent")
            let pau = try #require(try await db.scalar("SELECT provider_message_id FROM herald.message WHERE contact_id = 'pau' AND channel = 'whatsapp'"))
            let file = try String(contentsOf: out.appendingPathComponent(pau), encoding: .utf8)
            #expect(file.contains("\"content_sid\" : \"HX5a1f0c2e9d8b7a6f5e4d3c2b1a0f9e8d\"") && file.contains("Pau"), "\(file)")
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.send(TwilioPeer.status(pau, "failed", errorCode: "63003")).status == 200)
            }
            let after = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", path], timeout: .seconds(60))
            #expect(after.0 == 0, "\(after.2)")
            // The SMS keeps SMS quiet hours (21:00-08:00 in Madrid, this config's default): sent
            // by day, waiting for the morning at night (the test once failed at 21:15 Madrid).
            var madrid = Calendar(identifier: .gregorian)
            madrid.timeZone = try #require(TimeZone(identifier: "Europe/Madrid"))
            let clock = madrid.dateComponents([.hour, .minute], from: Date())
            let minute = (clock.hour ?? 12) * 60 + (clock.minute ?? 0)
            let night = minute >= 21 * 60 || minute < 8 * 60
            let nearTheEdge = [8 * 60, 21 * 60].contains { abs(minute - $0) <= 3 }
            let sent = "whatsapp undelivered +34611222339 -,sms sent +34611222339 -"
            let waits = "whatsapp undelivered +34611222339 -,sms pending +34611222339 deferred: quiet hours 21:00-08:00 for sms in Europe/Madrid"
            let pausMessages = try await db.scalar("""
                SELECT string_agg(channel || ' ' || status || ' ' || recipient || ' ' || CASE WHEN channel = 'sms' AND status = 'pending'
                       THEN split_part(last_error, ';', 1) ELSE '-' END, ',' ORDER BY id) FROM herald.message WHERE contact_id = 'pau'
                """)
            #expect(nearTheEdge ? [sent, waits].contains(pausMessages) : pausMessages == (night ? waits : sent), "\(String(describing: pausMessages))")
        }
    }
}
