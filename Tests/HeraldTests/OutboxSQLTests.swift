import Foundation
import HeraldCore
@testable import HeraldOutbox
import HeraldPostgres
import Testing

@Suite struct OutboxSQLTests {
    func store(_ db: TestDatabase, worker: String) async throws -> MessageStore {
        MessageStore(connection: try await db.connect(), workerID: worker)
    }

    @Test func insertComputesTheDueTimeFromSendAtAndPostpone() async throws {
        try await TestDatabase.with { db in
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, send_at, postpone)
                VALUES ('sms', '+1', 't', '2030-01-01T10:00:00Z', '1 hour')
                """)
            #expect(try await db.scalar("SELECT next_attempt_at = '2030-01-01T11:00:00Z' FROM herald.message") == "t")
        }
    }

    @Test func claimSkipsLockedRowsAndLeases() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 5)
            let a = try await store(db, worker: "a")
            let b = try await store(db, worker: "b")
            let first = try await a.claim(channels: ["sms"], limit: 3, lease: .seconds(30))
            let second = try await b.claim(channels: ["sms"], limit: 3, lease: .seconds(30))
            #expect(first.count == 3 && second.count == 2)
            #expect(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)))
            #expect(first.allSatisfy { $0.attempt == 1 })
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'sending' AND locked_by = 'a' AND locked_until > now() + interval '25 seconds'") == "3")
            #expect(try await a.claim(channels: ["sms"], limit: 3, lease: .seconds(30)).isEmpty)
        }
    }

    @Test func channelsWithoutADriverAreNotClaimedButUnknownChannelsAre() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 2, channel: "email")
            try await db.enqueue(count: 1, channel: "pigeon")
            let s = try await store(db, worker: "a")
            let claimed = try await s.claim(channels: ["sms"], limit: 10, lease: .seconds(30))
            #expect(claimed.map(\.channel) == ["pigeon"])
            #expect(try await s.waitingCounts(excluding: ["sms"]) == ["email": 2])
        }
    }

    @Test func completionChecksTheLease() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 1)
            let a = try await store(db, worker: "a")
            let b = try await store(db, worker: "b")
            let m = try #require(try await a.claim(channels: ["sms"], limit: 1, lease: .seconds(30)).first)
            // b pretends the lease is over and takes the row: a must not overwrite b's result.
            try await db.query("UPDATE herald.message SET locked_until = now() - interval '1 second'")
            let recovered = try await b.recoverExpiredLeases(defaultMaxAttempts: 5)
            #expect(recovered.map(\.previousWorker) == ["a"])
            let m2 = try #require(try await b.claim(channels: ["sms"], limit: 1, lease: .seconds(30)).first)
            #expect(m2.attempt == 2)
            let late = Completion(messageID: m.id, attempt: m.attempt, result: .failed, driver: "x", startedAt: Date(), finishedAt: Date(), error: "late")
            #expect(try await a.complete([late]).isEmpty)
            let ok = Completion(messageID: m2.id, attempt: 2, result: .sent, driver: "x", startedAt: Date(), finishedAt: Date(), providerMessageID: "P1")
            #expect(try await b.complete([ok]) == [m2.id])
            let row = try await db.query("SELECT status, provider_message_id, last_error FROM herald.message").rows[0]
            #expect(row == ["sent", "P1", nil])
            let attempts = try await db.query("SELECT number, worker, outcome FROM herald.attempt ORDER BY id").rows
            #expect(attempts == [["1", "a", "lease_expired"], ["1", "a", "discarded"], ["2", "b", "sent"]])
        }
    }

    @Test func releaseReturnsClaimsWithoutCountingTheAttempt() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 2)
            let a = try await store(db, worker: "a")
            let claimed = try await a.claim(channels: ["sms"], limit: 2, lease: .seconds(30))
            #expect(try await a.release(claimed.map(\.claimKey)) == 2)
            let rows = try await db.query("SELECT status, attempts, locked_by FROM herald.message").rows
            #expect(rows.allSatisfy { $0 == ["pending", "0", nil] })
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "0")
        }
    }

    @Test func lastAttemptLeaseExpiryFailsTheMessage() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 1, maxAttempts: 1)
            let a = try await store(db, worker: "a")
            _ = try await a.claim(channels: ["sms"], limit: 1, lease: .seconds(30))
            try await db.query("UPDATE herald.message SET locked_until = now() - interval '1 second'")
            let recovered = try await a.recoverExpiredLeases(defaultMaxAttempts: 5)
            #expect(recovered.map(\.status) == ["failed"])
            #expect(try await db.scalar("SELECT last_error FROM herald.message")?.contains("lease of worker a expired during attempt 1") == true)
        }
    }

    @Test func dedupeKeySupersedesAnOlderPendingMessage() async throws {
        try await TestDatabase.with { db in
            try await db.query("INSERT INTO herald.message (channel, recipient, template, dedupe_key) VALUES ('sms','+1','t','appt-7-reminder')")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, dedupe_key) VALUES ('sms','+2','t','appt-7-reminder')")
            let rows = try await db.query("SELECT id, status, dedupe_key, last_error FROM herald.message ORDER BY id").rows
            #expect(rows[0][1] == "cancelled" && rows[0][2] == nil)
            #expect(rows[0][3] == "superseded by message 2 (dedupe_key 'appt-7-reminder')")
            #expect(rows[1][1] == "pending" && rows[1][2] == "appt-7-reminder")
            // Once sent, the key is taken: the host can use ON CONFLICT DO NOTHING to enqueue idempotently.
            try await db.query("UPDATE herald.message SET status = 'sent' WHERE id = 2")
            let r = try await db.query("INSERT INTO herald.message (channel, recipient, template, dedupe_key) VALUES ('sms','+3','t','appt-7-reminder') ON CONFLICT (dedupe_key) DO NOTHING")
            #expect(r.affectedRows == 0)
        }
    }

    @Test func retryAndCancelFunctionsForDBAs() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 2)
            try await db.query("UPDATE herald.message SET status = 'failed', attempts = 5, last_error = 'boom' WHERE id = 1")
            #expect(try await db.scalar("SELECT herald.retry(1)") == "message 1: failed -> pending")
            let row = try await db.query("SELECT status, attempts, last_error FROM herald.message WHERE id = 1").rows[0]
            #expect(row[0] == "pending" && row[1] == "0" && row[2]?.contains("was failed: boom") == true)
            #expect(try await db.scalar("SELECT herald.cancel(2, 'client called')") == "message 2: pending -> cancelled")
            #expect(try await db.scalar("SELECT last_error FROM herald.message WHERE id = 2") == "client called")
            await #expect { try await db.query("SELECT herald.cancel(2)") } throws: { "\($0)".contains("only pending messages can be cancelled") }
            await #expect { try await db.query("SELECT herald.retry(1)") } throws: { "\($0)".contains("is pending, not finished") }
            await #expect { try await db.query("SELECT herald.retry(99)") } throws: { "\($0)".contains("no message 99") }
        }
    }

    @Test func insertNotifiesOncePerStatementAndCanBeTurnedOff() async throws {
        try await TestDatabase.with { db in
            let listener = try await db.connect()
            try await listener.listen("herald_message")
            try await db.enqueue(count: 50)
            #expect(try await listener.waitForNotifications(timeout: .seconds(5)).count == 1)
            try await db.query("ALTER DATABASE \(db.name) SET herald.notify = 'off'")
            try await db.enqueue(count: 5)
            #expect(try await listener.waitForNotifications(timeout: .milliseconds(500)).isEmpty)
            await listener.close()
        }
    }

    @Test func claimUsesThePartialIndex() async throws {
        try await TestDatabase.with { db in
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, status)
                SELECT 'sms', '+1', 't', 'sent' FROM generate_series(1, 20000)
                """)
            try await db.enqueue(count: 10)
            try await db.query("ANALYZE herald.message")
            let plan = try await db.query("EXPLAIN " + MessageStore.claimSQLForExplain).rows.compactMap { $0[0] }.joined(separator: "\n")
            #expect(plan.contains("message_queue_idx"), "plan:\n\(plan)")
        }
    }

    /// `--exit-when-idle`'s check reads the two partial indexes, never the finished rows.
    /// With a few pending rows at the end of many finished ones, one OR across both
    /// statuses was planned as a sequential scan expected to stop early (2.6 s with 10
    /// million rows).
    @Test func idleCheckUsesThePartialIndexes() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, status)
                SELECT 'sms', '+1', 't', 'sent' FROM generate_series(1, 200000);
                INSERT INTO herald.message (channel, recipient, template) SELECT 'sms', '+1', 't' FROM generate_series(1, 600)
                """)
            try await db.execute("VACUUM ANALYZE herald.message")
            let conn = try await db.connect()
            try await conn.execute("PREPARE idle(text[], text[], float8, float8) AS " + MessageStore.unfinishedWorkSQL)
            let explain = "EXPLAIN EXECUTE idle('{sms}', '{sms,email,webhook}', 60, NULL)"
            // The first executions get a plan of their own (the daemon runs it once, at exit);
            // after five, the generic plan.
            var plans = [try await conn.execute(explain).rows.compactMap { $0[0] }.joined(separator: "\n")]
            for _ in 0..<6 { _ = try await conn.execute("EXECUTE idle('{sms}', '{sms,email,webhook}', 60, NULL)") }
            plans.append(try await conn.execute(explain).rows.compactMap { $0[0] }.joined(separator: "\n"))
            await conn.close()
            for plan in plans {
                #expect(plan.contains("message_due_idx") && plan.contains("message_lease_idx"), "plan:\n\(plan)")
                #expect(!plan.contains("Seq Scan"), "plan:\n\(plan)")
            }
        }
    }
}

/// The completion statement finds its rows by primary key. Scanning `message_lease_idx`
/// instead (what the planner chose for `status = 'sending'`, the index's predicate) reads
/// every entry the index has collected since the last vacuum, so completions got slower as
/// a drain went on; deploy/bench measured 7 ms instead of 3 ms per 100 messages.
@Suite struct CompletionPlanTests {
    @Test func completionNeverScansTheLeaseIndex() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template) SELECT 'sms', '+346000' || g, 't' FROM generate_series(1, 20000) g;
                UPDATE herald.message SET status = 'sending', locked_by = 'w', attempts = 1, locked_until = now() + interval '1 minute' WHERE id <= 100;
                ANALYZE herald.message;
                """)
            let ids = PostgresArray((1...100).map { Int64($0) })
            func texts(_ value: String?) -> PostgresArray { PostgresArray(Array(repeating: value, count: 100)) }
            let plan = try await db.query("EXPLAIN " + MessageStore.completeSQL, [
                "w", ids, PostgresArray(Array(repeating: 1, count: 100)), texts("sent"), texts("accept"),
                PostgresArray(Array(repeating: 1.0, count: 100)), PostgresArray(Array(repeating: 1.0, count: 100)),
                texts(nil), texts(nil), texts("p"), PostgresArray(Array(repeating: Double?.none, count: 100)),
                texts("en"), texts(nil), texts("body"), texts(nil), PostgresArray(Array(repeating: 1, count: 100)),
                PostgresArray(Array(repeating: 1, count: 100)), false,
            ]).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
            #expect(!plan.contains("message_lease_idx"), "\(plan)")
            #expect(plan.contains("message_pkey"), "\(plan)")
        }
    }
}
