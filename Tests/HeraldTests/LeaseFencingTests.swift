import Foundation
import HeraldCore
@testable import HeraldOutbox
import Testing

/// Every lease-checked statement checks the holder, the status and the attempt number; a
/// worker never takes over a lease it still holds; a replayed completion is not written twice.
@Suite struct LeaseFencingTests {
    func store(_ db: TestDatabase, worker: String) async throws -> MessageStore {
        MessageStore(connection: try await db.connect(), workerID: worker)
    }

    func completion(_ m: OutboxMessage, _ result: Completion.Result = .sent, attempt: Int? = nil, error: String? = nil,
                    retryIn: Duration? = nil) -> Completion {
        Completion(messageID: m.id, attempt: attempt ?? m.attempt, result: result, driver: "x", startedAt: Date(),
                   finishedAt: Date(), error: error, retryIn: retryIn)
    }

    @Test func anotherWorkersCompletionWithTheSameAttemptNumberIsRefused() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 1)
            let a = try await store(db, worker: "a")
            let b = try await store(db, worker: "b")
            let m = try #require(try await a.claim(channels: ["sms"], limit: 1, lease: .seconds(30)).first)
            // Same message, same attempt number, but b does not hold the lease.
            #expect(try await b.complete([completion(m)]).isEmpty)
            #expect(try await db.scalar("SELECT status || ' ' || locked_by FROM herald.message") == "sending a")
            // Nor when the row is no longer being sent (a DBA cancelled it meanwhile).
            try await db.query("UPDATE herald.message SET status = 'cancelled'")
            #expect(try await a.complete([completion(m)]).isEmpty)
            #expect(try await db.scalar("SELECT status FROM herald.message") == "cancelled")
        }
    }

    @Test func aStaleAttemptCannotTouchANewerClaimOfTheSameWorker() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 1)
            let a = try await store(db, worker: "a")
            let first = try #require(try await a.claim(channels: ["sms"], limit: 1, lease: .seconds(30)).first)
            // Its lease lapses, another worker recovers it, and `a` claims it again: attempt 2.
            try await db.query("UPDATE herald.message SET locked_until = now() - interval '1 second'")
            _ = try await store(db, worker: "b").recoverExpiredLeases(defaultMaxAttempts: 5)
            let second = try #require(try await a.claim(channels: ["sms"], limit: 1, lease: .seconds(30)).first)
            #expect(second.attempt == 2)
            let stale = first.claimKey
            #expect(try await a.renew([stale], lease: .seconds(60)).isEmpty)
            #expect(try await a.deferMessage(stale, until: Date().addingTimeInterval(3600), reason: "stale") == false)
            #expect(try await a.expireMessage(stale, reason: "stale") == false)
            #expect(try await a.release([stale]) == 0)
            #expect(try await a.complete([completion(first, .failed, error: "stale")]).isEmpty)
            let row = try await db.query("SELECT status, attempts, locked_by, last_error FROM herald.message").rows[0]
            #expect(row[0] == "sending" && row[1] == "2" && row[2] == "a", "\(row)")
            // The current claim still works.
            #expect(try await a.renew([second.claimKey], lease: .seconds(60)) == [second.claimKey])
            #expect(try await a.complete([completion(second)]) == [second.id])
        }
    }

    @Test func recoveryNeverTakesALeaseTheWorkerStillHolds() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 2)
            let a = try await store(db, worker: "a")
            let claimed = try await a.claim(channels: ["sms"], limit: 2, lease: .seconds(30))
            // After an outage both look expired; `a` still holds the first in memory.
            try await db.query("UPDATE herald.message SET locked_until = now() - interval '1 second'")
            let recovered = try await a.recoverExpiredLeases(defaultMaxAttempts: 5, holding: [claimed[0].id])
            #expect(recovered.map(\.id) == [claimed[1].id])
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = $1::bigint", [claimed[0].id]) == "sending")
            // Another worker takes over what has expired, held or not (its holder may be dead).
            #expect(try await store(db, worker: "b").recoverExpiredLeases(defaultMaxAttempts: 5).map(\.id) == [claimed[0].id])
        }
    }

    @Test func aReplayedCompletionIsRecordedOnce() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 2)
            let a = try await store(db, worker: "a")
            let claimed = try await a.claim(channels: ["sms"], limit: 2, lease: .seconds(30))
            let done = completion(claimed[0])
            // The first try committed, but its answer was lost with the connection.
            #expect(try await a.complete([done]) == [claimed[0].id])
            // The replay carries it and the other outcome: the first counts as recorded, once.
            let both = try await a.complete([done, completion(claimed[1], .retry, error: "busy", retryIn: .seconds(5))], replay: true)
            #expect(both == Set(claimed.map(\.id)))
            let attempts = try await db.query("SELECT message_id, outcome FROM herald.attempt ORDER BY id").rows
            #expect(attempts == [["\(claimed[0].id)", "sent"], ["\(claimed[1].id)", "retry"]])
            // Without replay, the same write is what a taken-over worker sends: discarded.
            #expect(try await a.complete([done]).isEmpty)
        }
    }

    @Test func outsideTextWithNULsAndAbsurdDelaysIsStored() async throws {
        try await TestDatabase.with { db in
            try await db.enqueue(count: 1)
            let a = try await store(db, worker: "a")
            let m = try #require(try await a.claim(channels: ["sms"], limit: 1, lease: .seconds(30)).first)
            var c = completion(m, .retry, error: "bad\0request " + String(repeating: "x", count: 100_000), retryIn: .seconds(10_000_000_000_000))
            c.responseCode = "5\u{0}00"
            c.providerMessageID = String(repeating: "p", count: 10_000)
            #expect(try await a.complete([c]) == [m.id])
            let row = try await db.query("""
                SELECT last_error, octet_length(last_error), next_attempt_at < now() + interval '3651 days', response_code
                  FROM herald.message m JOIN herald.attempt a ON a.message_id = m.id
                """).rows[0]
            #expect(row[0]?.hasPrefix("bad request xxx") == true && row[0]?.hasSuffix("…") == true)
            #expect(Int(row[1] ?? "") == SafeText.errorLimit)
            #expect(row[2] == "t" && row[3] == "5 00")
        }
    }

    @Test func dedupeKeySupersedesAMessageBeingSent() async throws {
        try await TestDatabase.with { db in
            try await db.query("INSERT INTO herald.message (channel, recipient, template, dedupe_key) VALUES ('sms','+1','t','appt-9')")
            let a = try await store(db, worker: "a")
            let old = try #require(try await a.claim(channels: ["sms"], limit: 1, lease: .seconds(30)).first)
            // The host's insert succeeds while the old version is with the provider.
            try await db.query("INSERT INTO herald.message (channel, recipient, template, dedupe_key) VALUES ('sms','+1','t','appt-9')")
            let rows = try await db.query("SELECT id, status, dedupe_key, last_error FROM herald.message ORDER BY id").rows
            #expect(rows[0][1] == "sending" && rows[0][2] == nil)
            #expect(rows[0][3]?.contains("superseded by message \(rows[1][0] ?? "") (dedupe_key 'appt-9') while being sent") == true)
            #expect(rows[1][1] == "pending" && rows[1][2] == "appt-9")
            // The old version's outcome is still recorded (its lease is untouched).
            #expect(try await a.complete([completion(old)]) == [old.id])
        }
    }

    @Test func anInfiniteSendTimeIsDueAtOnceSoTheWorkerCanExplainIt() async throws {
        try await TestDatabase.with { db in
            try await db.query("INSERT INTO herald.message (channel, recipient, template, send_at) VALUES ('sms','+1','t','infinity'), ('sms','+2','t','-infinity')")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE next_attempt_at <= now() AND isfinite(next_attempt_at)") == "2")
        }
    }

    @Test func oneWorkerIDOneDaemon() async throws {
        try await TestDatabase.with { db in
            let first = try await store(db, worker: "host-a")
            #expect(try await first.lockWorkerID())
            #expect(try await store(db, worker: "host-a").lockWorkerID() == false)
            #expect(try await store(db, worker: "host-b").lockWorkerID())
            await first.connection.close()
            // The server lets the lock go when the closed session's backend has ended, a
            // moment after the client hung up (longer on a loaded machine): ask until then.
            let again = try await store(db, worker: "host-a")
            var locked = false
            for _ in 0..<100 where !locked {
                locked = try await again.lockWorkerID()
                if !locked { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(locked)
        }
    }
}
