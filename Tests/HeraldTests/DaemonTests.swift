import Foundation
import HeraldOutbox
import HeraldPostgres
import Testing

/// The real `herald` binary against a real PostgreSQL: signals, crashes, outages, systemd, CLI.
@Suite struct DaemonTests {
    func config(_ db: TestDatabase, out: URL, delay: String = "0s", grace: String = "10s", lease: String = "30s",
                concurrency: Int = 4, extra: String = "", url: String? = nil) throws -> String {
        try writeConfig("""
            [database]
            url = "\(url ?? db.url)"
            [worker]
            concurrency = \(concurrency)
            batch_size = 10
            poll_interval = "500ms"
            lease = "\(lease)"
            shutdown_grace = "\(grace)"
            [retry]
            base = "100ms"
            cap = "1s"
            [quiet_hours]
            sms = "off"
            [channels.sms]
            driver = "file"
            directory = "\(out.path)"
            delay = "\(delay)"
            \(extra)
            """)
    }

    @Test func sigtermLetsInFlightDeliveriesFinishAndExitsZero() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 12)
            let out = try temporaryDirectory()
            let herald = try HeraldProcess(["run", "--config", try config(db, out: out, delay: "1500ms")])
            // Some in flight (a claim marks its four at once; on a loaded machine a poll can miss
            // the moment all four are, and the SIGTERM would then land after the drain).
            #expect(try await db.waitUntil { (try await db.statusCounts()["sending"] ?? 0) > 0 })
            herald.signal(SIGTERM)
            let status = await herald.wait(timeout: .seconds(15))
            #expect(status == 0, "stderr: \(herald.stderr)")
            let counts = try await db.statusCounts()
            #expect(counts["sending"] == nil)
            // The 4 in flight finished (on a loaded machine the SIGTERM may land after more were
            // claimed: those finish too); nothing is left sending, the rest wait.
            let sent = counts["sent"] ?? 0
            #expect(sent >= 4 && sent + (counts["pending"] ?? 0) == 12, "\(counts)")
            // One journald line per outcome: priority prefix, message id first, channel, status, attempt, duration.
            let delivered = herald.stderr.split(separator: "\n").filter { $0.hasPrefix("<6>delivered message=") }
            #expect(delivered.count == sent, "stderr: \(herald.stderr)")
            #expect(delivered.allSatisfy { $0.contains(" channel=sms status=sent attempt=1 duration_ms=") })
            #expect(herald.stderr.contains("<5>stopping: waiting for deliveries in flight"))
            #expect(!herald.stderr.contains("Hello Ana"), "message bodies must not be logged")
        }
    }

    @Test func sigtermPastTheGracePeriodReturnsClaimsWithoutCountingThem() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 6)
            let out = try temporaryDirectory()
            let herald = try HeraldProcess(["run", "--config", try config(db, out: out, delay: "60s", grace: "500ms")])
            // One claim takes the whole batch (batch_size 10) although only 4 deliveries run at once.
            #expect(try await db.waitUntil { try await db.statusCounts()["sending"] == 6 })
            try await Task.sleep(for: .milliseconds(300))
            herald.signal(SIGINT)
            let status = await herald.wait(timeout: .seconds(10))
            #expect(status == 0, "stderr: \(herald.stderr)")
            let rows = try await db.query("SELECT status, attempts, locked_by FROM herald.message").rows
            #expect(rows.count == 6 && rows.allSatisfy { $0 == ["pending", "0", nil] }, "\(rows)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "0")
            // The 2 never started go back at once; the 4 being delivered when the grace period ends.
            #expect(herald.stderr.contains("<5>stopping: returned claimed messages not yet started to pending released=2"), "\(herald.stderr)")
            #expect(herald.stderr.contains("<4>grace period over; returned unfinished claims to pending without counting the attempt in_flight=4 released=4"),
                    "\(herald.stderr)")
        }
    }

    /// Concurrency 4: the four messages take every slot, so the claim loop waits idle and the
    /// stop reaches its give-back. Concurrency 8: the claim loop keeps claiming, so the stop
    /// finds it blocked in a claim on the silent database.
    @Test(arguments: [4, 8]) func aDatabaseSilentAtShutdownDoesNotHoldTheProcess(concurrency: Int) async throws {
        try await TestDatabase.with { db in
            let server = try #require(URLComponents(string: db.url)?.port)
            let proxy = try await Peer.start("tcp_proxy.py", arguments: [String(server)])
            var proxied = try #require(URLComponents(string: db.url))
            proxied.port = proxy.port
            try await db.addTemplate()
            try await db.enqueue(count: 4)
            let out = try temporaryDirectory()
            let herald = try HeraldProcess(["run", "--config", try config(db, out: out, delay: "60s", grace: "500ms",
                                                                          concurrency: concurrency, url: proxied.string)])
            #expect(try await db.waitUntil { try await db.statusCounts()["sending"] == 4 })
            // The database goes silent (a hung server behind a live kernel: every byte is
            // acknowledged, none answered), then the daemon is told to stop. Its services'
            // next statements block in libpq, and the give-back past the grace period gets no
            // answer: then every connection is cut, so that the process can end.
            #expect(FileManager.default.createFile(atPath: proxy.file("blackhole").path, contents: nil))
            try await Task.sleep(for: .seconds(1))
            herald.signal(SIGTERM)
            let status = await herald.wait(timeout: .seconds(30))
            #expect(status != nil, "still running 30 s after SIGTERM, its database silent: \(herald.stderr)")
            #expect(herald.stderr.contains(#"released="none: database unreachable""#), "\(herald.stderr)")
            #expect(!herald.stderr.contains("; retrying"), "the cut at exit is not an error to retry: \(herald.stderr)")
            herald.signal(SIGKILL)
            // What could not be returned stays leased, for lease expiry to recover.
            #expect(try await db.statusCounts() == ["sending": 4])
        }
    }

    @Test func killNineThenRestartLeavesEveryMessageTerminal() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 300)
            let out = try temporaryDirectory()
            let path = try config(db, out: out, delay: "30ms", lease: "2s", concurrency: 8)
            let first = try HeraldProcess(["run", "--config", path])
            #expect(try await db.waitUntil { (try await db.statusCounts()["sent"] ?? 0) >= 40 })
            first.signal(SIGKILL)
            #expect(await first.wait(timeout: .seconds(5)) != nil, "the daemon outlived SIGKILL")
            // The outcome it was writing when it died may still commit: count once its sessions end.
            try await db.endDaemonSessions()
            let stranded = try await db.statusCounts()["sending"] ?? 0
            let second = try HeraldProcess(["run", "--config", path, "--exit-when-idle"])
            let status = await second.wait(timeout: .seconds(60))
            #expect(status == 0, "stderr: \(second.stderr)")
            #expect(try await db.statusCounts() == ["sent": 300])
            // Duplicates are bounded by what was in flight at the kill.
            let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("sms").path).filter { $0.hasSuffix(".json") }
            let distinct = Set(files.map { $0.split(separator: "-").first! })
            #expect(distinct.count == 300)
            // (messages `sending` at the kill: being delivered, or delivered with the outcome
            // not yet written; at most 3 × batch_size + concurrency).
            #expect(stranded <= 3 * 10 + 8, "stranded \(stranded)")
            #expect(files.count - 300 <= stranded, "duplicates \(files.count - 300) exceed the \(stranded) in flight")
            let expired = Int(try await db.scalar("SELECT count(*) FROM herald.attempt WHERE outcome = 'lease_expired'") ?? "0") ?? 0
            #expect(expired == stranded, "stranded \(stranded), lease_expired \(expired)")
        }
    }

    @Test func postgresRestartMidRunIsSurvived() async throws {
        // A server of its own, so stopping it does not disturb the other tests.
        let server = try await OwnPostgres.start()
        let db = server.database
        try await db.addTemplate()
        try await db.enqueue(count: 1000)
        let out = try temporaryDirectory()
        let herald = try HeraldProcess(["run", "--config", try config(db, out: out, delay: "20ms", lease: "5s"), "--exit-when-idle"])
        #expect(try await db.waitUntil { (try await db.statusCounts()["sent"] ?? 0) >= 50 })
        try await server.stop()
        try await Task.sleep(for: .seconds(3))
        try await server.resume()
        let status = await herald.wait(timeout: .seconds(90))
        #expect(status == 0, "stderr: \(herald.stderr)")
        #expect(try await db.statusCounts() == ["sent": 1000])
        let outage = herald.stderr.split(separator: "\n").filter { $0.contains("database connection lost") }
        #expect(outage.count == 1, "the outage is logged once: \(herald.stderr)")
        #expect(herald.stderr.contains("database connection restored"))
        withExtendedLifetime(server) {}
    }

    @Test func readyStatusAndWatchdogGoToTheNotifySocket() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            let socket = try NotifySocket()
            let herald = try HeraldProcess(["run", "--config", try config(db, out: try temporaryDirectory())],
                                           environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "600000"])
            // Until READY (startup may be slow on a loaded machine), then 2 s of watchdog pings (every 300 ms).
            var received: [String] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while !received.contains(where: { $0.contains("READY=1") }) && ContinuousClock.now < deadline {
                received += try await socket.receive(for: .milliseconds(500))
            }
            received += try await socket.receive(for: .seconds(2))
            herald.signal(SIGTERM)
            #expect(await herald.wait(timeout: .seconds(10)) == 0)
            let ready = received.first { $0.contains("READY=1") }
            #expect(ready?.contains("STATUS=ready: worker ") == true, "received \(received)")
            #expect(received.filter { $0 == "WATCHDOG=1" }.count >= 3, "received \(received)")
        }
    }

    @Test func aBadConfigKeyStopsStartupWithOneLine() async throws {
        let path = try writeConfig("[worker]\nconcurency = 4\n")
        let (status, _, stderr) = try await HeraldProcess.run(["run", "--config", path])
        #expect(status == 78)
        #expect(stderr == "herald: configuration error: \(path): worker.concurency: unknown key; known keys in [worker]: id, concurrency, batch_size, poll_interval, lease, shutdown_grace\n")
        let (checkStatus, _, checkErr) = try await HeraldProcess.run(["check-config", "--config", path])
        #expect(checkStatus == 78 && checkErr.contains("worker.concurency"))
    }

    @Test func anOutdatedSchemaStopsStartupNamingTheFix() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let path = try config(db, out: try temporaryDirectory())
            let (status, _, stderr) = try await HeraldProcess.run(["run", "--config", path])
            #expect(status == 1)
            #expect(stderr.contains("run `herald migrate`"), "stderr: \(stderr)")
        }
    }

    @Test func enqueueStatusAndCheckConfigFromTheCommandLine() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(channel: "sms", body: "Hola {{name}}")
            let out = try temporaryDirectory()
            let path = try config(db, out: out)
            let (s1, id, e1) = try await HeraldProcess.run(["enqueue", "--config", path, "--channel", "sms", "--to", "+34600111222",
                                                            "--template", "t", "--data", #"{"name":"Lucía"}"#])
            #expect(s1 == 0, "\(e1)")
            #expect(id.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
            let (s2, _, e2) = try await HeraldProcess.run(["enqueue", "--config", path, "--channel", "sms", "--to", "+1",
                                                            "--template", "t", "--send-at", "2099-01-01T00:00:00Z", "--postpone", "1h"])
            #expect(s2 == 0, "\(e2)")
            #expect(try await db.scalar("SELECT next_attempt_at = '2099-01-01T01:00:00Z' FROM herald.message WHERE id = 2") == "t")
            try await db.query("SELECT herald.cancel(2, 'test')")
            let (s3, _, e3) = try await HeraldProcess.run(["run", "--config", path, "--exit-when-idle"])
            #expect(s3 == 0, "\(e3)")
            let sms = try String(contentsOf: out.appendingPathComponent("sms/1-1.json"), encoding: .utf8)
            #expect(sms.contains("Hola Lucía") && sms.contains("+34600111222"))
            let (s4, json, e4) = try await HeraldProcess.run(["status", "--config", path, "--json"])
            #expect(s4 == 0, "\(e4)")
            let report = try JSONDecoder().decode(StatusReport.self, from: Data(json.utf8))
            #expect(report.counts.map { "\($0.channel)/\($0.status)=\($0.count)" } == ["sms/cancelled=1", "sms/sent=1"])
            #expect(report.failedLastHour == 0 && report.oldestDueAgeSeconds == nil && report.schemaVersion >= 1)
            let (s5, text, _) = try await HeraldProcess.run(["status", "--config", path])
            #expect(s5 == 0 && text.contains("sms        sent         1"))
            let (s6, check, _) = try await HeraldProcess.run(["check-config", "--config", path, "--connect"])
            #expect(s6 == 0 && check.contains("configuration OK") && check.contains("channel sms: file; no quiet hours") && check.contains("channel email: no driver (messages wait); no quiet hours"))
            #expect(check.contains("backoff 100ms..1s with equal jitter (each delay ½ to 1 of its step)"), "\(check)")
        }
    }

    @Test func withNoURLLibpqDefaultsFromPGVariablesApply() async throws {
        try await TestDatabase.with { db in
            let url = try #require(URLComponents(string: db.url))
            let (status, out, err) = try await HeraldProcess.run(["status"], environment: [
                "HERALD_DATABASE_URL": "", "PGHOST": url.host!, "PGPORT": "\(url.port!)", "PGUSER": url.user!, "PGDATABASE": db.name,
            ])
            #expect(status == 0, "\(err)")
            #expect(out.contains("schema version \(Migration.latestVersion)"))
        }
    }
}
