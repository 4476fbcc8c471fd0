import Foundation
import HeraldPostgres
import Testing
@testable import HeraldOutbox

/// Through a long drain, every claimed message leaves a dead entry at the front of its
/// queue in `message_queue_idx` (the index is partial on `pending`; vacuum removes them
/// later), and an index scan from a queue's start steps over all of them. The claim reads
/// that region once, in `q`, and starts the rest where `q` found the first pending message
/// (`MessageStore.claimSQL`); these tests hold it to that, and check that starting there
/// misses nothing.
@Suite struct ClaimDeadEntriesTests {
    /// The claim with literal parameters: worker `w`, channel sms, `limit`, no rate limits.
    static func claimSQL(limit: Int) -> String {
        var text = MessageStore.claimSQL
        let values: [Int: String] = [
            1: "'w'", 2: "'{sms}'", 3: "'{sms,email,webhook}'", 4: "\(limit)", 5: "60", 6: "NULL",
            7: "'{}'", 8: "'{}'", 9: "'{}'", 10: "'{}'", 11: "'{}'", 12: "'{}'", 13: "'{}'",
        ]
        for (n, value) in values.sorted(by: { $0.key > $1.key }) { text = text.replacingOccurrences(of: "$\(n)", with: value) }
        return text
    }

    /// The buffers each scan of `message_queue_idx` touched in one claim (run, then rolled back).
    static func queueIndexScans(_ db: TestDatabase, limit: Int) async throws -> [Int] {
        let conn = try await db.connect()
        _ = try await conn.execute("BEGIN")
        let result = try await conn.query("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claimSQL(limit: limit))
        _ = try await conn.execute("ROLLBACK")
        await conn.close()
        let text = try #require(result.rows.first?.first ?? nil)
        let plans = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        var scans: [Int] = []
        func walk(_ node: [String: Any]) {
            if node["Index Name"] as? String == "message_queue_idx" {
                scans.append((node["Shared Hit Blocks"] as? Int ?? 0) + (node["Shared Read Blocks"] as? Int ?? 0))
            }
            for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
        }
        for plan in plans { if let root = plan["Plan"] as? [String: Any] { walk(root) } }
        return scans
    }

    @Test func aClaimStepsOverTheClaimedMessagesOnce() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.execute("ALTER TABLE herald.message SET (autovacuum_enabled = false)")
            try await db.enqueue(count: 40_100)
            try await db.execute("VACUUM ANALYZE herald.message")
            // What 40,000 claims leave: entries of rows no longer pending at the queue's front.
            try await db.execute("UPDATE herald.message SET status = 'sent', sent_at = now() WHERE id <= 40000")
            _ = try await Self.queueIndexScans(db, limit: 1)  // the first reader marks the entries dead
            let scans = try await Self.queueIndexScans(db, limit: 1)
            // 40,000 entries fill more than a hundred leaf pages; a scan that starts past them
            // touches a few pages (and its row's consent checks).
            let long = scans.filter { $0 >= 60 }
            #expect(long.count == 1, "scans of message_queue_idx and their buffers: \(scans)")
            #expect(scans.count >= 2, "the premise: the claim reads the queue index more than once: \(scans)")
        }
    }

    @Test func startingWhereTheQueueBeginsMissesNoMessage() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            // One queue: a message of priority 0 with no due time (the queue's first in the
            // index's order: lowest level, and a NULL due time cannot be bounded), one of
            // priority 1 not due yet, normal ones due (one at -infinity, which only a DBA's
            // UPDATE can set: the insert trigger makes an infinite send time due now), and an
            // urgent one.
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, priority, send_at) VALUES
                  ('sms', '+34600000001', 't', 1, now() + interval '1 day'),
                  ('sms', '+34600000002', 't', 0, now()),
                  ('sms', '+34600000003', 't', 2, now() - interval '1 hour'),
                  ('sms', '+34600000004', 't', 2, now() - interval '2 hours'),
                  ('sms', '+34600000005', 't', 2, now()),
                  ('sms', '+34600000006', 't', 3, now());
                UPDATE herald.message SET next_attempt_at = NULL WHERE recipient = '+34600000002';
                UPDATE herald.message SET next_attempt_at = '-infinity' WHERE recipient = '+34600000005';
                """)
            let conn = PostgresConnection(connectionString: db.daemonURL)
            try await conn.connect()
            let store = Stores(connection: conn, workerID: "w")
            let first = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(60))
            #expect(Set(first.map(\.recipient)) == ["+34600000006", "+34600000005", "+34600000004", "+34600000003"])
            // Two more, at levels the walk's first message (priority 0) is not at.
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, priority, send_at)
                VALUES ('sms', '+34600000007', 't', 2, now() - interval '3 days'), ('sms', '+34600000008', 't', 1, now() - interval '1 minute')
                """)
            let next = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(60))
            #expect(Set(next.map(\.recipient)) == ["+34600000007", "+34600000008"])
            // With the priority 0 and 1 messages gone, the walk's first message is at level 2,
            // where the claimed messages' entries lie after it: one due before all of them.
            try await db.execute("""
                UPDATE herald.message SET status = 'cancelled' WHERE recipient IN ('+34600000001', '+34600000002');
                INSERT INTO herald.message (channel, recipient, template, priority, send_at) VALUES
                  ('sms', '+34600000009', 't', 2, now() - interval '5 days'), ('sms', '+34600000010', 't', 2, now() + interval '1 day');
                """)
            let last = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(60))
            #expect(last.map(\.recipient) == ["+34600000009"])
            await conn.close()
        }
    }

    /// The claim starts a level where the walk found its first pending message, by due time
    /// then id: a message due later but recorded earlier (a smaller id) is still taken, and
    /// so is everything after claimed messages' entries.
    @Test func theStartIsByDueTimeThenID() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, priority, send_at) VALUES
                  ('sms', '+34600000001', 't', 2, now() - interval '1 hour'),
                  ('sms', '+34600000002', 't', 2, now() - interval '3 days'),
                  ('sms', '+34600000003', 't', 2, now() - interval '2 days'),
                  ('sms', '+34600000004', 't', 2, now() - interval '1 day');
                """)
            let conn = PostgresConnection(connectionString: db.daemonURL)
            try await conn.connect()
            let store = Stores(connection: conn, workerID: "w")
            let oldest = try await store.messages.claim(channels: ["sms"], limit: 2, lease: .seconds(60))
            #expect(Set(oldest.map(\.recipient)) == ["+34600000002", "+34600000003"])
            // The walk now finds +…4 first (1 day ago, id 4); +…1 is due later with id 1.
            let rest = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(60))
            #expect(Set(rest.map(\.recipient)) == ["+34600000004", "+34600000001"])
            await conn.close()
        }
    }
}
