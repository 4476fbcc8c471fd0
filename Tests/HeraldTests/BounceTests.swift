import Foundation
import Testing

/// Issue 27: bounces and complaints end to end: reports built with Python's `email`
/// package (`Peers/mail_reports.py`, which makes the bounce token on its own from the key),
/// read by the real `herald ingest-mail` against a real PostgreSQL; bounce addresses sent
/// through a real SMTP server.
@Suite struct BounceTests {
    static let key = "5e1ec7ed0123456789abcdef"

    struct Spec: Encodable {
        var style: String
        var id: Int
        var recipient: String
        var status: String = "5.1.1"
        var action: String = "failed"
        var diagnostic: String = "smtp; 550 5.1.1 User unknown"
        var token: String = "to"
        var key: String = BounceTests.key
        var mac: String?
        var feedback: String?
        var final: String?
    }

    /// The reports as files, in order.
    static func reports(_ specs: [Spec]) async throws -> [URL] {
        let data = try await runPeerScriptInBackground("mail_reports.py", input: try JSONEncoder().encode(specs))
        guard let encoded = try JSONSerialization.jsonObject(with: data) as? [String] else { throw TestSetupError("mail_reports.py printed no list") }
        let dir = try temporaryDirectory()
        return try encoded.enumerated().map { index, text in
            let file = dir.appendingPathComponent("report-\(index).eml")
            try Data(base64Encoded: text).unwrap("report \(index) is not base64").write(to: file)
            return file
        }
    }

    /// A database with the key, two contacts and email message 1 to Ana (sent), 2 to Ana (pending, later), 3 to Luis (sent).
    static func prepare(_ db: TestDatabase) async throws -> String {
        try await db.execute("""
            INSERT INTO herald.secret (name, value) VALUES ('link_key', '\(key)');
            INSERT INTO herald.contact (id, name, email, phone) VALUES ('ana', 'Ana', 'Ana López <Ana@Example.com>', '+34611111111'),
                                                                 ('luis', 'Luis', 'luis@example.com', '+34622222222');
            INSERT INTO herald.message (channel, recipient, template, data, contact_id, status) VALUES
                ('email', 'Ana López <Ana@Example.com>', 'appointment.reminder', '{}', 'ana', 'sent');
            INSERT INTO herald.message (channel, recipient, template, data, contact_id, send_at) VALUES
                ('email', 'Ana López <Ana@Example.com>', 'appointment.reminder', '{}', 'ana', now() + interval '1 day');
            INSERT INTO herald.message (channel, recipient, template, data, contact_id, status) VALUES
                ('email', 'luis@example.com', 'appointment.reminder', '{}', 'luis', 'sent');
            """)
        return try writeConfig("""
            [database]
            url = "\(db.daemonURL)"
            [channels.email]
            driver = "file"
            directory = "\(try temporaryDirectory().path)"
            bounce_address = "bounces@sol.example"
            """)
    }

    static func ingest(_ config: String, _ report: URL, recipient: String? = nil) async throws -> (Int32, String, String) {
        try await HeraldProcess.run(["ingest-mail", "--config", config] + (recipient.map { ["--recipient", $0] } ?? []), stdin: report)
    }

