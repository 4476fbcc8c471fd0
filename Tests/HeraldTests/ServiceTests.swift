import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
@testable import HeraldWorker
import Logging
import ServiceLifecycle
import Testing

/// Each of the daemon's services started alone against the real database: what it does
/// without the others, and that it stops when its own graceful shutdown comes.
@Suite struct ServiceTests {
    func settings(id: String = "w1", lease: Duration = .seconds(30), grace: Duration = .seconds(5)) -> WorkerSettings {
        WorkerSettings(workerID: id, concurrency: 4, batchSize: 10, pollInterval: .milliseconds(200), lease: lease,
                       shutdownGrace: grace, backoff: Backoff(base: .milliseconds(50), cap: .seconds(1), jitter: false),
                       scheduling: .init(quietHours: [:]))
    }

    func context(_ settings: WorkerSettings) -> DaemonContext {
        DaemonContext(settings: settings, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
    }

    /// Claims every pending message as `worker` the way the claim loop does.
    func claim(_ db: TestDatabase, as worker: String, lease: Duration) async throws -> [OutboxMessage] {
        let conn = try await db.connect()
        return try await MessageStore(connection: conn, workerID: worker).claim(channels: ["sms"], limit: 100, lease: lease)
    }

    @Test func leaseServiceAloneRenewsHeldClaimsAndTakesOverExpiredOnes() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 2)
            let claimed = try await claim(db, as: "w1", lease: .seconds(3))
            try await db.execute("UPDATE herald.message SET locked_by = 'dead', locked_until = now() - interval '1 minute' WHERE id = 2")
            let ctx = context(settings(lease: .seconds(3)))
            let held = try #require(claimed.first { $0.id == 1 })
            ctx.ledger.hold([held.claimKey], sentAt: .now, lease: .seconds(3))
            ctx.startup.finish()
            let before = try #require(try await db.scalar("SELECT extract(epoch FROM locked_until) FROM herald.message WHERE id = 1"))
            let links = DatabaseLinks(databaseURL: db.daemonURL, context: ctx)
            try await runAlone(LeaseService(context: ctx, links: links)) { () async throws -> Void in
                #expect(try await db.waitUntil {
                    try await db.scalar("SELECT status FROM herald.message WHERE id = 2") == "pending"
                }, "the expired lease is taken over")
                #expect(try await db.waitUntil {
                    try await db.scalar("SELECT extract(epoch FROM locked_until) > $1::numeric + 0.5 FROM herald.message WHERE id = 1", [before]) == "t"
                }, "the held claim is renewed")
            }
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "sending", "a held claim is never taken over")
            await links.main.connection.close()
        }
    }

    /// Recovery never takes a claim this daemon still holds, even when its lease has run
    /// out in the database (renewals failed during an outage): the daemon may be
    /// delivering it, and a takeover would send it twice.
    @Test func recoveryLeavesClaimsThisDaemonHoldsWhateverTheirLease() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 2)
            let claimed = try await claim(db, as: "w1", lease: .seconds(30))
            try await db.execute("UPDATE herald.message SET locked_until = now() - interval '1 minute'")
            let ctx = context(settings())
            let held = try #require(claimed.first { $0.id == 1 })
            ctx.ledger.hold([held.claimKey], sentAt: .now, lease: .seconds(30))
            let links = DatabaseLinks(databaseURL: db.daemonURL, context: ctx)
            await LeaseService(context: ctx, links: links).recover()
            let rows = try await db.query("SELECT id, status FROM herald.message ORDER BY id").named
            #expect(rows.map { $0["status"] } == ["sending", "pending"], "held: left alone; not held: taken over")
            await links.main.connection.close()
        }
    }

    @Test func outcomeWriterAloneGroupCommitsWhatSlotsHandIt() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 3)
            let ctx = context(settings())
            let claimed = try await claim(db, as: "w1", lease: .seconds(30))
            ctx.ledger.hold(claimed.map(\.claimKey), sentAt: .now, lease: .seconds(30))
            let links = DatabaseLinks(databaseURL: db.daemonURL, context: ctx)
            let writer = OutcomeWriter(context: ctx, links: links)
            try await runAlone(writer) { () async throws -> Void in
                for message in claimed {
                    writer.submit(Outcome(completion: Completion(messageID: message.id, attempt: message.attempt, result: .sent,
                                                                 driver: "test", startedAt: Date(), finishedAt: Date()),
                                          channel: "sms", recipient: message.recipient, startedAt: .now, optOut: nil))
                }
                #expect(try await db.waitUntil { try await db.statusCounts() == ["sent": 3] })
                #expect(try await db.waitUntil { ctx.ledger.isEmpty })
            }
            #expect(ctx.ledger.counters == .init(sent: 3, retried: 0, failed: 0))
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt WHERE outcome = 'sent'") == "3")
            await links.recorder.connection.close()
        }
    }

    @Test func listenerAloneWakesTheClaimLoopAndMarksTemplatesStale() async throws {
        try await TestDatabase.with { db in
            let ctx = context(settings())
            ctx.hints.withLock { $0 = .init(templatesDirty: false, dueChanged: false) }
            try await runAlone(NotificationListener(databaseURL: db.daemonURL, context: ctx)) { () async throws -> Void in
                // Connecting marks the due time and the templates stale (anything that became due,
                // and any edit, before LISTEN took effect: its notification was never heard).
                #expect(try await db.waitUntil { ctx.hints.withLock { $0.dueChanged && $0.templatesDirty } })
                #expect(try await db.waitUntil {
                    try await db.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'herald-listen' AND datname = current_database()") == "1"
                })
                ctx.hints.withLock { $0 = .init(templatesDirty: false, dueChanged: false) }
                try await db.execute("NOTIFY herald_message")
                #expect(try await db.waitUntil { ctx.hints.withLock { $0.dueChanged } })
                #expect(!ctx.hints.withLock { $0.templatesDirty }, "a new message does not reload templates")
                try await db.execute("NOTIFY herald_template")
                #expect(try await db.waitUntil { ctx.hints.withLock { $0.templatesDirty } })
                // Its connection lost and back: a template edited meanwhile sent a notification
                // nobody heard, so templates are reloaded anyway.
                ctx.hints.withLock { $0 = .init(templatesDirty: false, dueChanged: false) }
                try await db.execute("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE application_name = 'herald-listen' AND datname = current_database()
                    """)
                #expect(try await db.waitUntil(timeout: .seconds(30)) { ctx.hints.withLock { $0.templatesDirty && $0.dueChanged } })
            }
            #expect(try await db.waitUntil {
                try await db.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'herald-listen' AND datname = current_database()") == "0"
            }, "its connection is closed when it stops")
        }
    }

    @Test func maintenanceAloneWaitsForStartupThenPrunes() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, status, attempts, updated_at)
                SELECT 'sms', '+3460000' || g, 't', CASE WHEN g <= 5 THEN 'sent' ELSE 'pending' END, 1, now() - interval '100 days'
                  FROM generate_series(1, 7) g
                """)
            var s = settings()
            s.retention = .seconds(30 * 86_400)
            s.pruneBatch = 2
            let ctx = context(s)
            let links = DatabaseLinks(databaseURL: db.daemonURL, context: ctx)
            try await runAlone(MaintenanceService(context: ctx, links: links)) { () async throws -> Void in
                try await Task.sleep(for: .milliseconds(400))
                #expect(try await db.scalar("SELECT count(*) FROM herald.message") == "7", "nothing is pruned before startup is done")
                ctx.startup.finish()
                #expect(try await db.waitUntil { try await db.statusCounts() == ["pending": 2] })
            }
            await links.main.connection.close()
        }
    }

    @Test func claimServiceAloneDeliversAndGivesBackWhatNoWriterRecorded() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 3)
            let driver = ScriptedDriver()
            let ctx = context(settings(grace: .milliseconds(500)))
            let links = DatabaseLinks(databaseURL: db.daemonURL, context: ctx)
            let writer = OutcomeWriter(context: ctx, links: links)
            let gate = SendGate(context: ctx, links: links)
            try await runTogether([gate, ClaimService(context: ctx, links: links, writer: writer, gate: gate, drivers: [.sms: driver])]) { () async throws -> Void in
                #expect(try await db.waitUntil { driver.deliveries.count == 3 && writer.queued == 3 })
                #expect(try await db.statusCounts() == ["sending": 3], "outcomes wait for the writer, which is not running")
            }
            // Past the grace period the unrecorded claims went back to pending, uncounted.
            #expect(try await db.statusCounts() == ["pending": 3])
            #expect(try await db.scalar("SELECT sum(attempts) FROM herald.message") == "0")
            #expect(ctx.ledger.counters == .init(), "nothing was counted as sent")
            await links.main.connection.close()
        }
    }
}
