import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldPostgres
import HeraldScheduling
@testable import HeraldWorker
import Logging
import Testing

/// Issue 22: the booking lifecycle as the seeds describe it, end to end against the real
/// database (and the real daemon where what is sent matters): approval and decline,
/// contacts read when the message goes, rule edits that re-plan, recall, priority.
@Suite struct BookingLifecycleTests {
    let events = EventTests()

    func record(_ db: TestDatabase, _ sql: String) async throws {
        try await db.query("SELECT herald.record_event(\(sql))")
    }

    /// Runs the expander until no event and no rule edit is pending.
    func expand(_ db: TestDatabase) async throws {
        let (service, links) = events.expander(db)
        try await runAlone(service) { () async throws -> Void in
            #expect(try await db.waitUntil {
                try await db.scalar("""
                    SELECT (SELECT count(*) FROM herald.event WHERE state = 'pending') + (SELECT count(*) FROM herald.rule_edit WHERE state = 'pending')
                    """) == "0"
            })
        }
        await links.events.connection.close()
    }

    func installTemplates(_ db: TestDatabase) async throws {
        let (code, _, err) = try await HeraldProcess.run(["templates", "install-defaults"], environment: ["HERALD_DATABASE_URL": db.url])
        #expect(code == 0, "\(err)")
    }

    /// `rule channel status` of every message, in order.
    func lines(_ db: TestDatabase) async throws -> [String] {
        try await db.query("SELECT rule_name || ' ' || channel || ' ' || status AS l FROM herald.message ORDER BY id").named.compactMap { $0["l"] }
    }

    let later = "starts_at => '2030-05-10 13:00+02', contact_id => 'ana', location_id => 'sol'"

    @Test func aPendingBookingIsToldItWaitsAndGetsItsConfirmationAndRemindersWhenApproved() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await record(db, "'appointment', 'A-1', 'created', \(later), status => 'pending'")
            try await expand(db)
            #expect(try await lines(db) == ["appointment.pending sms pending", "appointment.pending email pending",
                                            "staff.appointment.created email pending"], "no confirmation, no reminder")
            #expect(try await db.scalar("SELECT DISTINCT template FROM herald.message WHERE rule_name = 'appointment.pending'") == "appointment.pending")
            try await record(db, "'appointment', 'A-1', 'status_changed', \(later), status => 'confirmed', previous_status => 'pending'")
            try await expand(db)
            #expect(try await lines(db).dropFirst(3) == ["appointment.approved sms pending", "appointment.approved email pending",
                                                         "appointment.reminder.1d sms pending", "appointment.reminder.1d email pending"])
            #expect(try await db.scalar("SELECT DISTINCT template FROM herald.message WHERE rule_name = 'appointment.approved'") == "appointment.confirmed")
            // Approved twice (a host that records the status again): nothing twice.
            try await record(db, "'appointment', 'A-1', 'status_changed', \(later), status => 'confirmed'")
            try await expand(db)
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE rule_name = 'appointment.reminder.1d'") == "2")
            // An approval recorded without starts_at counts from the booking's recorded start.
            try await record(db, "'appointment', 'A-5', 'created', \(later), status => 'Pending'")
            try await record(db, "'appointment', 'A-5', 'status_changed', contact_id => 'ana', location_id => 'sol', status => 'Approved'")
            try await expand(db)
            #expect(try await db.scalar("""
                SELECT string_agg(DISTINCT to_char(send_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' ' || to_char(event_at AT TIME ZONE 'UTC', 'HH24:MI'), ',')
                  FROM herald.message WHERE subject_id = 'A-5' AND rule_name = 'appointment.reminder.1d'
                """) == "2030-05-09 11:00 11:00", "any case; approved reads confirmed")
            // A later event without a status keeps the booking's status: a moved pending booking gets no reminder.
            try await record(db, "'appointment', 'A-2', 'created', \(later), status => 'pending'")
            try await record(db, "'appointment', 'A-2', 'time_changed', starts_at => now() + interval '4 days', contact_id => 'ana', location_id => 'sol'")
            try await expand(db)
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id = 'A-2' AND rule_name LIKE 'appointment.reminder%'") == "0")
        }
    }

    @Test func anEventWithoutAStatusIsAConfirmedBooking() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await record(db, "'appointment', 'A-1', 'created', \(later)")
            try await expand(db)
            #expect(try await lines(db) == ["appointment.confirmation sms pending", "appointment.confirmation email pending",
                                            "appointment.reminder.1d sms pending", "appointment.reminder.1d email pending",
                                            "staff.appointment.created email pending"])
        }
    }

    /// A start of `infinity` is no instant: no reminder counts from it, and the confirmation
    /// carries no start (the planner and the stored row agree), so it is sent.
    @Test func anInfiniteStartPlansNoReminderAndAConfirmationWithoutAStart() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await record(db, "'appointment', 'A-1', 'created', starts_at => 'infinity', contact_id => 'ana', location_id => 'sol'")
            try await record(db, "'appointment', 'A-1', 'status_changed', status => 'confirmed', contact_id => 'ana', location_id => 'sol'")
            try await expand(db)
            #expect(try await db.scalar("SELECT string_agg(DISTINCT state, ',') FROM herald.event") == "done")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE rule_name LIKE 'appointment.reminder%'") == "0")
            #expect(try await db.scalar("""
                SELECT string_agg(DISTINCT coalesce(event_at::text, 'none'), ',') FROM herald.message WHERE rule_name IN ('appointment.confirmation', 'appointment.approved')
                """) == "none")
            #expect(try await db.scalar("""
                SELECT count(*) FROM herald.event_outcome WHERE rule_name = 'appointment.reminder.1d' AND reason = 'the event has no starts_at to count from'
                """) == "4")
        }
    }

    @Test func aBookingTheBusinessDeclinesGetsTheDeclinedNoticeAndNothingElse() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            for (id, word) in [("A-1", "declined"), ("A-2", "Rejected")] {
                try await record(db, "'appointment', '\(id)', 'created', \(later), status => 'pending'")
                try await record(db, "'appointment', '\(id)', 'status_changed', \(later), status => '\(word)', previous_status => 'pending'")
            }
            try await expand(db)
            for id in ["A-1", "A-2"] {
                let rows = try await db.query("""
                    SELECT rule_name, channel, status, coalesce(last_error, '') AS e FROM herald.message WHERE subject_id = $1 ORDER BY id
                    """, [id]).named
                #expect(rows.filter { $0["status"] == "pending" }.map { $0["rule_name"] ?? "" } == ["appointment.declined", "appointment.declined"], "\(id)")
                // What the pending booking had waiting (its notice, the staff's) is cancelled, saying why.
                #expect(rows.filter { $0["status"] == "cancelled" }.count == 3)
                #expect(rows.filter { $0["status"] == "cancelled" }.allSatisfy { $0["e"]?.hasSuffix("the business declined the booking") == true })
            }
            #expect(try await db.scalar("SELECT DISTINCT template FROM herald.message WHERE rule_name = 'appointment.declined'") == "appointment.declined")
            #expect(try await db.scalar("SELECT DISTINCT priority FROM herald.message WHERE rule_name = 'appointment.declined'") == "3")
        }
    }

    @Test func aConfirmedBookingMovedBackToPendingLosesItsReminders() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await record(db, "'appointment', 'A-1', 'created', \(later), status => 'confirmed'")
            try await record(db, "'appointment', 'A-1', 'status_changed', \(later), status => 'pending', previous_status => 'confirmed'")
            try await expand(db)
            let reminders = try await db.query("""
                SELECT status, last_error FROM herald.message WHERE rule_name = 'appointment.reminder.1d'
                """).named
            #expect(reminders.count == 2 && reminders.allSatisfy { $0["status"] == "cancelled" })
            #expect(reminders.allSatisfy { $0["last_error"]?.hasSuffix("the booking is waiting for approval again") == true })
            #expect(try await db.scalar("""
                SELECT count(*) FROM herald.event_outcome WHERE event_id = 2 AND action = 'cancelled' AND reason = 'the booking is waiting for approval again'
                """) == "2")
            // The client's own "no" (the declined event type) still cancels only the reminders.
            try await record(db, "'appointment', 'A-3', 'created', \(later)")
            try await record(db, "'appointment', 'A-3', 'declined', contact_id => 'ana', location_id => 'sol'")
            try await expand(db)
            #expect(try await db.scalar("""
                SELECT string_agg(DISTINCT status, ',') FROM herald.message WHERE subject_id = 'A-3' AND rule_name = 'appointment.confirmation'
                """) == "pending")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id = 'A-3' AND rule_name = 'appointment.client_declined'") == "2")
        }
    }

    /// Seed 000: "confirm the client's number has not changed". The daemon sends the reminder
    /// to the number the contact has when it goes, not the one copied at expansion.
    @Test func aChangedNumberReceivesTheReminderAndARemovedAddressSuppressesIt() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, name, email, phone, locale, time_zone) VALUES ('leo', 'Léo', 'leo@example.fr', '+33600000009', 'fr', 'Europe/Paris');
                """)
            try await record(db, "'appointment', 'A-1', 'created', starts_at => now() + interval '1 day 1 minute', contact_id => 'ana', location_id => 'sol'")
            try await record(db, "'appointment', 'A-2', 'created', starts_at => now() + interval '1 day 1 minute', contact_id => 'leo', location_id => 'sol'")
            try await expand(db)
            // A guardian's phone the host inserted stays the guardian's phone.
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, locale, data, contact_id, send_at)
                VALUES ('sms', '+34699999999', 'appointment.reminder', 'es', '{"client":{"name":"Ana"}}', 'ana', now() + interval '2 days')
                """)
            // When it is due, before the contact changes (compared after: the instant must stay).
            let dueBefore = try await db.scalar("SELECT send_at::text FROM herald.message WHERE rule_name = 'appointment.reminder.1d' AND channel = 'sms' AND contact_id = 'ana'") ?? ""
            try await db.execute("""
                UPDATE herald.contact SET phone = '+34 611 222 333', name = 'Ana María', locale = 'fr', time_zone = 'America/Toronto' WHERE id = 'ana';
                UPDATE herald.contact SET email = NULL WHERE id = 'leo';
                """)
            let ana = try #require(try await db.query("""
                SELECT recipient, recipient_key, locale, time_zone, data->'client'->>'name' AS name, data->'client'->>'phone' AS phone,
                       send_at = $1::timestamptz AND abs(extract(epoch FROM send_at - (now() + interval '1 minute'))) < 600 AS same_time
                  FROM herald.message WHERE rule_name = 'appointment.reminder.1d' AND channel = 'sms' AND contact_id = 'ana'
                """, [dueBefore]).named.first)
            #expect([ana["recipient"], ana["recipient_key"], ana["locale"], ana["time_zone"], ana["name"], ana["phone"], ana["same_time"]]
                    == ["+34 611 222 333", "+34611222333", "fr", "America/Toronto", "Ana María", "+34 611 222 333", "t"],
                    "the zone writes the times; the instant stays")
            #expect(try await db.scalar("SELECT recipient FROM herald.message WHERE template = 'appointment.reminder' AND rule_name IS NULL") == "+34699999999")
            let leo = try await db.query("""
                SELECT status, last_error FROM herald.message WHERE contact_id = 'leo' AND channel = 'email' AND rule_name LIKE 'appointment.%'
                """).named
            #expect(!leo.isEmpty && leo.allSatisfy { $0["status"] == "suppressed" && $0["last_error"] == "contact leo has no email address any more (removed after this message was planned)" })

            // The real daemon, when the reminder is due: the new number receives it, in French, and explain says where the number came from.
            try await db.execute("UPDATE herald.message SET status = 'cancelled' WHERE rule_name IS DISTINCT FROM 'appointment.reminder.1d' OR contact_id <> 'ana' OR channel <> 'sms'")
            try await installTemplates(db)
            let sms = ScriptedDriver()
            let due = Date().addingTimeInterval(2 * 60)
            try await drain(makeWorker(db, drivers: [.sms: sms, .email: ScriptedDriver()], clock: { due }))
            let after = try await db.query("SELECT id, status, last_error, next_attempt_at, send_at, event_at, now() AS now FROM herald.message WHERE status <> 'cancelled'").named
            let sent = try #require(sms.received.values.first, "\(after.map { [$0["id"], $0["status"], $0["last_error"], $0["next_attempt_at"], $0["send_at"], $0["event_at"], $0["now"]] })")
            #expect(sent.recipient == "+34611222333" && sent.locale == "fr" && sent.body.contains("rendez-vous"), "\(sent)")
            let id = try #require(try await db.scalar("SELECT id FROM herald.message WHERE status = 'sent'"))
            let (code, out, err) = try await HeraldProcess.run(["explain", id], environment: ["HERALD_DATABASE_URL": db.url])
            #expect(code == 0, "\(err)")
            #expect(out.contains("to +34 611 222 333 (contact ana's phone, kept in step with herald.contact until it is sent)"), "\(out)")
            #expect(out.contains("attempt #1") && out.contains("scripted: sent"), "\(out)")
        }
    }

    @Test func aCancellationNoticeIsClaimedBefore400DueReminders() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, send_at, priority)
                SELECT 'sms', '+3460000' || lpad(g::text, 4, '0'), 'appointment.reminder', now() - interval '1 minute', 1 FROM generate_series(1, 400) g;
                INSERT INTO herald.message (channel, recipient, template, send_at, priority)
                SELECT 'sms', '+3461000' || lpad(g::text, 4, '0'), 'appointment.feedback', now() - interval '2 minutes', 0 FROM generate_series(1, 5) g;
                """)
            try await record(db, "'appointment', 'A-9', 'cancelled', starts_at => now() + interval '1 day', contact_id => 'ana', location_id => 'sol'")
            try await expand(db)
            // Direct inserts may say so too; urgent implies the highest.
            try await db.query("INSERT INTO herald.message (channel, recipient, template, urgent) VALUES ('sms', '+34600009999', 'x', true)")
            #expect(try await db.scalar("SELECT priority FROM herald.message WHERE template = 'x'") == "3")
            let conn = PostgresConnection(connectionString: db.daemonURL)
            try await conn.connect()
            let store = Stores(connection: conn, workerID: "w")
            let first = try await store.messages.claim(channels: ["sms"], limit: 2, lease: .seconds(60))
            #expect(Set(first.map(\.template)) == ["appointment.cancelled", "x"], "\(first.map(\.template))")
            let next = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(60))
            #expect(next.allSatisfy { $0.template == "appointment.reminder" }, "reminders before feedback, oldest first")
            await conn.close()
            let plan = try await db.query("EXPLAIN " + MessageStore.claimSQLForExplain).rows.compactMap { $0[0] }.joined(separator: "\n")
            #expect(plan.contains("message_queue_idx"), "\(plan)")
        }
    }

    @Test func recallIsSentWhenNothingWasBookedAndNeverOnceABookingCame() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.query("UPDATE herald.rule SET enabled = true, send_after = '1 second' WHERE name = 'appointment.recall'")
            try await db.query("UPDATE herald.rule SET enabled = false WHERE name = 'appointment.feedback'")
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone, email, locale, preference) VALUES
                  ('bea', 'Bea', '+34600000002', 'bea@example.es', 'es', 'sms'), ('cris', 'Cris', '+34600000003', NULL, 'es', 'both'),
                  ('dani', 'Dani', '+34600000004', NULL, 'es', 'both');
                """)
            let visit = "starts_at => now() - interval '2 hours', ends_at => now() - interval '1 hour', location_id => 'sol'"
            // Bea: nothing booked since. Cris: books again after the visit. Dani: already has a booking upcoming.
            try await record(db, "'appointment', 'V-1', 'completed', \(visit), contact_id => 'bea'")
            try await record(db, "'appointment', 'V-2', 'completed', \(visit), contact_id => 'cris'")
            try await record(db, "'appointment', 'N-4', 'created', starts_at => now() + interval '9 days', contact_id => 'dani', location_id => 'sol'")
            try await record(db, "'appointment', 'V-4', 'completed', \(visit), contact_id => 'dani'")
            try await expand(db)
            #expect(try await db.scalar("""
                SELECT reason FROM herald.event_outcome o JOIN herald.event e ON e.id = o.event_id
                 WHERE e.subject_id = 'V-4' AND o.rule_name = 'appointment.recall' AND o.channel = 'sms'
                """)?.hasPrefix("the client has a booking upcoming (appointment N-4 on ") == true)
            try await record(db, "'appointment', 'N-2', 'created', starts_at => now() + interval '20 days', contact_id => 'cris', location_id => 'sol'")
            try await expand(db)
            let recalls = try await db.query("""
                SELECT contact_id, channel, status, coalesce(last_error, '') AS e, priority FROM herald.message WHERE rule_name = 'appointment.recall' ORDER BY id
                """).named.map { "\($0["contact_id"] ?? "") \($0["channel"] ?? "") \($0["status"] ?? "") \($0["priority"] ?? "") \($0["e"] ?? "")" }
            #expect(recalls == ["bea sms pending 0 ", "cris sms cancelled 0 the client booked again (event 5, appointment N-2)"],
                    "Bea prefers SMS; Cris has no email; Dani has a booking")
            // The booking's log names the recall it cancelled (a batch cancels its events' recalls together).
            #expect(try await db.scalar("""
                SELECT o.action || ' ' || (o.message_id = m.id) FROM herald.event_outcome o JOIN herald.message m ON m.contact_id = 'cris'
                 WHERE o.event_id = 5 AND o.rule_name IS NULL AND m.rule_name = 'appointment.recall'
                """) == "cancelled true")
            // A booking recorded but not expanded yet still stops a due recall at claim.
            try await db.query("INSERT INTO herald.event (subject_type, subject_id, type, contact_id, location_id, starts_at, state) VALUES ('appointment', 'N-1', 'created', 'bea', 'sol', now() + interval '3 days', 'done')")
            try await installTemplates(db)
            let sms = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: sms, .email: ScriptedDriver()], clock: { Date().addingTimeInterval(60) }))
            #expect(!sms.received.values.contains { $0.template == "appointment.recall" })
            #expect(try await db.scalar("SELECT status || ': ' || last_error FROM herald.message WHERE contact_id = 'bea'")
                    == "suppressed: the client booked again since (appointment N-1, event 6)")
            // Without it, the recall goes out in the client's language.
            try await db.execute("""
                DELETE FROM herald.event WHERE subject_id = 'N-1';
                UPDATE herald.message SET status = 'pending', last_error = NULL, next_attempt_at = now() WHERE contact_id = 'bea';
                """)
            try await drain(makeWorker(db, drivers: [.sms: sms, .email: ScriptedDriver()], clock: { Date().addingTimeInterval(60) }))
            let sent = try #require(sms.received.values.first { $0.template == "appointment.recall" })
            #expect(sent.recipient == "+34600000002" && sent.body.contains("hace tiempo que no te vemos"), "\(sent.body)")
        }
    }

    /// Seed 001: the client follows Square's French instruction.
    @Test func commencerFromAnOptedOutNumberOptsBackIn() async throws {
        try await TestDatabase.with { db in
            let inbound = InboundTests()
            let (processor, _, links) = inbound.processor(db)
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+33600000001', 'asked at the desk')")
            try await runAlone(processor) { () async throws -> Void in
                try await inbound.reply(db, "SM1", from: "+33600000001", "Commencer.")
                #expect(try await inbound.processed(db, 1))
            }
            await links.inbound.connection.close()
            #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "0")
            #expect(try await db.scalar("SELECT source || ' ' || reason FROM herald.consent_event WHERE action = 'opt_in'") == "keyword replied COMMENCER (inbound 1)")
        }
    }

    /// `herald explain` of finished messages tells what happened, and never re-plans them.
    @Test func explainOfASuppressedAndAFailedMessageTellsWhatHappened() async throws {
        try await TestDatabase.with { db in
            try await installTemplates(db)
            try await db.execute("""
                INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600000001', 'asked at the desk');
                INSERT INTO herald.message (channel, recipient, template, locale, data) VALUES
                  ('sms', '+34600000001', 'appointment.reminder', 'es', '{}'),
                  ('sms', '+34600000002', 'appointment.confirmed', 'es', '{"location":{"name":"Sol"},"event_at":"2030-05-10T13:00:00+02:00"}');
                """)
            let sms = ScriptedDriver { _, _ in throw DeliveryError.permanent("SMS provider answered 400, error 21211: invalid To", code: "21211") }
            try await drain(makeWorker(db, drivers: [.sms: sms]))
            let run = { (id: String) in try await HeraldProcess.run(["explain", id], environment: ["HERALD_DATABASE_URL": db.url]) }
            let (code1, suppressed, err1) = try await run("1")
            #expect(code1 == 0, "\(err1)")
            #expect(suppressed.hasPrefix("message 1 (suppressed): recipient opted out of sms: asked at the desk\n"), "\(suppressed)")
            #expect(suppressed.contains("to +34600000001 (as inserted); priority 2") && suppressed.contains("no attempt: it never reached a driver"))
            #expect(!suppressed.contains("would fail") && !suppressed.contains("event_at"), "no re-planning: \(suppressed)")
            let (code2, failed, err2) = try await run("2")
            #expect(code2 == 0, "\(err2)")
            #expect(failed.hasPrefix("message 2 (failed): SMS provider answered 400, error 21211: invalid To"), "\(failed)")
            #expect(failed.contains("attempt #1 ") && failed.contains(" scripted: failed (21211) SMS provider answered 400, error 21211: invalid To"), "\(failed)")
            let json = try #require(failed.firstIndex(of: "{").map { String(failed[$0...]) })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["status"] as? String == "failed" && (object["attempts"] as? [String])?.count == 1)
        }
    }
}
