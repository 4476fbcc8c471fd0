import Foundation
@testable import HeraldOutbox
import Testing

/// Issue 27: WhatsApp through a (local) Twilio-compatible API, with SMS as its fallback.
/// The daemon and its listener run for real; the client's WhatsApp messages and Twilio's
/// status callbacks come to the listener signed as Twilio signs them.
@Suite(.serialized) struct WhatsAppTests {
    static let sid = "HX" + String(repeating: "ab12", count: 8)

    static func config(_ db: TestDatabase, _ http: Peer, token: String, fallbackAfter: String? = nil) throws -> String {
        let dir = try temporaryDirectory()
        try token.write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let twilio = """
            base_url = "http://127.0.0.1:\(http.port)"
            account_sid = "ACtest"
            auth_token_file = "\(dir.appendingPathComponent("token").path)"
            status_callback = "https://herald.example.com/hooks/webhooks/twilio/status"
            """
        return try writeConfig("""
            [database]
            url = "\(db.daemonURL)"
            [worker]
            poll_interval = "200ms"
            [quiet_hours]
            sms = "off"
            whatsapp = "off"
            [scheduling]
            minimum_lead = "0s"
            [http]
            listen = "127.0.0.1:0"
            public_url = "https://herald.example.com/hooks"
            twilio_auth_token_file = "\(dir.appendingPathComponent("token").path)"
            [channels.sms]
            driver = "twilio"
            from = "+34911000000"
            \(twilio)
            [channels.whatsapp]
            driver = "twilio"
            from = "whatsapp:+14155238886"
            \(fallbackAfter.map { "fallback_after = \"\($0)\"" } ?? "")
            \(twilio)
            """)
    }

    /// The templates: `visit` has an approved WhatsApp template and an SMS text; `note` has
    /// only an SMS text (free text on WhatsApp, inside the window only).
    static func templates(_ db: TestDatabase) async throws {
        try await db.query("""
            INSERT INTO herald.template (key, channel, locale, body, content_sid, content_variables) VALUES
              ('visit', 'whatsapp', 'es', 'Hola {{name}}, su cita es {{when}}', $1, '{"2": "{{when}}", "1": "{{name}}"}'),
              ('visit', 'sms', 'es', 'SMS: hola {{name}}, cita {{when}}', NULL, NULL),
              ('note', 'sms', 'es', 'Nota para {{name}}', NULL, NULL)
            """, [Self.sid])
    }

    static func sends(_ http: Peer, kind: String) -> [[String: String]] {
        http.requests().filter { $0["kind"] as? String == kind && $0["status"] as? Int == 201 }.compactMap { $0["form"] as? [String: String] }
    }

