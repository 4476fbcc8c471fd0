import Foundation
import HeraldPostgres
import Testing

/// The roles of migration 007: what a host and a daemon may and may not do.
@Suite struct RoleTests {
    /// Runs `sql` as `role` on its own connection; returns the SQLSTATE it failed with, or nil.
    func attempt(_ db: TestDatabase, as role: String, _ sql: String) async throws -> String? {
        let conn = try await db.connect()
        defer { Task { await conn.close() } }
        try await conn.execute("SET ROLE \(role)")
        do {
            try await conn.execute(sql)
            return nil
        } catch let error as PostgresError {
            return error.sqlState
        }
    }

    @Test func theHostEnqueuesAndReadsButCannotRewriteStatus() async throws {
        try await TestDatabase.with { db in
            #expect(try await attempt(db, as: "herald_host", """
                INSERT INTO herald.message (channel, recipient, template, dedupe_key) VALUES ('sms', '+1', 't', 'k');
                INSERT INTO herald.message (channel, recipient, template, dedupe_key) VALUES ('sms', '+1', 't', 'k');
                INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+2', 'STOP');
                INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+2', 't');
                SELECT status, last_error FROM herald.message;
                SELECT herald.cancel(2, 'changed my mind');
                """) == nil)
            // The triggers ran with their owner's rights: superseded, suppressed, cancelled.
            let rows = try await db.query("SELECT status FROM herald.message ORDER BY id").rows.map { $0[0] ?? "" }
            #expect(rows == ["cancelled", "cancelled", "suppressed"])
            #expect(try await attempt(db, as: "herald_host", "UPDATE herald.message SET status = 'pending' WHERE id = 1") == "42501")
            #expect(try await attempt(db, as: "herald_host", "INSERT INTO herald.message (channel, recipient, template, status) VALUES ('sms', '+3', 't', 'sent')") == "42501")
            #expect(try await attempt(db, as: "herald_host", "SELECT herald.retry(1)") == "42501")
            #expect(try await attempt(db, as: "herald_host", "UPDATE herald.template SET body = 'x'") == "42501")
            #expect(try await attempt(db, as: "herald_host", "DELETE FROM herald.opt_out WHERE recipient = '+2'") == nil)
        }
    }

    @Test func theDaemonOwnsNothingAndCannotEnqueueOrEditTemplates() async throws {
        try await TestDatabase.with { db in
            #expect(try await attempt(db, as: "herald_daemon", "INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+1', 't')") == "42501")
            #expect(try await attempt(db, as: "herald_daemon", "UPDATE herald.template SET body = 'x'") == "42501")
            #expect(try await attempt(db, as: "herald_daemon", "DROP TABLE herald.attempt") == "42501")
            #expect(try await attempt(db, as: "herald_daemon", "SELECT herald.prune('1 day', 10)") == nil)
            // Herald's own answers to keywords, and nothing else, go through herald.queue_reply.
            #expect(try await attempt(db, as: "herald_daemon",
                                      "SELECT herald.queue_reply('sms', '+1', 't', NULL, NULL, NULL, '{}', NULL)") == "P0001")
            #expect(try await attempt(db, as: "herald_daemon",
                                      "SELECT herald.queue_reply('sms', '+1', 'reply.help', NULL, NULL, NULL, '{}', NULL)") == nil)
            #expect(try await attempt(db, as: "herald_host",
                                      "SELECT herald.queue_reply('sms', '+1', 'reply.stopped', NULL, NULL, NULL, '{}', NULL)") == "42501")
            #expect(try await attempt(db, as: "herald_host", "SELECT * FROM herald.secret") == "42501")
            let owner = try await db.scalar("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'herald.message'::regclass")
            #expect(owner != "herald_daemon")
        }
    }

    @Test func triggersThatCrossRightsRunAsDefinerWithAFixedSearchPath() async throws {
        try await TestDatabase.with { db in
            let rows = try await db.query("""
                SELECT proname, prosecdef, array_to_string(proconfig, ',') FROM pg_proc
                 WHERE pronamespace = 'herald'::regnamespace
                   AND proname IN ('message_before_insert', 'enqueue_for_rules', 'opt_out_suppress_pending', 'cancel')
                 ORDER BY proname
                """).rows
            #expect(rows.count == 4)
            #expect(rows.allSatisfy { $0[1] == "t" && $0[2]?.hasPrefix("search_path=pg_catalog, herald") == true }, "\(rows)")
            // The insert trigger finds a superseded message by its key's unique index whatever
            // the statistics (planned on an empty outbox, a scan read every pending row per insert).
            #expect(rows.first { $0[0] == "message_before_insert" }?[2] == "search_path=pg_catalog, herald,enable_seqscan=off,enable_bitmapscan=off")
        }
    }
}
