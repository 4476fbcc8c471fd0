import Foundation
import Testing

/// The real binary, configured for SMTP, a Twilio-compatible API and webhooks, against local peers.
@Suite struct DeliveryEndToEndTests {
    func config(_ db: TestDatabase, smtp: Peer, http: Peer, extra: String = "") throws -> String {
        let dir = try temporaryDirectory()
        try "s3cret pass".write(to: dir.appendingPathComponent("smtp-password"), atomically: true, encoding: .utf8)
        try "tok-secret".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try "hook-secret".write(to: dir.appendingPathComponent("hook"), atomically: true, encoding: .utf8)
        return try writeConfig("""
            [database]
            url = "\(db.url)"
            [worker]
            poll_interval = "200ms"
            [retry]
            base = "200ms"
            cap = "1s"
            jitter = false
            [quiet_hours]
            sms = "off"
            [scheduling]
            minimum_lead = "0s"
            [channels.email]
            driver = "smtp"
            url = "smtp://127.0.0.1:\(smtp.port)"
            username = "herald"
            password_file = "\(dir.appendingPathComponent("smtp-password").path)"
            from = "Peluquería Sol <citas@sol.example>"
            ca_file = "\(smtp.file("cert.pem").path)"
            [channels.sms]
            driver = "twilio"
            base_url = "http://127.0.0.1:\(http.port)"
            account_sid = "ACtest"
            auth_token_file = "\(dir.appendingPathComponent("token").path)"
            from = "+34911000000"
            timeout = "2s"
            [channels.webhook]
            driver = "webhook"
            url = "http://127.0.0.1:\(http.port)/hook"
            secret_file = "\(dir.appendingPathComponent("hook").path)"
            \(extra)
            """)
    }

