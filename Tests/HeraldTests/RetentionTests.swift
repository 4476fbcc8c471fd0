import Foundation
import HeraldConfig
import HeraldCore
import HeraldPostgres
import HeraldWorker
import Logging
import Testing

@Suite struct RetentionTests {
    /// 8 old finished messages (with attempts), and 6 that must stay: pending, sending, recent.
    func seed(_ db: TestDatabase) async throws {
        try await db.addTemplate()
        try await db.execute("""
            INSERT INTO herald.message (channel, recipient, template, status, attempts)
            SELECT 'sms', '+3460000' || g, 't', s, 1
              FROM generate_series(1, 14) g,
                   LATERAL (SELECT (ARRAY['sent','sent','sent','sent','sent','failed','failed','suppressed',
                                          'pending','pending','sending','sent','failed','cancelled'])[g] AS s) x;
            INSERT INTO herald.attempt (message_id, number, started_at, finished_at, worker, driver, outcome)
            SELECT id, 1, now(), now(), 'w', 'file', 'sent' FROM herald.message;
            UPDATE herald.message SET updated_at = now() - interval '100 days' WHERE id <= 11;
            """)
    }

    @Test func pruneDeletesOldFinishedMessagesInBatchesAndNothingElse() async throws {
        try await TestDatabase.with { db in
            try await seed(db)
            let path = try writeConfig("[database]\nurl = \"\(db.url)\"")
            let dry = try await HeraldProcess.run(["prune", "--older-than", "90d", "--dry-run", "--config", path])
            #expect(dry.1 == "would delete 8 finished messages older than 90d\n", "\(dry.2)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message") == "14")

            let run = try await HeraldProcess.run(["prune", "--older-than", "90d", "--batch", "3", "--config", path])
            #expect(run.0 == 0, "\(run.2)")
            #expect(run.1.hasPrefix("deleted 8 finished messages older than 90d in 3 batches"), "\(run.1)")
            let left = try await db.query("SELECT id, status FROM herald.message ORDER BY id").rows.map { "\($0[0] ?? "") \($0[1] ?? "")" }
            #expect(left == ["9 pending", "10 pending", "11 sending", "12 sent", "13 failed", "14 cancelled"])
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "6")  // attempts went with their messages

            let again = try await HeraldProcess.run(["prune", "--older-than", "90d", "--config", path])
            #expect(again.1.hasPrefix("deleted 0 finished messages"))
            let unsaid = try await HeraldProcess.run(["prune", "--config", path])
            #expect(unsaid.0 == 64)
            #expect(unsaid.2.contains("say how old: --older-than 90d"))
        }
    }

    @Test func theDaemonPrunesOnItsOwnWithRetentionKeep() async throws {
        try await TestDatabase.with { db in
            try await seed(db)
            try await db.execute("UPDATE herald.message SET status = 'failed' WHERE status IN ('pending', 'sending')")
            var settings = WorkerSettings(workerID: "w", pollInterval: .milliseconds(100), lease: .seconds(2), exitWhenIdle: true,
                                          scheduling: .init(quietHours: [:]))
            settings.retention = .seconds(30 * 86_400)
            settings.pruneBatch = 4
            try await drain(Worker(databaseURL: db.daemonURL, settings: settings, drivers: [.sms: ScriptedDriver()],
                                   logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }))
            let left = try await db.scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM herald.message")
            #expect(left == "12,13,14")
        }
    }

    /// Bounce and abuse reports go with retention, as the daemon's role runs it, but never
    /// before 30 days (a provider's second delivery of a report must still find it); what a
    /// report did (the address undeliverable) stays.
    @Test func reportsOlderThanKeepGoButNeverBeforeThirtyDays() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.mail_feedback (source, event_key, kind, recipient, received_at) VALUES
                  ('dsn', 'a', 'hard_bounce', 'ana@example.es', now() - interval '100 days'),
                  ('dsn', 'b', 'soft_bounce', 'ana@example.es', now() - interval '40 days'),
                  ('arf', 'c', 'complaint', 'luis@example.es', now() - interval '10 days');
                INSERT INTO herald.undeliverable (channel, recipient, reason) VALUES ('email', 'ana@example.es', 'hard_bounce');
                """)
            let daemon = PostgresConnection(connectionString: db.daemonURL)
            try await daemon.connect()
            let left = { try await db.scalar("SELECT string_agg(event_key, ',' ORDER BY event_key) FROM herald.mail_feedback") }
            let prune = { (keep: String, batch: Int) in try await daemon.query("SELECT herald.prune($1::interval, $2)", [keep, batch]).rows.first?.first ?? nil }
            #expect(try await prune("1 hour", 1) == "0", "the count is of messages")
            #expect(try await left() == "b,c", "a batch of one report, the oldest")
            try await db.execute("INSERT INTO herald.mail_feedback (source, event_key, kind, recipient, received_at) VALUES ('dsn', 'a', 'hard_bounce', 'ana@example.es', now() - interval '100 days')")
            _ = try await prune("90 days", 100)
            #expect(try await left() == "b,c")
            _ = try await prune("1 hour", 100)
            #expect(try await left() == "c", "keep shorter than 30 days still keeps 30 days of reports")
            #expect(try await db.scalar("SELECT count(*) FROM herald.undeliverable") == "1")
            await daemon.close()
        }
    }

    @Test func retentionSettings() throws {
        let loader = ConfigurationLoader(environment: [:])
        #expect(try loader.parse("[retention]\nkeep = \"90d\"\nbatch = 500\ninterval = \"10m\"", file: "f").retention
                == Configuration.Retention(keep: .seconds(90 * 86_400), batch: 500, interval: .seconds(600)))
        #expect(try loader.parse("[retention]\nkeep = \"off\"", file: "f").retention.keep == nil)
        #expect(try loader.parse("", file: "f").retention.keep == nil)
        #expect(throws: ConfigError(file: "f", key: "retention.keep", reason: "must be at least 1h (or \"off\")")) {
            try loader.parse("[retention]\nkeep = \"5m\"", file: "f")
        }
        #expect(try ConfigurationLoader(environment: ["HERALD_RETENTION_KEEP": "30d"]).load(path: nil).retention.keep == .seconds(30 * 86_400))
    }
}
