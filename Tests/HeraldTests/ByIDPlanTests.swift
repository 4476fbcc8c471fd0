import Foundation
import HeraldPostgres
import Testing
@testable import HeraldOutbox
@testable import HeraldWorker

/// The outcomes and the last look find their messages by id whatever the statistics say:
/// a plan made while the outbox was analysed empty (a new install, a pruned outbox,
/// `deploy/bench` before its events) must not scan the whole table once it has filled.
@Suite struct ByIDPlanTests {
    /// The plan of the last look, made on the empty outbox and shown after 20,000 rows
    /// came, on a connection opened with `settings`.
    static func lookPlanAfterFilling(_ db: TestDatabase, settings: [String: String]) async throws -> String {
        try await db.execute("TRUNCATE herald.attempt, herald.message RESTART IDENTITY")
        try await db.execute("VACUUM ANALYZE herald.message")
        // Autoanalyze after the 20,000 inserts would invalidate the cached plan and make
        // a new one on the filled table (a loaded CI machine did): the premise needs it off.
        try await db.execute("ALTER TABLE herald.message SET (autovacuum_enabled = false)")
        let conn = PostgresConnection(connectionString: db.url, applicationName: "plan-test", settings: settings)
        try await conn.connect()
        _ = try await conn.execute("SET plan_cache_mode = force_generic_plan")
        _ = try await conn.execute("PREPARE look(bigint[], int[], text) AS " + MessageStore.clearSQL)
        _ = try await conn.execute("EXECUTE look('{1}', '{1}', 'w')")  // the plan is made now, on an empty outbox
        try await db.enqueue(count: 20_000)
        let plan = try await conn.execute("EXPLAIN EXECUTE look('{1,2,3}', '{1,1,1}', 'w')").rows.compactMap { $0.first ?? nil }
        await conn.close()
        return plan.joined(separator: "\n")
    }

    @Test func theLastLookUsesThePrimaryKeyOnAnOutboxThatFilledAfterItsPlan() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            let plain = try await Self.lookPlanAfterFilling(db, settings: [:])
            #expect(plain.contains("Seq Scan on message"), "the premise: a default session keeps the scan planned on the empty outbox\n\(plain)")
            let byID = try await Self.lookPlanAfterFilling(db, settings: DatabaseLink.byIDSettings)
            #expect(byID.contains("message_pkey") && !byID.contains("Seq Scan on message"), "\(byID)")
        }
    }

    @Test func settingsThatAreNotPlainWordsAreNotSent() async throws {
        try await TestDatabase.with { db in
            let conn = PostgresConnection(connectionString: db.url, settings: ["enable_seqscan": "off", "work_mem": "1; DROP TABLE x", "a b": "on"])
            try await conn.connect()
            #expect(try await conn.query("SHOW enable_seqscan").scalar == "off")
            #expect(try await conn.query("SHOW work_mem").scalar != "1; DROP TABLE x")
            await conn.close()
        }
    }
}