    @Test func aHardBounceMakesTheMessageUndeliveredAndTheAddressUndeliverableUntilLifted() async throws {
        try await TestDatabase.with { db in
            let config = try await Self.prepare(db)
            let files = try await Self.reports([Spec(style: "postfix", id: 1, recipient: "ana@example.com")])
            let first = try await Self.ingest(config, files[0])
            #expect(first.0 == 0, "\(first.2)")
            #expect(first.1 == "message 1 to ana@example.com: hard bounce 5.1.1: undelivered; address undeliverable\n")
            let again = try await Self.ingest(config, files[0])
            #expect(again.1.hasSuffix(": already recorded\n"), "\(again)")

            let rows = try await db.query("SELECT id, status, coalesce(last_error, '') FROM herald.message ORDER BY id").rows
            #expect(rows[0][1] == "undelivered" && rows[0][2] == "bounced, the address does not exist: 5.1.1 smtp; 550 5.1.1 User unknown")
            #expect(rows[1][1] == "suppressed" && rows[1][2] == "email ana@example.com is undeliverable (hard bounce): 5.1.1 smtp; 550 5.1.1 User unknown")
            #expect(rows[2][1] == "sent")
            #expect(try await db.scalar("SELECT count(*) FROM herald.mail_feedback") == "1")
            #expect(try await db.scalar("SELECT reason || ' ' || message_id FROM herald.unreachable WHERE contact_id = 'ana'") == "hard_bounce 1")
            #expect(try await db.scalar("SELECT count(*) FROM herald.unreachable WHERE contact_id = 'luis'") == "0")

            // Later messages to the address are suppressed on insert, in any written form…
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('email', ' ANA@example.com ', 't', '{}')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 4") == "suppressed")
            // …what is pending for an address when it is recorded is suppressed…
            try await db.execute("""
                DELETE FROM herald.undeliverable;
                INSERT INTO herald.message (channel, recipient, template, data) VALUES ('email', 'ana@example.com', 't', '{}');
                INSERT INTO herald.undeliverable (channel, recipient, reason, detail) VALUES ('email', 'Ana@Example.com', 'hard_bounce', 'by hand');
                """)
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 5") == "suppressed")
            // …and the claim holds back one that became pending without the triggers seeing it
            // (back from a lease, or written with triggers off).
            try await db.execute("""
                SET session_replication_role = replica;
                UPDATE herald.message SET status = 'pending', last_error = NULL, next_attempt_at = now() WHERE id = 5;
                """)
            let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", config])
            #expect(run.0 == 0, "\(run.2)")
            #expect(try await db.scalar("SELECT status || ': ' || last_error FROM herald.message WHERE id = 5")
                    == "suppressed: email ana@example.com is undeliverable (hard bounce): by hand")
            // Lifted by an operator: messages go again.
            try await db.query("DELETE FROM herald.undeliverable WHERE channel = 'email' AND recipient = 'ana@example.com'")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('email', 'ana@example.com', 't', '{}')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 6") == "pending")
            #expect(try await db.scalar("SELECT count(*) FROM herald.unreachable WHERE contact_id = 'ana'") == "0")
        }
    }

    @Test func aBouncedAddressThatChangesIsReachableAgain() async throws {
        try await TestDatabase.with { db in
            let config = try await Self.prepare(db)
            let files = try await Self.reports([Spec(style: "provider", id: 1, recipient: "ana@example.com")])
            #expect(try await Self.ingest(config, files[0]).0 == 0)
            #expect(try await db.scalar("SELECT reason FROM herald.unreachable WHERE contact_id = 'ana' AND channel = 'email'") == "hard_bounce")
            try await db.query("UPDATE herald.contact SET email = 'ana.lopez@example.com' WHERE id = 'ana'")
            #expect(try await db.scalar("SELECT count(*) FROM herald.unreachable WHERE contact_id = 'ana'") == "0")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data, contact_id) VALUES ('email', 'ana.lopez@example.com', 't', '{}', 'ana')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 4") == "pending")
        }
    }

    @Test func aComplaintOptsTheAddressOutOfEmailThroughTheLedger() async throws {
        try await TestDatabase.with { db in
            let config = try await Self.prepare(db)
            // A feedback loop sends the report to its own registered address: the token is the original envelope sender.
            let files = try await Self.reports([Spec(style: "arf", id: 3, recipient: "luis@example.com", token: "mailfrom")])
            let run = try await Self.ingest(config, files[0])
            #expect(run.0 == 0 && run.1 == "message 3 to luis@example.com: complaint: opted out of email\n", "\(run)")
            #expect(try await db.scalar("SELECT source || ' ' || recipient FROM herald.opt_out") == "complaint luis@example.com")
            #expect(try await db.scalar("SELECT action || ' ' || source FROM herald.consent_event WHERE recipient = 'luis@example.com'") == "opt_out complaint")
            #expect(try await db.scalar("SELECT reason FROM herald.unreachable WHERE contact_id = 'luis'") == "complaint")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 3") == "sent")  // a complaint is not a failed delivery
        }
    }

    @Test func otherShapesSoftBouncesAndForgeries() async throws {
        try await TestDatabase.with { db in
            let config = try await Self.prepare(db)
            let files = try await Self.reports([
                // Exim: Status 5.0.0 and the mailbox's absence in words; the token only in the returned headers.
                Spec(style: "exim", id: 3, recipient: "luis@example.com", status: "5.0.0", diagnostic: "smtp; 550 unknown user", token: "original"),
                Spec(style: "postfix", id: 1, recipient: "ana@example.com", status: "4.4.1", action: "delayed", diagnostic: "connect timed out"),
                Spec(style: "postfix", id: 1, recipient: "ana@example.com", mac: "0123456789abcdef0123"),  // a made-up token
                Spec(style: "postfix", id: 1, recipient: "ana@example.com", key: "not the key"),  // signed with another key
                Spec(style: "postfix", id: 99, recipient: "ana@example.com"),  // no such message
                Spec(style: "autoreply", id: 1, recipient: "ana@example.com"),
                // A list expanded: the mailbox that does not exist is not the one the email went to.
                Spec(style: "postfix", id: 1, recipient: "ana@example.com", final: "gone@members.example"),
            ])
            // Still being sent (its outcome not recorded): the mail server is asked to come back.
            try await db.query("UPDATE herald.message SET status = 'sending' WHERE id = 3")
            let early = try await Self.ingest(config, files[0])
            #expect(early.0 == 75 && early.2.contains("still being sent"), "\(early)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.mail_feedback") == "0")
            try await db.query("UPDATE herald.message SET status = 'sent' WHERE id = 3")
            let exim = try await Self.ingest(config, files[0])
            #expect(exim.1 == "message 3 to luis@example.com: hard bounce 5.0.0: undelivered; address undeliverable\n", "\(exim)")
            let soft = try await Self.ingest(config, files[1])
            #expect(soft.1 == "message 1 to ana@example.com: soft bounce 4.4.1: soft bounce recorded\n", "\(soft)")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "sent")
            for file in files[2...4] {
                let forged = try await Self.ingest(config, file)
                #expect(forged.0 == 0 && forged.1 == "" && forged.2.contains("refused: the bounce token"), "\(forged)")
            }
            let reply = try await Self.ingest(config, files[5])
            #expect(reply.0 == 0 && reply.2.contains("nothing recorded: not a delivery report"), "\(reply)")
            // A token given as the envelope recipient is read first.
            let forgedEnvelope = try await Self.ingest(config, files[2], recipient: "bounces+b1-1-0123456789abcdef0123@sol.example")
            #expect(forgedEnvelope.2.contains("refused"))
            let list = try await Self.ingest(config, files[6])
            #expect(list.1 == "message 1 to ana@example.com: failed 5.1.1: undelivered\n", "\(list)")
            #expect(try await db.scalar("SELECT string_agg(kind || ' ' || message_id, ', ' ORDER BY id) FROM herald.mail_feedback") == "hard_bounce 3, soft_bounce 1, failed 1")
            #expect(try await db.scalar("SELECT string_agg(status, ',' ORDER BY id) FROM herald.message") == "undelivered,pending,undelivered")
            #expect(try await db.scalar("SELECT string_agg(recipient, ',') FROM herald.undeliverable") == "luis@example.com")
        }
    }

    @Test func anUnreachableDatabaseAsksTheMailServerToTryAgain() async throws {
        let files = try await Self.reports([Spec(style: "postfix", id: 1, recipient: "ana@example.com")])
        let config = try writeConfig("[database]\nurl = \"postgresql://herald@127.0.0.1:\(closedPort())/herald\"\n[channels.email]\ndriver = \"file\"\nbounce_address = \"bounces@sol.example\"\n")
        let run = try await Self.ingest(config, files[0])
        #expect(run.0 == 75, "\(run)")
        #expect(run.2.contains("try again later"))
        let bad = try await HeraldProcess.run(["check-config", "--config",
                                               try writeConfig("[channels.email]\ndriver = \"file\"\nbounce_address = \"bounces+x@sol.example\"\n")])
        #expect(bad.0 == 78 && bad.2.contains("bounce_address") && bad.2.contains("must be an address such as bounces@your-domain"), "\(bad)")
    }

    @Test func eachEmailGoesOutWithItsOwnBounceAddress() async throws {
        let smtp = try await Peer.start("smtp_server.py")
        try await TestDatabase.with { db in
            let dir = try temporaryDirectory()
            try "s3cret pass".write(to: dir.appendingPathComponent("pw"), atomically: true, encoding: .utf8)
            let config = try writeConfig("""
                [database]
                url = "\(db.url)"
                [quiet_hours]
                email = "off"
                [scheduling]
                minimum_lead = "0s"
                [channels.email]
                driver = "smtp"
                url = "smtp://127.0.0.1:\(smtp.port)"
                username = "herald"
                password_file = "\(dir.appendingPathComponent("pw").path)"
                from = "Sol <citas@sol.example>"
                ca_file = "\(smtp.file("cert.pem").path)"
                bounce_address = "bounces@sol.example"
                """)
            try await db.execute("INSERT INTO herald.secret (name, value) VALUES ('link_key', '\(Self.key)')")
            #expect(try await HeraldProcess.run(["templates", "install-defaults", "--config", config]).0 == 0)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, locale, data) VALUES
                ('email', 'Ana López <Ana@Example.com>', 'appointment.confirmed', 'es', '{"client":{"name":"Ana"},"location":{"name":"Sol"},"event_at":"2026-12-15T12:00:00Z"}')
                """)
            let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", config])
            #expect(run.0 == 0, "\(run.2)")
            let status = try await db.scalar("SELECT status || coalesce(': ' || last_error, '') FROM herald.message WHERE id = 1")
            #expect(status == "sent", "\(status ?? "")")
            let mailFrom = smtp.mails().first?["mail_from"] as? String ?? ""
            // Python makes the same address from the key on its own.
            let report = try await Self.reports([Spec(style: "postfix", id: 1, recipient: "ana@example.com")])
            let text = try String(contentsOf: report[0], encoding: .utf8)
            #expect(mailFrom.hasPrefix("bounces+b1-1-") && text.contains("To: \(mailFrom)"), "\(mailFrom)")
            // The mail server hands the bounce over: the message is undelivered.
            let ingest = try await Self.ingest(config, report[0], recipient: mailFrom)
            #expect(ingest.1.contains("undelivered; address undeliverable"), "\(ingest)")
        }
    }
}

extension Optional {
    func unwrap(_ why: String) throws -> Wrapped {
        guard let value = self else { throw TestSetupError(why) }
        return value
    }
}
