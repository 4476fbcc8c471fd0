import Foundation
import Testing

/// Issue 27: SendGrid's and Mailgun's event webhooks against the real daemon's listener,
/// signed by `Peers/email_events.py` as each provider documents it (ECDSA P-256 with
/// Python's `cryptography`; HMAC-SHA256): applied once each, and a wrong, stale or
/// tampered signature refused with nothing stored.
@Suite struct EmailEventTests {
    struct Job: Encodable {
        var `do` = "post"
        var url: String
        var provider: String
        var key: String
        var body: JSONValue
        var tamper = "none"
        var token: String?
    }

    /// Enough JSON to write the providers' bodies.
    indirect enum JSONValue: Encodable {
        case text(String), number(Int), list([JSONValue]), object([String: JSONValue])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let s): try container.encode(s)
            case .number(let n): try container.encode(n)
            case .list(let l): try container.encode(l)
            case .object(let o): try container.encode(o)
            }
        }
    }

    static func post(_ job: Job) async throws -> Int {
        let data = try await runPeerScriptInBackground("email_events.py", input: try JSONEncoder().encode(job))
        let reply = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return reply?["status"] as? Int ?? -1
    }

    static func sendGrid(_ event: String, _ id: String, smtpID: String, email: String, extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["event": .text(event), "sg_event_id": .text(id), "smtp-id": .text(smtpID), "email": .text(email),
                 "timestamp": .number(1_796_000_000)].merging(extra) { $1 })
    }

    @Test func providerEventsAreVerifiedAndAppliedOnce() async throws {
        let keys = try JSONSerialization.jsonObject(with: try await runPeerScriptInBackground("email_events.py", input: Data(#"{"do":"keygen"}"#.utf8))) as? [String: String]
        let (privateKey, publicKey) = (try #require(keys?["private"]), try #require(keys?["public"]))
        try await TestDatabase.with { db in
            let dir = try temporaryDirectory()
            try publicKey.write(to: dir.appendingPathComponent("sendgrid"), atomically: true, encoding: .utf8)
            try "key-3ax6xnjp29jd6fds4gc373sgvjxteol0".write(to: dir.appendingPathComponent("mailgun"), atomically: true, encoding: .utf8)
            let config = try writeConfig("""
                [database]
                url = "\(db.url)"
                [http]
                listen = "127.0.0.1:0"
                public_url = "https://herald.example.com"
                sendgrid_public_key_file = "\(dir.appendingPathComponent("sendgrid").path)"
                mailgun_signing_key_file = "\(dir.appendingPathComponent("mailgun").path)"
                [channels.email]
                driver = "file"
                directory = "\(dir.appendingPathComponent("out").path)"
                """)
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, data, status, provider_message_id) VALUES
                    ('email', 'ana@example.com', 't', '{}', 'sent', '<herald.1.1.aaaa@sol.example>'),
                    ('email', 'luis@example.com', 't', '{}', 'sent', '<herald.2.1.bbbb@sol.example>'),
                    ('email', 'eva@example.com', 't', '{}', 'sent', '<herald.3.1.cccc@sol.example>'),
                    ('email', 'leo@example.com', 't', '{}', 'sent', '<herald.4.1.dddd@sol.example>');
                INSERT INTO herald.message (channel, recipient, template, data, send_at) VALUES ('email', 'Ana@Example.com', 't', '{}', now() + interval '1 day');
                """)
            let herald = try HeraldProcess(["run", "--config", config])
            defer { herald.signal(SIGKILL) }
            let port = await herald.port(\.listenerPort)
            #expect(port != nil, "\(herald.stderr)")
            let base = "http://127.0.0.1:\(try #require(port))"

            let events = JSONValue.list([
                Self.sendGrid("bounce", "sg-1", smtpID: "<herald.1.1.aaaa@sol.example>", email: "ana@example.com",
                              extra: ["type": .text("bounce"), "status": .text("5.1.1"), "reason": .text("550 5.1.1 The email account that you tried to reach does not exist")]),
                Self.sendGrid("spamreport", "sg-2", smtpID: "<herald.2.1.bbbb@sol.example>", email: "luis@example.com"),
                Self.sendGrid("delivered", "sg-3", smtpID: "<herald.3.1.cccc@sol.example>", email: "eva@example.com"),
                Self.sendGrid("deferred", "sg-4", smtpID: "<herald.3.1.cccc@sol.example>", email: "eva@example.com", extra: ["response": .text("421 try later")]),
            ])
            let sendGrid = Job(url: base + "/webhooks/sendgrid/events", provider: "sendgrid", key: privateKey, body: events)
            for tamper in ["signature", "stale", "body"] {
                var forged = sendGrid
                forged.tamper = tamper
                #expect(try await Self.post(forged) == 403, "tampered: \(tamper)")
            }
            #expect(try await db.scalar("SELECT count(*) FROM herald.mail_feedback") == "0")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status <> 'sent'") == "1")  // only the pending one

            #expect(try await Self.post(sendGrid) == 200)
            #expect(try await Self.post(sendGrid) == 200)  // SendGrid retries: applied once
            #expect(try await db.scalar("SELECT string_agg(kind || ' ' || result, '; ' ORDER BY id) FROM herald.mail_feedback")
                    == "hard_bounce undelivered; address undeliverable; complaint opted out of email; soft_bounce soft bounce recorded")
            #expect(try await db.scalar("SELECT string_agg(status, ',' ORDER BY id) FROM herald.message") == "undelivered,sent,sent,sent,suppressed")
            #expect(try await db.scalar("SELECT source || ' ' || recipient FROM herald.opt_out") == "complaint luis@example.com")
            #expect(try await db.scalar("SELECT last_error FROM herald.message WHERE id = 1")
                    == "bounced, the address does not exist: 5.1.1 SendGrid: 550 5.1.1 The email account that you tried to reach does not exist")

            // Mailgun: the message id without brackets, as Mailgun reports it.
            let failed = JSONValue.object([
                "event": .text("failed"), "id": .text("mg-1"), "severity": .text("permanent"), "reason": .text("bounce"),
                "recipient": .text("leo@example.com"),
                "message": .object(["headers": .object(["message-id": .text("herald.4.1.dddd@sol.example")])]),
                "delivery-status": .object(["code": .number(550), "message": .text("No such user"), "description": .text("")]),
            ])
            let mailgun = Job(url: base + "/webhooks/mailgun/events", provider: "mailgun", key: "key-3ax6xnjp29jd6fds4gc373sgvjxteol0", body: failed)
            var wrong = mailgun
            wrong.tamper = "signature"
            #expect(try await Self.post(wrong) == 403)
            var stale = mailgun
            stale.tamper = "stale"
            #expect(try await Self.post(stale) == 403)
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 4") == "sent")
            #expect(try await Self.post(mailgun) == 200)
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 4") == "undelivered")
            #expect(try await db.scalar("SELECT reason FROM herald.undeliverable WHERE recipient = 'leo@example.com'") == "hard_bounce")
            let complained = JSONValue.object([
                "event": .text("complained"), "id": .text("mg-2"), "recipient": .text("eva@example.com"),
                "message": .object(["headers": .object(["message-id": .text("herald.3.1.cccc@sol.example")])]),
            ])
            var signed = Job(url: mailgun.url, provider: "mailgun", key: mailgun.key, body: complained)
            signed.token = "3a1f0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a"
            #expect(try await Self.post(signed) == 200)
            #expect(try await Self.post(signed) == 200)  // Mailgun's retry of the same event
            #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out WHERE source = 'complaint'") == "2")
            // The same signature (timestamp and token) on another body: refused, nothing stored.
            var lifted = signed
            lifted.body = .object(["event": .text("complained"), "id": .text("mg-forged"), "recipient": .text("ana@example.com"),
                                   "message": .object(["headers": .object(["message-id": .text("herald.1.1.aaaa@sol.example")])])])
            #expect(try await Self.post(lifted) == 403)
            #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out WHERE source = 'complaint'") == "2")
            #expect(try await db.scalar("SELECT count(*) FROM herald.mail_feedback WHERE event_key = 'mg-forged'") == "0")
            herald.signal(SIGTERM)
            #expect(await herald.wait(timeout: .seconds(20)) == 0, "\(herald.stderr)")
        }
    }
}