    @Test func messagesFlowThroughRealProvidersWithRetriesFailuresAndOptOuts() async throws {
        let smtp = try await Peer.start("smtp_server.py")
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let path = try config(db, smtp: smtp, http: http)
            let install = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            #expect(install.0 == 0, "\(install.2)")
            let data = #"{"client":{"name":"Lucía"},"location":{"name":"Peluquería Sol","address":"Calle Mayor 12"},"event_at":"2026-12-15T12:00:00Z","manage_url":"https://sol.example/m/1"}"#
            let order = #"{"client":{"name":"Sam"},"location":{"name":"FixIt"},"order":{"number":"WO-1","status":"ready"}}"#
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at) VALUES
                ('email', 'Lucía Fernández <lucia@example.es>', 'appointment.confirmed', 'es', 'Europe/Madrid', $1::jsonb, now()),
                ('sms', '+15005550001', 'appointment.reminder', 'es', 'Europe/Madrid', $1::jsonb, now()),
                ('sms', '+15005550004', 'appointment.reminder', 'es', 'Europe/Madrid', $1::jsonb, now()),
                ('sms', '+15005550006', 'appointment.reminder', 'es', 'Europe/Madrid', $1::jsonb, now()),
                ('sms', '+15005550006', 'appointment.reminder', 'es', 'Europe/Madrid', $1::jsonb, now() + interval '1 hour'),
                ('sms', '600111222', 'appointment.reminder', 'es', 'Europe/Madrid', $1::jsonb, now()),
                ('email', 'tempfail@example.es', 'appointment.confirmed', 'es', 'Europe/Madrid', $1::jsonb, now()),
                ('email', 'reject@example.es', 'appointment.confirmed', 'es', 'Europe/Madrid', $1::jsonb, now()),
                ('webhook', 'crm', 'work_order.status_changed', 'en', 'America/Toronto', $2::jsonb, now())
                """, [data, order])
            let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", path], timeout: .seconds(60))
            #expect(run.0 == 0, "\(run.2)")

            let rows = try await db.query("SELECT id, status, attempts, coalesce(last_error, ''), coalesce(provider_message_id, '') FROM herald.message ORDER BY id").rows
            func row(_ id: Int) -> [String?] { rows[id - 1] }
            #expect(row(1)[1] == "sent" && row(1)[4]?.hasSuffix("@sol.example>") == true)
            #expect(row(2)[1] == "sent" && row(2)[4]?.hasPrefix("SM") == true)
            #expect(row(3)[1] == "sent" && row(3)[2] == "2", "\(row(3))")
            #expect(row(4)[1] == "failed")
            #expect(row(4)[3] == "SMS provider answered 400, error 21610: Attempt to send to unsubscribed recipient. The carrier blocks this number since the client replied STOP: ask the client to reply START to this sender (an opt-in recorded in Herald does not lift it)")
            #expect(row(5)[1] == "suppressed", "\(row(5))")
            #expect(row(5)[3]?.hasPrefix("recipient opted out of sms: SMS provider answered 400, error 21610: Attempt to send to unsubscribed recipient. The carrier blocks") == true)
            #expect(row(6)[1] == "failed" && row(6)[3]?.hasPrefix("recipient \"600111222\" is not an E.164 phone number") == true)
            #expect(row(7)[1] == "sent" && row(7)[2] == "2", "\(row(7))")
            #expect(row(8)[1] == "failed" && row(8)[3]?.contains("550 5.1.1") == true, "\(row(8))")
            #expect(row(9)[1] == "sent", "\(row(9))")
            #expect(try await db.scalar("SELECT source || ' ' || recipient FROM herald.opt_out") == "provider +15005550006")
            // Enqueued after the opt-out: suppressed on insert, never claimed.
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+15005550006', 'appointment.reminder', '{}')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 10") == "suppressed")

            // What the providers received.
            let smsRequests = http.requests().filter { $0["kind"] as? String == "sms" }
            #expect(!smsRequests.contains { ($0["form"] as? [String: String])?["To"] == "600111222" })
            let reminder = try #require(smsRequests.first { ($0["form"] as? [String: String])?["To"] == "+15005550001" })
            #expect((reminder["form"] as? [String: String])?["Body"] == "Peluquería Sol: te recordamos tu cita del martes 15 de diciembre a las 13:00. Confirma o responde aquí: https://sol.example/m/1")
            let hook = try #require(http.requests().first { $0["kind"] as? String == "hook" })
            #expect(hook["verified"] as? Bool == true)
            #expect((hook["json"] as? [String: Any])?["type"] as? String == "work_order.status_changed")
            let mails = smtp.mails()
            #expect(mails.count == 2)
            let lucia = try #require(mails.first { ($0["rcpt_tos"] as? [String]) == ["lucia@example.es"] })
            #expect((lucia["headers"] as? [String: String])?["Subject"] == "Cita confirmada: martes 15 de diciembre a las 13:00")
            #expect(lucia["to_name"] as? String == "Lucía Fernández")
            // One line per outcome, and no secret in the log.
            #expect(!run.2.contains("s3cret") && !run.2.contains("tok-secret") && !run.2.contains("hook-secret"))
            #expect(run.2.contains("<4>delivery failed; will retry message=3 channel=sms status=pending attempt=1"), "\(run.2)")
        }
    }

    @Test func sendTestReportsTheProvidersAnswer() async throws {
        let smtp = try await Peer.start("smtp_server.py")
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let path = try config(db, smtp: smtp, http: http)
            let sms = try await HeraldProcess.run(["send-test", "--channel", "sms", "--to", "+15005550001", "--locale", "es", "--config", path])
            #expect(sms.0 == 0, "\(sms.2)")
            #expect(sms.1.hasPrefix("sent through twilio in "))
            #expect(sms.1.contains("provider id SM") && sms.1.contains("response 201"))
            let body = (http.requests().last?["form"] as? [String: String])?["Body"] ?? ""
            #expect(body.hasPrefix("Mensaje de prueba de Herald (sms) enviado desde "), "\(body)")

            let email = try await HeraldProcess.run(["send-test", "--channel", "email", "--to", "ops@example.es", "--config", path])
            #expect(email.0 == 0, "\(email.2)")
            #expect((smtp.mails().last?["headers"] as? [String: String])?["Subject"] == "Herald test")

            let refused = try await HeraldProcess.run(["send-test", "--channel", "sms", "--to", "+15005550002", "--config", path])
            #expect(refused.0 == 1)
            #expect(refused.2 == "herald: twilio: permanent failure: SMS provider answered 400, error 21211: The 'To' number +15005550002 is not a valid phone number. [code 21211]\n")

            let down = try await HeraldProcess.run(["send-test", "--channel", "sms", "--to", "+15005550001", "--config",
                                                    try writeConfig("[channels.sms]\ndriver = \"twilio\"\nbase_url = \"http://127.0.0.1:\(closedPort())\"\naccount_sid = \"AC\"\nauth_token_file = \"\(path)\"\nfrom = \"+34911000000\"")])
            #expect(down.0 == 1)
            #expect(down.2.contains("twilio: temporary failure (the worker would retry): SMS provider:"), "\(down.2)")
        }
    }
}
