import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldScheduling
import HeraldWorker
import Logging
import Testing

/// Hostile providers and careless hosts against the worker, a real PostgreSQL and a real
/// local HTTP peer: nothing they send may stall recording, crash the daemon or be lost.
@Suite struct HostileInputTests {
    func webhookWorker(_ db: TestDatabase) -> Worker {
        makeWorker(db, drivers: [.webhook: WebhookDriver(.init(secret: "hook-secret", allowPrivateAddresses: true))], concurrency: 8, batch: 20)
    }

    @Test func aNULBodyAndAnAbsurdRetryAfterNeitherStallNorBreakRecording() async throws {
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            try await db.addTemplate(channel: "webhook", body: #"{"name":"{{name}}"}"#)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data)
                SELECT 'webhook', format('http://127.0.0.1:%s/hook%s', $1::int, CASE WHEN g = 5 THEN '/nul-500' ELSE '' END), 't', '{"name":"Ana"}'
                  FROM generate_series(1, 30) g
                """, [http.port])
            try await drain(webhookWorker(db), timeout: .seconds(60))
            #expect(try await db.statusCounts() == ["sent": 29, "pending": 1])
            let row = try await db.query("""
                SELECT last_error, next_attempt_at > now() + interval '23 hours', next_attempt_at <= now() + interval '1 day', a.error, a.response_code
                  FROM herald.message m JOIN herald.attempt a ON a.message_id = m.id WHERE m.status = 'pending'
                """).rows
            #expect(row == [["webhook answered 500: bad request", "t", "t", "webhook answered 500: bad request", "500"]])
        }
    }

    @Test func aBodyStreamingGigabytesIsCutAtTheLimit() async throws {
        let http = try await Peer.start("http_provider.py")
        let started = ContinuousClock.now
        let driver = WebhookDriver(.init(url: "http://127.0.0.1:\(http.port)/hook/huge", secret: "hook-secret",
                                         throughput: Throughput(timeout: .seconds(60))))
        let message = RenderedMessage(id: 1, channel: .webhook, recipient: "x", template: "t", locale: "en", attempt: 1, subject: nil, body: "{}", html: nil)
        do {
            _ = try await driver.deliver(message)
            Issue.record("a 500 was taken for a success")
        } catch let error as DeliveryError {
            #expect(error.isTransient && error.code == "500" && error.reason.hasPrefix("webhook answered 500: xxxx"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(15), "the transfer stopped at the limit instead of reading 200 MB")
        // The peer saw the client hang up long before the end (what is written counts socket buffers too).
        let deadline = ContinuousClock.now + .seconds(10)
        while !http.requests().contains(where: { $0["kind"] as? String == "stream" }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let streamed = http.requests().first { $0["kind"] as? String == "stream" }?["bytes"] as? Int
        #expect(streamed.map { $0 < 50 * 1024 * 1024 } == true, "the peer wrote \(String(describing: streamed)) bytes")
    }

    @Test func infiniteAndAbsurdTimestampsFailOneMessageEachAndNeverTrap() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data, send_at, event_at, expires_at) VALUES
                ('sms', '+34600000001', 't', '{"name":"a"}', now(), NULL, 'infinity'),
                ('sms', '+34600000002', 't', '{"name":"b"}', now(), 'infinity', NULL),
                ('sms', '+34600000003', 't', '{"name":"c"}', '-infinity', NULL, NULL),
                ('sms', '+34600000004', 't', '{"name":"d"}', 'infinity', NULL, NULL),
                ('sms', '+34600000005', 't', '{"name":"e"}', now(), '200000-01-01', NULL),
                ('sms', '+34600000006', 't', '{"name":"f"}', now(), '-infinity', NULL)
                """)
            let driver = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: driver]))
            let rows = try await db.query("SELECT recipient, status, last_error FROM herald.message ORDER BY id").rows
            #expect(rows[0] == ["+34600000001", "sent", nil])
            #expect(rows[1] == ["+34600000002", "failed", "event_at is infinity; Herald schedules only real times (years 1 to 9999)"])
            #expect(rows[2] == ["+34600000003", "sent", nil])
            #expect(rows[3] == ["+34600000004", "failed", "send_at is infinity; Herald schedules only real times (years 1 to 9999)"])
            #expect(rows[4] == ["+34600000005", "failed", "event_at is outside the years 1 to 9999; Herald schedules only real times (years 1 to 9999)"])
            #expect(rows[5] == ["+34600000006", "failed", "event_at is -infinity; Herald schedules only real times (years 1 to 9999)"])
            #expect(driver.deliveries.count == 2)
        }
    }

    @Test func anOutcomeThatCannotBeStoredIsIsolatedAndTheRestAreRecorded() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 20)
            // Stands in for any statement error an outcome's content could cause.
            try await db.execute("ALTER TABLE herald.attempt ADD CONSTRAINT t_guard CHECK (error IS NULL OR error NOT LIKE '%P0ISON%')")
            let driver = ScriptedDriver { m, _ in
                if m.id == 7 { throw DeliveryError.transient("provider said P0ISON", code: "503") }
                return DeliveryReceipt(providerMessageID: "p-\(m.id)")
            }
            try await drain(makeWorker(db, drivers: [.sms: driver], concurrency: 8, batch: 20), timeout: .seconds(30))
            #expect(try await db.statusCounts() == ["sent": 19, "failed": 1])
            let row = try await db.query("SELECT m.id, m.last_error, a.outcome FROM herald.message m JOIN herald.attempt a ON a.message_id = m.id WHERE m.status = 'failed'").rows
            #expect(row.count == 1 && row[0][0] == "7" && row[0][2] == "failed", "\(row)")
            #expect(row.first?[1]?.hasPrefix("the outcome of attempt 1 (retry) could not be stored: new row for relation \"attempt\" violates check constraint \"t_guard\"") == true, "\(row)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "20")
            #expect(driver.deliveries.values.allSatisfy { $0 == 1 })
        }
    }

    @Test(arguments: [("HERALD_WORKER_LEASE", "1e30"), ("HERALD_WORKER_LEASE", "inf"), ("HERALD_RETRY_CAP", "1e400"), ("HERALD_WORKER_POLL_INTERVAL", "99999999999d")])
    func absurdDurationsStopStartupNamingTheKey(variable: String, value: String) async throws {
        let path = try writeConfig("[worker]\nconcurrency = 2\n")
        let (status, _, stderr) = try await HeraldProcess.run(["check-config", "--config", path], environment: [variable: value])
        let key = variable.dropFirst("HERALD_".count).lowercased().replacingOccurrences(of: "worker_", with: "worker.")
            .replacingOccurrences(of: "retry_", with: "retry.")
        #expect(status == 78, "\(stderr)")
        #expect(stderr == "herald: configuration error: environment: \(key): must be a duration from 0 to 3650d, such as \"250ms\", \"30s\", \"5m\", \"1h\"\n")
    }

    @Test func aMalformedDatabaseURLStopsStartupWithoutThePassword() async throws {
        let path = try writeConfig("[worker]\nconcurrency = 2\n")
        let url = "postgresql://herald:S3cr%zzET@127.0.0.1:\(closedPort())/herald"
        for command in [["run", "--config", path], ["check-config", "--config", path, "--connect"], ["status", "--config", path]] {
            let (status, stdout, stderr) = try await HeraldProcess.run(command, environment: ["HERALD_DATABASE_URL": url], timeout: .seconds(20))
            #expect(status == 78, "\(command): \(stderr)")
            #expect(!(stdout + stderr).contains("S3cr") && !(stdout + stderr).contains("zzET"), "\(stdout)\(stderr)")
            #expect(stderr.hasPrefix("herald: configuration error: \(path): database.url: cannot be parsed:"), "\(stderr)")
        }
        // A well-formed URL with a wrong password: the connection error never repeats it.
        let wrong = "postgresql://nobody:Wr0ngPa55@127.0.0.1:\(closedPort())/herald"
        let (status, stdout, stderr) = try await HeraldProcess.run(["check-config", "--config", path, "--connect"],
                                                                   environment: ["HERALD_DATABASE_URL": wrong], timeout: .seconds(20))
        #expect(status != 0 && !(stdout + stderr).contains("Wr0ngPa55"), "\(stdout)\(stderr)")
    }
}