    @Test func templatesTheWindowRepliesAndFallbackFromFailuresAndReceipts() async throws {
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let token = "tok-secret"
            let config = try Self.config(db, http, token: token)
            try await Self.templates(db)
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, locale, data, fallback) VALUES
                  ('whatsapp', 'whatsapp:+34 600 000 101', 'visit', 'es', '{"name": "Ana", "when": "mañana\\n a las 10"}', 'sms'),
                  ('whatsapp', '+34600000110', 'note', 'es', '{"name": "Bea"}', 'sms'),
                  ('whatsapp', '+34600000120', 'note', 'es', '{"name": "Dani"}', NULL);
                """)
            let herald = try HeraldProcess(["run", "--config", config])
            defer { herald.signal(SIGKILL) }
            var port: Int?
            let started = try await db.waitUntil {
                port = herald.listenerPort
                let done = try await db.scalar("SELECT count(*) FROM herald.message WHERE status IN ('sent', 'failed')")
                return port != nil && done == "4"
            }
            #expect(started, "\(herald.stderr)")
            let peer = TwilioPeer(port: try #require(port), token: token)

            // 1. An approved template: ContentSid and its variables, one line each, no Body.
            let template = try #require(Self.sends(http, kind: "whatsapp").first { $0["To"] == "whatsapp:+34600000101" })
            #expect(template["ContentSid"] == Self.sid && template["Body"] == nil && template["From"] == "whatsapp:+14155238886")
            #expect(template["ContentVariables"] == #"{"1":"Ana","2":"mañana a las 10"}"#)
            #expect(template["StatusCallback"] == "https://herald.example.com/hooks/webhooks/twilio/status")
            // 2. Free text to a client who never wrote: failed with the reason, and its SMS went instead.
            #expect(try await db.scalar("SELECT last_error FROM herald.message WHERE id = 2")?.hasPrefix(
                "outside WhatsApp's 24-hour window (the client has never written) and template note (es) has no WhatsApp Content SID") == true)
            #expect(try await db.scalar("SELECT status || ' ' || channel || ' ' || recipient || ' ' || fallback_of FROM herald.message WHERE fallback_of = 2")
                    == "sent sms +34600000110 2")
            #expect(Self.sends(http, kind: "sms").map { $0["To"] ?? "" } == ["+34600000110"])
            #expect(Self.sends(http, kind: "sms").first?["Body"] == "Nota para Bea")
            // Without a fallback it just fails; nothing went to +34600000120 at all.
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 3") == "failed")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE fallback_of = 3") == "0")

            // 3. The client writes on WhatsApp: the window opens, free text goes.
            #expect(try await peer.send(TwilioPeer.sms("SMwa1", from: "whatsapp:+34600000120", "hola, ¿tengo cita?")).status == 200)
            #expect(try await db.waitUntil { try await db.scalar("SELECT count(*) FROM herald.whatsapp_window WHERE number = '+34600000120'") == "1" })
            #expect(try await db.scalar("SELECT channel || ' ' || from_address FROM herald.inbound") == "whatsapp +34600000120")
            try await db.execute("INSERT INTO herald.message (channel, recipient, template, locale, data) VALUES ('whatsapp', '+34600000120', 'note', 'es', '{\"name\": \"Dani\"}')")
            #expect(try await db.waitUntil { try await db.scalar("SELECT status FROM herald.message WHERE id = 5") == "sent" }, "\(herald.stderr)")
            let free = try #require(Self.sends(http, kind: "whatsapp").first { $0["To"] == "whatsapp:+34600000120" })
            #expect(free["Body"] == "Nota para Dani" && free["ContentSid"] == nil)

            // A reminder that went on WhatsApp is answered there: "1" confirms, recorded with channel whatsapp.
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, locale, data, subject_type, subject_id, status, sent_at, event_at)
                VALUES ('whatsapp', 'whatsapp:+34 600 000 120', 'visit.reminder', 'es', '{}', 'appointment', 'A-77', 'sent', now(), now() + interval '1 day')
                """)
            #expect(try await peer.send(TwilioPeer.sms("SMwa9", from: "whatsapp:+34600000120", "1")).status == 200)
            #expect(try await db.waitUntil { try await db.scalar("SELECT action || ' ' || channel || ' ' || subject_id FROM herald.answer") == "confirm whatsapp A-77" },
                    "\(herald.stderr)")

            // 4. No WhatsApp account (63003), reported in the status callback: one SMS, even
            //    when the callback comes twice; a late "delivered" is recorded, nothing more.
            let waSid = try #require(try await db.scalar("SELECT provider_message_id FROM herald.message WHERE id = 1"))
            #expect(try await peer.send(TwilioPeer.status(waSid, "failed", errorCode: "63003")).status == 200)
            #expect(try await peer.send(TwilioPeer.status(waSid, "failed", errorCode: "63003")).status == 200)
            #expect(try await db.waitUntil { try await db.scalar("SELECT status FROM herald.message WHERE fallback_of = 1") == "sent" }, "\(herald.stderr)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE fallback_of = 1") == "1")
            #expect(Self.sends(http, kind: "sms").first { $0["To"] == "+34600000101" }?["Body"] == "SMS: hola Ana, cita mañana\n a las 10")
            #expect(try await db.scalar("SELECT fallback_reason FROM herald.message WHERE fallback_of = 1")
                    == "WhatsApp message 1 undelivered: failed by the carrier (provider error 63003)")

            // 5. STOP on WhatsApp opts out of WhatsApp only; the confirmation goes on WhatsApp.
            #expect(try await peer.send(TwilioPeer.sms("SMwa2", from: "whatsapp:+34600000120", "STOP")).status == 200)
            #expect(try await db.waitUntil { try await db.scalar("SELECT string_agg(channel || ' ' || recipient, ',') FROM herald.opt_out") == "whatsapp +34600000120" })
            #expect(try await db.scalar("SELECT channel || ' ' || action || ' ' || source FROM herald.consent_event") == "whatsapp opt_out keyword")
            #expect(try await db.waitUntil { try await db.scalar("SELECT status || ' ' || channel FROM herald.message WHERE template = 'reply.stopped'") == "sent whatsapp" },
                    "\(herald.stderr)")
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, locale, data) VALUES
                  ('whatsapp', '+34600000120', 'note', 'es', '{"name": "Dani"}'), ('sms', '+34600000120', 'note', 'es', '{"name": "Dani"}')
                """)
            #expect(try await db.waitUntil {
                try await db.scalar("SELECT string_agg(channel || ' ' || status, ',' ORDER BY id) FROM herald.message WHERE id > 7 AND template = 'note'")
                    == "whatsapp suppressed,sms sent"
            }, "\(herald.stderr)")

            // explain says which went and why.
            let explained = try await HeraldProcess.run(["explain", "1", "--config", config])
            #expect(explained.1.contains("fell back to SMS message"), "\(explained.1)")
            herald.signal(SIGTERM)
            #expect(await herald.wait(timeout: .seconds(20)) == 0, "\(herald.stderr)")
            #expect(!herald.stderr.contains(token))
        }
    }

    @Test func noDeliveredReceiptInTimeSendsOneSMSAcrossRestartsAndALateDeliveryIsRecorded() async throws {
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let token = "tok-secret"
            let config = try Self.config(db, http, token: token, fallbackAfter: "1m")
            try await Self.templates(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone, preference, whatsapp_consent) VALUES ('eva', 'Eva', '+34 600 000 130', 'whatsapp', true);
                INSERT INTO herald.message (channel, recipient, template, locale, data, fallback, contact_id) VALUES
                  ('whatsapp', '+34600000130', 'visit', 'es', '{"name": "Eva", "when": "hoy"}', 'sms', 'eva');
                """)
            func daemon() throws -> HeraldProcess { try HeraldProcess(["run", "--config", config]) }
            // The WhatsApp goes; the daemon dies before any receipt or timeout.
            var herald = try daemon()
            #expect(try await db.waitUntil { try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "sent" }, "\(herald.stderr)")
            herald.signal(SIGKILL)
            _ = await herald.wait(timeout: .seconds(10))
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE fallback_of = 1") == "0")
            // Two minutes later (moved back in time): the next daemon sends the SMS, once, to a
            // client who prefers WhatsApp (the fallback passes that preference).
            try await db.execute("UPDATE herald.message SET sent_at = now() - interval '2 minutes' WHERE id = 1")
            herald = try daemon()
            #expect(try await db.waitUntil { try await db.scalar("SELECT status FROM herald.message WHERE fallback_of = 1") == "sent" }, "\(herald.stderr)")
            herald.signal(SIGKILL)
            _ = await herald.wait(timeout: .seconds(10))
            #expect(try await db.scalar("SELECT fallback_reason FROM herald.message WHERE fallback_of = 1")
                    == "WhatsApp message 1: no delivered receipt within 00:01:00 of sending")
            // Restarted again, and asked directly: still one SMS.
            #expect(try await db.scalar("SELECT herald.fall_back(1, 'again') IS NULL") == "t")
            #expect(try await db.scalar("SELECT herald.fall_back_overdue(interval '1 minute')") == "0")
            herald = try daemon()
            defer { herald.signal(SIGKILL) }
            let port = await herald.port(\.listenerPort)
            #expect(port != nil)
            let waSid = try #require(try await db.scalar("SELECT provider_message_id FROM herald.message WHERE id = 1"))
            #expect(try await TwilioPeer(port: try #require(port), token: token).send(TwilioPeer.status(waSid, "read")).status == 200)
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "delivered", "a late delivery is recorded")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE fallback_of = 1") == "1")
            #expect(Self.sends(http, kind: "sms").count == 1 && Self.sends(http, kind: "whatsapp").count == 1)
            let explained = try await HeraldProcess.run(["explain", "2", "--config", config])
            #expect(explained.1.contains("SMS fallback of WhatsApp message 1: WhatsApp message 1: no delivered receipt"), "\(explained.1)")
            herald.signal(SIGTERM)
            _ = await herald.wait(timeout: .seconds(20))
        }
    }

    @Test func consentAndPreferenceDecideWhatsAppAndTheFallbackPassesOnlyPreference() async throws {
        try await TestDatabase.with { db in
            try await Self.templates(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, phone, preference, sms_consent, whatsapp_consent) VALUES
                  ('never-asked', '+34600000201', 'both', true, NULL),
                  ('said-no', '+34600000211', 'both', true, false),
                  ('sms-only', '+34600000221', 'sms', true, true),
                  ('wa-only', '+34600000231', 'whatsapp', true, true),
                  ('wa-no-sms', '+34600000241', 'whatsapp', false, true);
                INSERT INTO herald.message (channel, recipient, template, locale, data, contact_id, fallback)
                SELECT 'whatsapp', phone, 'visit', 'es', '{"name": "X", "when": "hoy"}', id, 'sms' FROM herald.contact ORDER BY id;
                INSERT INTO herald.message (channel, recipient, template, locale, data, contact_id)
                VALUES ('sms', '+34600000231', 'note', 'es', '{"name": "X"}', 'wa-only');
                """)
            let rows = try await db.query("""
                SELECT w.contact_id, w.status, coalesce(w.last_error, ''), coalesce(s.status || ': ' || coalesce(s.last_error, ''), 'no sms')
                  FROM herald.message w LEFT JOIN herald.message s ON s.fallback_of = w.id
                 WHERE w.channel = 'whatsapp' ORDER BY w.contact_id
                """).rows.map { $0.map { $0 ?? "" }.joined(separator: " | ") }
            #expect(rows == [
                "never-asked | suppressed | contact never-asked has not opted in to whatsapp (whatsapp_consent is not set) | pending: ",
                "said-no | suppressed | contact said-no has not opted in to whatsapp (whatsapp_consent is false) | pending: ",
                "sms-only | suppressed | contact sms-only prefers sms, not whatsapp | pending: ",
                "wa-no-sms | pending |  | no sms",
                "wa-only | pending |  | no sms",
            ])
            // A plain SMS to a client who prefers WhatsApp is suppressed; the fallback of their
            // WhatsApp is not, unless they refused SMS.
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE channel = 'sms' AND fallback_of IS NULL") == "suppressed")
            try await db.execute("UPDATE herald.message SET status = 'failed', last_error = 'x' WHERE channel = 'whatsapp' AND contact_id IN ('wa-only', 'wa-no-sms')")
            #expect(try await db.query("""
                SELECT s.contact_id || ' ' || s.status || ' ' || coalesce(s.last_error, '') FROM herald.message s WHERE s.fallback_of IS NOT NULL
                   AND s.contact_id IN ('wa-only', 'wa-no-sms') ORDER BY s.contact_id
                """).rows.map { $0[0] ?? "" } == ["wa-no-sms suppressed contact wa-no-sms has not consented to sms", "wa-only pending "])
            // The view lists WhatsApp for those asked about it.
            #expect(try await db.scalar("SELECT string_agg(contact_id || ' ' || reason, ',' ORDER BY contact_id) FROM herald.unreachable WHERE channel = 'whatsapp'")
                    == "said-no contact_settings,sms-only contact_settings")
        }
    }

    @Test func theFallbackKeepsItsTimeFollowsTheContactAndNeverSpeaksOfAChangedBooking() async throws {
        try await TestDatabase.with { db in
            try await Self.templates(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, phone, preference, whatsapp_consent) VALUES
                  ('ahead', '+34600000301', 'both', NULL), ('moves', '+34600000311', 'whatsapp', true), ('gone', '+34600000321', 'whatsapp', true);
                -- A reminder for in two days, postponed an hour, to a client not opted in to WhatsApp.
                INSERT INTO herald.message (channel, recipient, template, locale, data, contact_id, fallback, send_at, postpone)
                VALUES ('whatsapp', '+34600000301', 'visit', 'es', '{"name": "A", "when": "x"}', 'ahead', 'sms', now() + interval '2 days', interval '1 hour');
                -- A message planned from an event, following its contact.
                INSERT INTO herald.message (channel, recipient, template, locale, data, contact_id, fallback, event_id, follows_contact)
                VALUES ('whatsapp', '+34600000311', 'visit', 'es', '{"name": "M", "when": "x"}', 'moves', 'sms', 1, true);
                -- Sent WhatsApp messages whose booking is then cancelled, or stays.
                INSERT INTO herald.message (channel, recipient, template, locale, data, contact_id, fallback, subject_type, subject_id, status, sent_at)
                VALUES ('whatsapp', '+34600000321', 'visit', 'es', '{"name": "G", "when": "x"}', 'gone', 'sms', 'appointment', 'A-9', 'sent', now()),
                       ('whatsapp', '+34600000321', 'visit', 'es', '{"name": "G", "when": "x"}', 'gone', 'sms', 'appointment', 'A-8', 'sent', now());
                """)
            // 1. The SMS keeps the WhatsApp's time: not sent two days early.
            #expect(try await db.scalar("""
                SELECT s.send_at = w.send_at AND s.postpone = w.postpone AND s.next_attempt_at > now() + interval '2 days'
                  FROM herald.message s JOIN herald.message w ON w.id = s.fallback_of WHERE w.contact_id = 'ahead'
                """) == "t")
            // 2. The contact's phone removed: the WhatsApp is suppressed, no SMS, and the update goes through.
            try await db.execute("UPDATE herald.contact SET phone = NULL WHERE id = 'moves'")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE contact_id = 'moves' AND channel = 'whatsapp'") == "suppressed")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE contact_id = 'moves' AND channel = 'sms'") == "0")
            // 3. A booking cancelled after its WhatsApp went: a late failure makes no SMS; the other booking's does.
            try await db.execute("SELECT herald.record_event('appointment', 'A-9', 'cancelled')")
            try await db.execute("UPDATE herald.message SET status = 'undelivered', last_error = '63003' WHERE contact_id = 'gone'")
            #expect(try await db.scalar("SELECT string_agg(w.subject_id || ' ' || coalesce(s.status, 'no sms'), ',' ORDER BY w.subject_id) FROM herald.message w LEFT JOIN herald.message s ON s.fallback_of = w.id WHERE w.contact_id = 'gone' AND w.channel = 'whatsapp'")
                    == "A-8 pending,A-9 no sms")
            // 4. WhatsApp delivered after all while its SMS still waits: the SMS is withdrawn.
            try await db.execute("UPDATE herald.message SET status = 'delivered' WHERE id = 1")
            #expect(try await db.scalar("SELECT status || ': ' || last_error FROM herald.message WHERE fallback_of = 1")
                    == "cancelled: cancelled: WhatsApp message 1 was delivered after all")
            // The subject's feed says which went and why.
            #expect(try await db.scalar("SELECT string_agg(channel || ': ' || coalesce(fallback, '-'), ' | ' ORDER BY message_id) FROM herald.subject_feed WHERE subject_id = 'A-8'")
                    == "whatsapp: fell back to SMS message 6 | sms: SMS fallback of WhatsApp message 5: WhatsApp message 5 undelivered: 63003")
            // A reply on WhatsApp finds the reminder it answers by the number's key, whatever
            // the form the recipient was written in; the same number on SMS does not.
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, locale, data, subject_type, subject_id, status, sent_at, event_at)
                VALUES ('whatsapp', 'whatsapp:+34 600 000 401', 'visit.reminder', 'es', '{}', 'appointment', 'A-7', 'sent', now(), now() + interval '1 day')
                """)
            #expect(try await db.scalar("SELECT herald.answerable_reminder('whatsapp', 'whatsapp:+34600000401') = max(id) FROM herald.message") == "t")
            #expect(try await db.scalar("SELECT herald.answerable_reminder('sms', '+34600000401') IS NULL") == "t")
            // 5. A rule that sends SMS anyway may not also fall back to SMS.
            await #expect(throws: (any Error).self) {
                try await db.execute("INSERT INTO herald.rule (name, subject_type, on_event, template, channels, fallback) VALUES ('r', 'appointment', 'created', 'visit', '{whatsapp,sms}', 'sms')")
            }
            try await db.execute("INSERT INTO herald.rule (name, subject_type, on_event, template, channels, fallback) VALUES ('r', 'appointment', 'created', 'visit', '{whatsapp,email}', 'sms')")
        }
    }

    @Test func aFallbackNotMadeIsSaidOnceAndTheTimeoutMovesOn() async throws {
        try await TestDatabase.with { db in
            try await Self.templates(db)
            try await db.execute("""
                INSERT INTO herald.rule (name, subject_type, on_event, template, channels, fallback) VALUES ('wa', 'appointment', 'created', 'visit', '{whatsapp}', 'sms');
                SELECT herald.record_event('appointment', 'A-5', 'created');
                SELECT herald.record_event('appointment', 'A-6', 'created');
                SELECT herald.record_event('appointment', 'A-4', 'created');
                INSERT INTO herald.message (channel, recipient, template, locale, data, fallback, subject_type, subject_id, status, sent_at, event_id, rule_name)
                SELECT 'whatsapp', '+3460000050' || n, 'visit', 'es', '{"name": "x", "when": "y"}', 'sms', 'appointment', 'A-' || n, 'sent',
                       now() - interval '10 minutes' + n * interval '1 second', (SELECT id FROM herald.event WHERE subject_id = 'A-' || n), 'wa'
                  FROM generate_series(4, 6) n;
                -- The business declines A-5 after its WhatsApp went (a status change, not a cancellation).
                SELECT herald.record_event('appointment', 'A-5', 'status_changed', status => 'rejected');
                """)
            // One at a time: A-4 gets its SMS; A-5's is not made and says why; then A-6 is next, not A-5 again.
            #expect(try await db.scalar("SELECT herald.fall_back_overdue(interval '1 minute', 1)") == "1")
            #expect(try await db.scalar("SELECT herald.fall_back_overdue(interval '1 minute', 1)") == "0")
            #expect(try await db.scalar("SELECT herald.fall_back_overdue(interval '1 minute', 1)") == "1")
            #expect(try await db.scalar("SELECT herald.fall_back_overdue(interval '1 minute', 1)") == "0")
            #expect(try await db.scalar("SELECT fallback FROM herald.subject_feed WHERE subject_id = 'A-5'")
                    == "no SMS: appointment A-5 was cancelled, moved, declined or sent back to approval after this message was made")
            #expect(try await db.scalar("SELECT string_agg(subject_id, ',' ORDER BY subject_id) FROM herald.message WHERE fallback_of IS NOT NULL") == "A-4,A-6")
            // The rule's fallback turned off: the SMS still waiting is blocked at claim with the
            // reason, and a later failure makes none.
            try await db.execute("UPDATE herald.rule SET fallback = NULL WHERE name = 'wa'")
            let blocked = try await db.scalar("SELECT \(MessageStore.blockSQL("m")) FROM herald.message m WHERE m.subject_id = 'A-6' AND m.channel = 'sms'")
            #expect(blocked == "rule wa no longer falls back to SMS")
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, locale, data, fallback, status, sent_at, rule_name)
                VALUES ('whatsapp', '+34600000509', 'visit', 'es', '{}', 'sms', 'sent', now(), 'wa');
                UPDATE herald.message SET status = 'undelivered' WHERE recipient = '+34600000509';
                """)
            #expect(try await db.scalar("SELECT fallback_reason FROM herald.message WHERE recipient = '+34600000509'") == "no SMS: rule wa no longer falls back to SMS")
        }
    }
}
