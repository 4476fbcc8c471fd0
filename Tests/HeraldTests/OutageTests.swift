import Foundation
import Testing

/// The real binary through database outages on a server of the test's own: exactly once
/// while no process crashes, and a bounded exit on SIGTERM whatever the database does.
@Suite struct OutageTests {
    func config(_ db: TestDatabase, hook: Peer, seconds: Double, lease: String, grace: String, concurrency: Int = 4) throws -> String {
        let dir = try temporaryDirectory()
        try "hook-secret".write(to: dir.appendingPathComponent("hook"), atomically: true, encoding: .utf8)
        return try writeConfig("""
            [database]
            url = "\(db.url)"
            [worker]
            id = "outage-test"
            concurrency = \(concurrency)
            batch_size = 12
            poll_interval = "300ms"
            lease = "\(lease)"
            shutdown_grace = "\(grace)"
            [retry]
            base = "200ms"
            cap = "1s"
            [channels.webhook]
            driver = "webhook"
            url = "http://127.0.0.1:\(hook.port)/hook/slow?s=\(seconds)"
            secret_file = "\(dir.appendingPathComponent("hook").path)"
            """)
    }

    /// Deliveries per message, by the peer's own count of signed requests it accepted.
    func deliveries(_ hook: Peer) -> [String: Int] {
        var out: [String: Int] = [:]
        for request in hook.requests() where request["kind"] as? String == "hook" && request["status"] as? Int == 200 {
            out[request["message_id"] as? String ?? "?", default: 0] += 1
        }
        return out
    }

    /// A server of the test's own with `count` webhook messages, and the webhook peer.
    func outbox(_ count: Int) async throws -> (OwnPostgres, Peer, TestDatabase) {
        let server = try await OwnPostgres.start()
        let hook = try await Peer.start("http_provider.py")
        try await server.database.addTemplate(channel: "webhook", body: #"{"name":"{{name}}"}"#)
        try await server.database.enqueue(count: count, channel: "webhook")
        return (server, hook, server.database)
    }

    @Test func anOutageLongerThanTheLeaseSendsEachMessageExactlyOnce() async throws {
        let (server, hook, db) = try await outbox(12)
        // 3 s per delivery: the third round of deliveries starts 6 s after the claim, past the
        // lease's last renewal before the outage even when the server takes a while to stop
        // on a loaded machine, so some claims are always set aside as lapsed.
        let path = try config(db, hook: hook, seconds: 3, lease: "3s", grace: "10s")
        let herald = try HeraldProcess(["run", "--config", path, "--exit-when-idle"])
        // All 12 claimed in one batch, 4 being delivered: the database goes away for 8 s (> lease).
        #expect(try await db.waitUntil { try await db.statusCounts()["sending"] == 12 })
        try await Task.sleep(for: .milliseconds(300))
        try await server.stop()
        try await Task.sleep(for: .seconds(8))
        try await server.resume()
        let status = await herald.wait(timeout: .seconds(90))
        #expect(status == 0, "stderr: \(herald.stderr)")
        #expect(try await db.statusCounts() == ["sent": 12])
        let counts = deliveries(hook)
        #expect(counts.count == 12 && counts.values.allSatisfy { $0 == 1 }, "deliveries per message: \(counts); stderr: \(herald.stderr)")
        #expect(!herald.stderr.contains("taken over"), "the daemon took over its own leases: \(herald.stderr)")
        #expect(herald.stderr.contains("returned claims whose lease may have lapsed before they started"), "\(herald.stderr)")
        #expect(try await db.scalar("SELECT count(*) FROM herald.attempt WHERE outcome <> 'sent'") == "0")
        withExtendedLifetime(server) {}
    }

    @Test func sigtermWhileTheDatabaseIsDownExitsWithinTheGracePeriod() async throws {
        let (server, hook, db) = try await outbox(4)
        // Slots to spare: the claim loop keeps polling, so once the server is gone it is
        // inside the reconnect loop when the signal comes.
        let path = try config(db, hook: hook, seconds: 4, lease: "20s", grace: "2s", concurrency: 8)
        let herald = try HeraldProcess(["run", "--config", path])
        #expect(try await db.waitUntil { try await db.statusCounts()["sending"] == 4 })
        try await server.stop()
        try await Task.sleep(for: .seconds(1))
        let stopped = ContinuousClock.now
        herald.signal(SIGTERM)
        let status = await herald.wait(timeout: .seconds(25))
        let took = ContinuousClock.now - stopped
        #expect(status == 0, "stderr: \(herald.stderr)")
        #expect(took < .seconds(2 + 5), "exit took \(took); stderr: \(herald.stderr)")
        // What could not be returned stays leased and is recovered, as after a crash: nothing is lost.
        try await server.resume()
        let again = try await HeraldProcess.run(["run", "--config", path, "--exit-when-idle"], timeout: .seconds(60))
        #expect(again.0 == 0, "\(again.2)")
        #expect(try await db.statusCounts() == ["sent": 4])
        withExtendedLifetime(server) {}
    }

    @Test func aSecondDaemonWithTheSameWorkerIDRefusesToStart() async throws {
        try await TestDatabase.with { db in
            let hook = try await Peer.start("http_provider.py")
            try await db.addTemplate(channel: "webhook", body: #"{"name":"{{name}}"}"#)
            let path = try config(db, hook: hook, seconds: 0, lease: "30s", grace: "1s")
            let first = try HeraldProcess(["run", "--config", path])
            #expect(try await db.waitUntil {
                try await db.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "1"
            })
            let (status, _, stderr) = try await HeraldProcess.run(["run", "--config", path], timeout: .seconds(30))
            #expect(status == 1)
            #expect(stderr.contains("another herald is running with worker.id \"outage-test\""), "\(stderr)")
            first.signal(SIGTERM)
            #expect(await first.wait(timeout: .seconds(10)) == 0)
        }
    }
}
