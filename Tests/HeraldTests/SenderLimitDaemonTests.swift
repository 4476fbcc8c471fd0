import Foundation
import Testing

/// Per-sender rate limits through the real binary: two daemons sharing one database and a
/// Twilio-compatible peer that allows each `From` a fixed rate (burst 1) and answers 429
/// beyond it. The peer's tolerance is 300 to 400 ms here (50 ms in `deploy/bench`): the
/// suite runs these beside a hundred other tests on two cores, where a request can leave
/// that much later than its claim.
@Suite struct SenderLimitDaemonTests {
    static let data = #"{"client":{"name":"Lucía"},"location":{"name":"Peluquería Sol"},"event_at":"2026-12-15T12:00:00Z"}"#

    func config(_ db: TestDatabase, http: Peer, sms: String) throws -> String {
        let dir = try temporaryDirectory()
        try "tok-secret".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        return try writeConfig("""
            [database]
            url = "\(db.url)"
            [worker]
            poll_interval = "200ms"
            concurrency = 16
            batch_size = 50
            [retry]
            base = "200ms"
            cap = "1s"
            jitter = false
            [quiet_hours]
            sms = "off"
            [scheduling]
            minimum_lead = "0s"
            [channels.sms]
            driver = "twilio"
            base_url = "http://127.0.0.1:\(http.port)"
            account_sid = "ACtest"
            auth_token_file = "\(dir.appendingPathComponent("token").path)"
            from = "+34911000000"
            \(sms)
            """)
    }

    /// Arrival times at the peer by sender, and how many 429s it answered.
    func arrivals(_ http: Peer) -> (bySender: [String: [Double]], throttled: Int) {
        var bySender: [String: [Double]] = [:]
        var throttled = 0
        for r in http.requests() where r["kind"] as? String == "sms" {
            if r["status"] as? Int == 429 { throttled += 1; continue }
            guard let form = r["form"] as? [String: String], let at = r["at"] as? Double else { continue }
            bySender[form["From"] ?? "", default: []].append(at)
        }
        return (bySender.mapValues { $0.sorted() }, throttled)
    }

    @Test func twoDaemonsKeepEachSendersRateAndNoneIsThrottled() async throws {
        try await CPUGate.run {
            // 2 a second with 400 ms of tolerance: two requests of one sender 100 ms apart or
            // less are throttled. Each daemon knows when its own requests left, not when the
            // other's did; under the full suite one request left more than 150 ms late and
            // met the other daemon's next, on time (one 429 in about five full runs at 4 a
            // second with 150 ms). Without the limits the ten of a sender go at once.
            let http = try await Peer.start("http_provider.py", arguments: ["--per-from-rate", "2", "--tolerance-ms", "400"])
            try await TestDatabase.with { db in
                let path = try config(db, http: http, sms: "rate = 2")
                _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
                try await db.query("INSERT INTO herald.location (id, name, time_zone) SELECT 'loc-' || g, 'Sol ' || g, 'Europe/Madrid' FROM generate_series(0, 3) g")
                try await db.query("""
                    INSERT INTO herald.message (channel, recipient, template, locale, data, sender, location_id)
                    SELECT 'sms', '+1500555' || lpad(g::text, 3, '0') || '1', 'appointment.reminder', 'es', $1::jsonb,
                           '+3491100000' || (g % 4), 'loc-' || (g % 4)
                      FROM generate_series(1, 40) g
                    """, [Self.data])
                async let a = HeraldProcess.run(["run", "--exit-when-idle", "--config", path], timeout: .seconds(60))
                async let b = HeraldProcess.run(["run", "--exit-when-idle", "--config", path], timeout: .seconds(60))
                let (ra, rb) = try await (a, b)
                #expect(ra.0 == 0 && rb.0 == 0, "\(ra.2)\n\(rb.2)")
                let left = try await db.query("SELECT status, last_error FROM herald.message WHERE status <> 'sent' LIMIT 3").rows
                #expect(try await db.statusCounts() == ["sent": 40], "\(left)\n\(ra.2.suffix(3000))")
                let seen = arrivals(http)
                #expect(seen.throttled == 0, "429s: \(seen.throttled)")
                #expect(seen.bySender.count == 4 && seen.bySender.values.allSatisfy { $0.count == 10 })
                for (sender, times) in seen.bySender {
                    let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
                    #expect(gaps.allSatisfy { $0 >= 0.1 }, "\(sender): \(gaps)")
                }
                let both = try await db.scalar("SELECT count(DISTINCT worker) FROM herald.attempt") ?? "0"
                #expect(both == "2", "both daemons sent")
            }
        }
    }

    @Test func aProvidersTooManyRequestsHoldsBackThatSenderOnly() async throws {
        try await CPUGate.run {
            // The peer allows 2 a second per sender. +34911000009 has no configured rate: its
            // burst of 6 meets 429s, and it is held back; +34911000008 is configured at 2 a
            // second and goes on at its pace meanwhile.
            // 300 ms of tolerance: the limited sender's requests, 525 ms apart, may arrive up to
            // 300 ms closer under load; the unlimited sender's burst of six still meets 429s.
            let http = try await Peer.start("http_provider.py", arguments: ["--per-from-rate", "2", "--tolerance-ms", "300"])
            try await TestDatabase.with { db in
                let path = try config(db, http: http, sms: "[channels.sms.senders.\"+34911000008\"]\nrate = 2")
                _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
                try await db.query("""
                    INSERT INTO herald.message (channel, recipient, template, locale, data, sender)
                    SELECT 'sms', '+1500555' || lpad(g::text, 3, '0') || '1', 'appointment.reminder', 'es', $1::jsonb,
                           CASE WHEN g <= 6 THEN '+34911000009' ELSE '+34911000008' END
                      FROM generate_series(1, 12) g
                    """, [Self.data])
                let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", path], timeout: .seconds(60))
                #expect(run.0 == 0, "\(run.2)")
                let left = try await db.query("SELECT status, last_error FROM herald.message WHERE status <> 'sent' LIMIT 3").rows
                #expect(try await db.statusCounts() == ["sent": 12], "\(left)\n\(run.2.suffix(3000))")
                #expect(run.2.contains("the provider is throttling this sender; holding it back"), "\(run.2)")
                #expect(try await db.scalar("SELECT pause_reason FROM herald.sender_pace WHERE sender = '+34911000009'")?.contains("429") == true)
                var throttled: [String: Int] = [:]
                for r in http.requests() where r["status"] as? Int == 429 {
                    throttled[(r["form"] as? [String: String])?["From"] ?? "", default: 0] += 1
                }
                #expect(throttled["+34911000008"] == nil, "the configured sender is never throttled: \(throttled)")
                #expect((throttled["+34911000009"] ?? 0) <= 5, "after its burst, the throttled sender waits instead of hammering: \(throttled)")
                let paced = arrivals(http).bySender["+34911000008"] ?? []
                #expect(paced.count == 6 && (paced.last ?? 0) - (paced.first ?? 0) < 4, "not held back by the other's pause: \(paced)")
            }
        }
    }
}