/// A connection lost after the database committed an outcome but before Herald heard back.
@Suite struct CommittedOutcomeTests {
    @Test func anOutcomeCommittedJustBeforeTheConnectionDropsIsNotWrittenTwice() async throws {
        try await TestDatabase.with { db in
            let server = try #require(URLComponents(string: db.url)?.port)
            let proxy = try await Peer.start("tcp_proxy.py", arguments: [String(server)])
            try await db.addTemplate()
            try await db.enqueue(count: 3)
            // Writing message 2's outcome takes 1.5 s once: time to cut the connection while the
            // statement runs. The server finishes and commits it; the client never hears back.
            try await db.execute("""
                CREATE TABLE public.t_slow (id bigint);
                INSERT INTO public.t_slow VALUES (2);
                CREATE FUNCTION public.t_slow_attempt() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
                BEGIN
                    IF EXISTS (SELECT 1 FROM public.t_slow WHERE id = NEW.message_id) THEN
                        DELETE FROM public.t_slow WHERE id = NEW.message_id;
                        PERFORM pg_sleep(1.5);
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER t_slow AFTER INSERT ON herald.attempt FOR EACH ROW EXECUTE FUNCTION public.t_slow_attempt();
                """)
            var components = try #require(URLComponents(string: db.daemonURL))
            components.port = proxy.port
            let worker = Worker(databaseURL: try #require(components.string),
                                settings: WorkerSettings(workerID: "w-drop", concurrency: 4, batchSize: 10, pollInterval: .milliseconds(200),
                                                         lease: .seconds(30), shutdownGrace: .seconds(5), maxAttempts: 5,
                                                         backoff: Backoff(base: .milliseconds(50), cap: .seconds(1), jitter: false),
                                                         exitWhenIdle: true, scheduling: SchedulingPolicy(quietHours: [:])),
                                drivers: [.sms: ScriptedDriver()], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            let run = Task { try await drain(worker, timeout: .seconds(60)) }
            #expect(try await db.waitUntil {
                try await db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'", [db.name]) == "1"
            })
            #expect(FileManager.default.createFile(atPath: proxy.file("drop").path, contents: nil))
            try await run.value
            #expect((try? String(contentsOf: proxy.file("drops"), encoding: .utf8)) == "1", "the connection was cut once")
            #expect(try await db.statusCounts() == ["sent": 3])
            let attempts = try await db.query("SELECT message_id, outcome FROM herald.attempt ORDER BY message_id").rows
            #expect(attempts == [["1", "sent"], ["2", "sent"], ["3", "sent"]], "one attempt row each, none discarded: \(attempts)")
        }
    }
}
