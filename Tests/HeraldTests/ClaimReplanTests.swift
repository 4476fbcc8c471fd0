import Foundation
import HeraldPostgres
import Testing
@testable import HeraldOutbox

/// A claim's prepared plan can be made while the outbox is nearly empty and then stay,
/// slow, after a bulk load (2.2-2.6 s a claim on 50,000 new rows until the next analyse;
/// 8 ms once prepared again). A slow claim drops its plan so that the next one is planned
/// afresh. These tests check the mechanism, not a timing: a threshold of zero makes every
/// claim "slow".
@Suite struct ClaimReplanTests {
    /// The names of the session's prepared statements whose text contains `fragment`.
    static func preparedNames(_ conn: PostgresConnection, containing fragment: String) async throws -> [String] {
        try await conn.query("SELECT name FROM pg_prepared_statements WHERE strpos(statement, $1) > 0 ORDER BY name", [fragment])
            .rows.compactMap { $0[0] }
    }

    @Test func aForgottenStatementIsDroppedOnTheServerAndItsNameNeverReused() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            #expect(try await conn.query("SELECT $1::int + 1 AS a", [1]).scalar == "2")
            #expect(try await conn.query("SELECT $1::int + 2 AS b", [1]).scalar == "3")
            #expect(try await Self.preparedNames(conn, containing: "AS a") == ["herald_1"])
            #expect(await conn.forget("SELECT $1::int + 1 AS a"))
            #expect(try await Self.preparedNames(conn, containing: "AS a").isEmpty, "dropped on the server")
            #expect(await !conn.forget("SELECT $1::int + 1 AS a"), "nothing left to forget")
            #expect(await !conn.forget("SELECT never prepared"))
            // A new statement must not take a name still in use (a name from the count of
            // statements would repeat one: "prepared statement already exists").
            #expect(try await conn.query("SELECT $1::int + 3 AS c", [1]).scalar == "4")
            #expect(try await conn.query("SELECT $1::int + 1 AS a", [1]).scalar == "2", "prepared again on its next run")
            let names = try await conn.query("SELECT name FROM pg_prepared_statements").rows.compactMap { $0[0] }
            #expect(Set(names).count == names.count && names.count == 5, "a, b, c and the two lookups: \(names)")
            let renamed = try await Self.preparedNames(conn, containing: "AS a")
            #expect(renamed.count == 1 && renamed != ["herald_1"], "\(renamed)")
            await conn.close()
        }
    }

    @Test func aSlowClaimIsPlannedAfreshForTheNextClaim() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 4)
            let conn = try await db.connect()
            let store = MessageStore(connection: conn, workerID: "w-replan")
            let marker = "(SELECT v FROM more) AS more"
            let quick = try await store.claimBatch(channels: ["sms"], limit: 1, lease: .seconds(30))
            #expect(quick.messages.count == 1 && quick.replannedAfter == nil)
            let first = try await Self.preparedNames(conn, containing: marker)
            #expect(first.count == 1)
            let again = try await store.claimBatch(channels: ["sms"], limit: 1, lease: .seconds(30))
            #expect(again.messages.count == 1 && again.replannedAfter == nil)
            #expect(try await Self.preparedNames(conn, containing: marker) == first, "a quick claim keeps its plan")

            let slow = try await store.claimBatch(channels: ["sms"], limit: 1, lease: .seconds(30), replanAfter: .zero)
            #expect(slow.messages.count == 1, "the slow claim's messages are kept")
            #expect(slow.replannedAfter != nil)
            #expect(try await Self.preparedNames(conn, containing: marker).isEmpty, "its plan was dropped")
            let next = try await store.claimBatch(channels: ["sms"], limit: 1, lease: .seconds(30))
            #expect(next.messages.count == 1)
            let renewed = try await Self.preparedNames(conn, containing: marker)
            #expect(renewed.count == 1 && renewed != first, "prepared again: \(first) then \(renewed)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'sending' AND locked_by = 'w-replan'") == "4")
            await conn.close()
        }
    }

    @Test func aClaimCancelledByTheStatementTimeoutDropsItsPlan() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 2)
            let conn = PostgresConnection(connectionString: db.url, statementTimeout: .milliseconds(200))
            try await conn.connect()
            let store = MessageStore(connection: conn, workerID: "w-timeout")
            let marker = "(SELECT v FROM more) AS more"
            #expect(try await store.claimBatch(channels: ["sms"], limit: 1, lease: .seconds(30)).messages.count == 1)
            #expect(try await Self.preparedNames(conn, containing: marker).count == 1)
            // Another session holds the one pending row's lock behind a slow lock wait: a
            // claim skips locked rows, so make the claim itself slow instead (a lock on the
            // table the claim updates, taken in ACCESS EXCLUSIVE mode, blocks it).
            let holder = try await db.connect()
            _ = try await holder.execute("BEGIN; LOCK TABLE herald.message IN ACCESS EXCLUSIVE MODE")
            do {
                _ = try await store.claimBatch(channels: ["sms"], limit: 1, lease: .seconds(30))
                Issue.record("a claim blocked behind a table lock ran past a 200 ms statement_timeout")
            } catch let error as PostgresError {
                #expect(error.sqlState == "57014")
            }
            _ = try await holder.execute("ROLLBACK")
            await holder.close()
            #expect(try await Self.preparedNames(conn, containing: marker).isEmpty, "its plan was dropped")
            #expect(try await store.claimBatch(channels: ["sms"], limit: 1, lease: .seconds(30)).messages.count == 1)
            await conn.close()
        }
    }
}
