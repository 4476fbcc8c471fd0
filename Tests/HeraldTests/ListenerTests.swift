import Foundation
import HeraldCore
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import HeraldPostgres
import Logging
import Prometheus
import Testing

/// The HTTP listener over TCP against the real database: Twilio's requests signed by
/// Twilio's own package, forged ones refused with nothing stored.
@Suite struct ListenerTests {
    @Test func signedRepliesAreStoredOnceAndForgedOnesNeverAre() async throws {
        try await TestDatabase.with { db in
            let registry = PrometheusCollectorRegistry()
            try await withListener(db, registry: registry) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let good = TwilioPeer.sms("SM100", from: "+34 600 00 00 01", "Hola, ¿puedo cambiar la hora?")
                let first = try await peer.send(good)
                #expect(first.status == 200 && first.body.contains("<Response>"))
                #expect(try await peer.send(good).status == 200, "Twilio's retry of the same message")
                var forged = [good, good, good, good, good]
                forged[0].sign = "none"
                forged[1].sign = "wrong-token"
                forged[2].sign = "url:https://attacker.example.com/hooks"
                forged[3].sign = "tamper"
                forged[4].headers = ["X-Twilio-Signature": "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA="]
                for (i, var request) in forged.enumerated() {
                    request.params["MessageSid"] = "SMF\(i)"
                    #expect(try await peer.send(request).status == 403, "forged request \(i)")
                }
                var huge = good
                huge.params["MessageSid"] = "SMBIG"
                huge.params["Body"] = String(repeating: "x", count: 70_000)
                #expect(try await peer.send(huge).status == 413)
                // A declared length over the limit is refused at once, without waiting for the body.
                let liar = TwilioPeer.Request(raw_request: "POST /webhooks/twilio/inbound HTTP/1.1\r\nHost: h\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\nBody=x")
                #expect(try await peer.send([liar], timeout: 5).first?.status == 413)
                var long = good
                long.params["MessageSid"] = "SMLONG"
                long.params["Body"] = String(repeating: "ñ", count: 5000)
                #expect(try await peer.send(long).status == 200)
                #expect(try await db.scalar("SELECT octet_length(body) <= 4096 AND octet_length(body) > 4000 FROM herald.inbound WHERE provider_id = 'SMLONG'") == "t",
                        "a signed body is still capped before it is stored")
                try await db.query("DELETE FROM herald.inbound WHERE provider_id = 'SMLONG'")
                var garbage = good
                garbage.raw_body = "Body=%zz"
                #expect(try await peer.send(garbage).status == 400)

                let rows = try await db.query("SELECT provider, provider_id, from_address, to_address, body FROM herald.inbound").named
                #expect(rows.count == 1)
                #expect(rows.first.map { [$0["provider"], $0["provider_id"], $0["from_address"], $0["to_address"], $0["body"]] }
                        == ["twilio", "SM100", "+34600000001", "+34911000000", "Hola, ¿puedo cambiar la hora?"])
                let text = registry.emitToString()
                #expect(text.contains(#"herald_http_requests_total{endpoint="twilio_inbound",result="forbidden"} 5"#))
                #expect(text.contains(#"herald_http_requests_total{endpoint="twilio_inbound",result="duplicate"} 1"#))
                #expect(text.contains(#"herald_http_requests_total{endpoint="twilio_inbound",result="too_large"} 2"#))
            }
        }
    }

    @Test func withoutAnAuthTokenEveryTwilioRequestIsRefused() async throws {
        try await TestDatabase.with { db in
            try await withListener(db, token: nil) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.send(TwilioPeer.sms("SM1", from: "+34600000001", "STOP")).status == 403)
                #expect(try await db.scalar("SELECT count(*) FROM herald.inbound") == "0")
            }
        }
    }

    @Test func receiptsMoveSentMessagesForwardOnlyInAnyOrder() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, status, sent_at, provider_message_id) VALUES
                  ('sms', '+34600000001', 't', 'sent', now(), 'SMA'), ('sms', '+34600000002', 't', 'sent', now(), 'SMB'),
                  ('sms', '+34600000003', 't', 'sent', now(), 'SMC')
                """)
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let replies = try await peer.send([
                    TwilioPeer.status("SMA", "delivered"), TwilioPeer.status("SMA", "sent"), TwilioPeer.status("SMA", "delivered"),
                    TwilioPeer.status("SMB", "undelivered", errorCode: "30003"), TwilioPeer.status("SMB", "delivered"),
                    TwilioPeer.status("SMC", "queued"), TwilioPeer.status("SMC", "sent"),
                    TwilioPeer.status("SMX", "delivered"),
                ])
                #expect(replies.map(\.status) == Array(repeating: 200, count: 8))
                var forged = TwilioPeer.status("SMC", "delivered")
                forged.sign = "wrong-token"
                #expect(try await peer.send(forged).status == 403)
            }
            let rows = try await db.query("""
                SELECT provider_message_id AS sid, status, delivered_at IS NOT NULL AS has_time, coalesce(last_error, '-') AS error
                  FROM herald.message ORDER BY id
                """).named
            #expect(rows.map { [$0["sid"], $0["status"], $0["has_time"]] } == [["SMA", "delivered", "t"], ["SMB", "undelivered", "f"], ["SMC", "sent", "f"]])
            #expect(rows[1]["error"] == "undelivered by the carrier (provider error 30003)")
            // A receipt for a message Herald has not recorded yet waits, and is applied once it is.
            #expect(try await db.scalar("SELECT count(*) FROM herald.receipt WHERE applied_at IS NULL") == "1")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, status, sent_at, provider_message_id) VALUES ('sms', '+34600000004', 't', 'sent', now(), 'SMX')")
            let daemon = PostgresConnection(connectionString: db.daemonURL)
            try await daemon.connect()
            let report = try await Stores(connection: daemon).inbound.applyReceipts()
            #expect(report == .init(settled: 1, waiting: 0, unknown: 0))
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE provider_message_id = 'SMX'") == "delivered")
            // One never matched is marked unknown after an hour.
            try await db.query("INSERT INTO herald.receipt (provider, provider_message_id, status, received_at) VALUES ('twilio', 'SMZ', 'delivered', now() - interval '2 hours')")
            #expect(try await Stores(connection: daemon).inbound.applyReceipts() == .init(settled: 0, waiting: 0, unknown: 1))
            // Retention removes applied receipts with the old messages.
            try await db.query("UPDATE herald.receipt SET applied_at = now() - interval '100 days' WHERE provider_message_id = 'SMZ'")
            _ = try await daemon.query("SELECT herald.prune('30 days', 100)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.receipt WHERE provider_message_id = 'SMZ'") == "0")
            #expect(try await db.scalar("SELECT count(*) FROM herald.receipt") == "8")
            await daemon.close()
        }
    }

    @Test func oneClickUnsubscribeOptsOutOnPostOnlyAndRefusesTamperedTokens() async throws {
        try await TestDatabase.with { db in
            let key = Array("a-key-for-tests-that-is-long-enough".utf8)
            let links = UnsubscribeLinks(publicURL: "https://herald.example.com/hooks", key: key)
            try await db.addTemplate(key: "t", channel: "email", subject: "s")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, send_at) VALUES ('email', 'Ana López <Ana@Example.es>', 't', now() + interval '1 day')")
            let url = links.url(messageID: 1, channel: .email, recipient: "Ana López <Ana@Example.es>")
            let path = String(url.dropFirst("https://herald.example.com/hooks".count))
            try await withListener(db, key: key) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let page = try await peer.get(path, headers: ["Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"])
                #expect(page.status == 200)
                #expect(page.body.contains(#"<html lang="fr">"#) && page.body.contains("ana@example.es") && page.body.contains(#"<form method="post">"#))
                #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "0", "a GET (a mail scanner) changes nothing")

                let oneClick = TwilioPeer.Request(path: path, sign: "none", raw_body: "List-Unsubscribe=One-Click")
                let done = try await peer.send(oneClick)
                #expect(done.status == 200 && done.body.contains("ana@example.es"))
                #expect(try await peer.send(oneClick).status == 200, "twice is the same")
                var tampered = path
                let index = tampered.index(tampered.startIndex, offsetBy: "/unsubscribe/v1.".count + 2)
                tampered.replaceSubrange(index...index, with: tampered[index] == "A" ? "B" : "A")
                let refused = try await peer.send(TwilioPeer.Request(path: tampered, sign: "none", raw_body: "List-Unsubscribe=One-Click"))
                #expect(refused.status == 400 && refused.body.contains("not valid"))
                #expect(try await peer.get("/unsubscribe/v1.abc.def", headers: ["Accept-Language": "es"]).body.contains("no es válido"))
            }
            // A link whose message retention has pruned still works: the recipient is in the token.
            let orphan = links.url(messageID: 987_654, channel: .email, recipient: "luis@example.es")
            try await withListener(db, key: key) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let path = String(orphan.dropFirst("https://herald.example.com/hooks".count))
                #expect(try await peer.send(TwilioPeer.Request(path: path, sign: "none", raw_body: "List-Unsubscribe=One-Click")).status == 200)
            }
            #expect(try await db.scalar("SELECT reason FROM herald.opt_out WHERE recipient = 'luis@example.es'") == "one-click unsubscribe link (message 987654)")
            try await db.query("DELETE FROM herald.opt_out WHERE recipient = 'luis@example.es'")
            let row = try #require(try await db.query("SELECT channel, recipient, source, reason FROM herald.opt_out").named.first)
            #expect([row["channel"], row["recipient"], row["source"], row["reason"]]
                    == ["email", "ana@example.es", "unsubscribe", "one-click unsubscribe link (message 1)"])
            #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "1")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "suppressed")
            #expect(try await db.scalar("SELECT source FROM herald.consent_event") == "unsubscribe")
        }
    }

    @Test func healthNeedsTheDatabaseAndTheSchemaAndMetricsAgreeWithStatus() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 3)
            try await db.query("INSERT INTO herald.message (channel, recipient, template, status) VALUES ('email', 'a@example.com', 't', 'failed')")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000009', 'host')")
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.get("/healthz").status == 200)
                let metrics = try await peer.get("/metrics")
                #expect(metrics.status == 200)
                let (status, json, _) = try await HeraldProcess.run(["status", "--json"], environment: ["HERALD_DATABASE_URL": db.url])
                #expect(status == 0)
                let report = try JSONDecoder().decode(StatusReport.self, from: Data(json.utf8))
                #expect(!report.counts.isEmpty)
                for count in report.counts {
                    #expect(metrics.body.contains("herald_messages{channel=\"\(count.channel)\",status=\"\(count.status)\"} \(count.count)"),
                            "\(count.channel) \(count.status)")
                }
                #expect(metrics.body.contains(#"herald_opted_out{channel="sms"} 1"#))
                #expect(metrics.body.contains("herald_database_up 1"))
                try await db.query("DELETE FROM herald.schema_migrations WHERE version = \(Migration.latestVersion)")
                let stale = try await peer.get("/healthz")
                #expect(stale.status == 503 && stale.body.contains("herald migrate"))
            }
        }
    }

    @Test func withoutTheDatabaseTheListenerAnswers503AtOnce() async throws {
        let settings = ListenerSettings(host: "127.0.0.1", port: 0, publicURL: "https://herald.example.com/hooks", twilioAuthToken: "12345")
        let registry = PrometheusCollectorRegistry()
        let listener = HTTPListener(settings: settings, databaseURL: "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2",
                                    registry: registry, unsubscribeKey: nil, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        try await runAlone(listener) { () async throws -> Void in
            let peer = TwilioPeer(port: try #require(await listener.boundPort()))
            // Timed around each request by the client (its start-up excluded: on a loaded
            // machine that alone took over a minute once).
            let reply = try await peer.send(TwilioPeer.sms("SM1", from: "+34600000001", "STOP"))
            #expect(reply.status == 503 && reply.seconds < 5, "\(reply.status) after \(reply.seconds) s")
            let health = try await peer.get("/healthz")
            #expect(health.status == 503 && health.seconds < 5, "\(health.status) after \(health.seconds) s")
            let metrics = try await peer.get("/metrics")
            #expect(metrics.status == 200 && metrics.body.contains("herald_database_up 0"))
        }
    }

    @Test func aBurstOfAThousandConcurrentRepliesLosesNothing() async throws {
        try await TestDatabase.with { db in
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let requests = (0..<1000).map { TwilioPeer.sms("SMB\($0)", from: "+3460000\(String(format: "%04d", $0))", "reply \($0)") }
                let replies = try await peer.send(requests, concurrency: 64)
                #expect(replies.filter { $0.status == 200 }.count == 1000)
                #expect(try await db.scalar("SELECT count(DISTINCT provider_id) FROM herald.inbound") == "1000")
            }
        }
    }
}
