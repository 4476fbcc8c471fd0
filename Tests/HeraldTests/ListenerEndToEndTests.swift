import Foundation
import Testing

/// What an operator sets up: `herald run` with `[http]` on, Twilio and SMTP providers; the
/// provider is told where to report delivery, each email carries its own one-click link,
/// and both come back to the listener.
@Suite struct ListenerEndToEndTests {
    @Test func statusCallbackAndUnsubscribeLinksPointAtTheListenerAndWork() async throws {
        let smtp = try await Peer.start("smtp_server.py")
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let dir = try temporaryDirectory()
            try "twilio-auth-Zq9".write(to: dir.appendingPathComponent("twilio"), atomically: true, encoding: .utf8)
            let path = try DeliveryEndToEndTests().config(db, smtp: smtp, http: http, extra: """
                [http]
                listen = "127.0.0.1:0"
                public_url = "https://herald.example.com/hooks"
                twilio_auth_token_file = "\(dir.appendingPathComponent("twilio").path)"
                """)
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            let data = #"{"client":{"name":"Lucía"},"location":{"name":"Peluquería Sol"},"event_at":"2026-12-15T12:00:00Z"}"#
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data) VALUES
                ('sms', '+15005550001', 'appointment.confirmed', 'es', 'Europe/Madrid', $1::jsonb),
                ('email', 'Lucía <Lucia@Example.es>', 'appointment.confirmed', 'es', 'Europe/Madrid', $1::jsonb)
                """, [data])
            let herald = try HeraldProcess(["run", "--config", path])
            defer { herald.signal(SIGKILL) }
            var port: Int?
            let ready = try await db.waitUntil {
                port = herald.listenerPort
                guard port != nil else { return false }
                return try await db.statusCounts() == ["sent": 2]
            }
            #expect(ready, "\(herald.stderr)")
            let peer = TwilioPeer(port: try #require(port), token: "twilio-auth-Zq9")

            let sms = try #require(http.requests().first { $0["kind"] as? String == "sms" }?["form"] as? [String: String])
            #expect(sms["StatusCallback"] == "https://herald.example.com/hooks/webhooks/twilio/status")
            let sid = try #require(try await db.scalar("SELECT provider_message_id FROM herald.message WHERE channel = 'sms'"))
            #expect(try await peer.send(TwilioPeer.status(sid, "delivered")).status == 200)
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE channel = 'sms'") == "delivered")

            let headers = try #require(smtp.mails().first?["headers"] as? [String: String])
            #expect(headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
            let link = try #require(headers["List-Unsubscribe"]?.firstMatch(of: /<https:\/\/herald\.example\.com\/hooks(\/unsubscribe\/v1\.[A-Za-z0-9_.-]+)>/)?.1)
            let done = try await peer.send(TwilioPeer.Request(path: String(link), sign: "none", raw_body: "List-Unsubscribe=One-Click"))
            #expect(done.status == 200)
            #expect(try await db.scalar("SELECT source || ' ' || recipient FROM herald.opt_out") == "unsubscribe lucia@example.es")

            herald.signal(SIGTERM)
            #expect(await herald.wait(timeout: .seconds(20)) == 0, "\(herald.stderr)")
            #expect(!herald.stderr.contains("twilio-auth-Zq9"), "the auth token never appears in the log")
        }
    }
}
