import Foundation
import HeraldPostgres
import Testing

@Suite struct PostgresTests {
    @Test func parametersRoundTripIncludingNullsAndUnicode() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            let r = try await conn.query("SELECT $1::text, $2::bigint, $3::text IS NULL, $4::bool, $5::float8, $6::text[]",
                                         ["Zoé 🙂 'quote' \"dq\" \\", Int64(9_007_199_254_740_993), nil, true, 1.5,
                                          PostgresArray(["a,b", "c\"d", nil] as [String?])])
            #expect(r.columns.count == 6)
            #expect(r.rows[0][0] == "Zoé 🙂 'quote' \"dq\" \\")
            #expect(r.rows[0][1] == "9007199254740993")
            #expect(r.rows[0][2] == "t")
            #expect(r.rows[0][3] == "t")
            #expect(r.rows[0][4] == "1.5")
            #expect(r.rows[0][5] == #"{"a,b","c\"d",NULL}"#)
            // The same statement again uses the prepared statement.
            let again = try await conn.query("SELECT $1::text, $2::bigint, $3::text IS NULL, $4::bool, $5::float8, $6::text[]",
                                             ["x", Int64(1), "y", false, 0.0, PostgresArray([String]())])
            #expect(again.rows[0][2] == "f")
            await conn.close()
        }
    }

    @Test func aNULInsideAParameterIsDroppedNotACutOrAnError() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            // A C string would end at the NUL ("bad"), and inside an array literal the
            // statement would fail on every retry (22P02).
            let r = try await conn.query("SELECT $1::text, $2::text[]", ["bad\0request", PostgresArray(["x\0y", "z"] as [String?])])
            #expect(r.rows[0] == ["badrequest", "{xy,z}"])
            await conn.close()
        }
    }

    @Test func rowsAreReadByColumnName() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            let result = try await conn.query("SELECT 'x' AS b, NULL::text AS n, 1 AS a")
            let columns = RowDecoder(result)
            #expect(columns.text(result.rows[0], "a") == "1" && columns.text(result.rows[0], "b") == "x")
            #expect(columns.text(result.rows[0], "n") == nil && columns.has("n") && !columns.has("missing"))
            let row = try #require(result.named.first)
            #expect(row["a"] == "1" && row["b"] == "x" && row["n"] == nil && row["missing"] == nil)
            #expect(try await conn.query("SELECT 42 AS answer").scalar == "42")
            #expect(try await conn.query("SELECT 1 WHERE false").scalar == nil)
            await conn.close()
        }
    }

    @Test func theDaemonsConnectionsRunUnderAStatementTimeout() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = PostgresConnection(connectionString: db.url, statementTimeout: .milliseconds(300))
            try await conn.connect()
            #expect(try await conn.query("SHOW statement_timeout").rows[0][0] == "300ms")
            do {
                try await conn.query("SELECT pg_sleep(2)")
                Issue.record("a 2 s statement ran past a 300 ms statement_timeout")
            } catch let error as PostgresError {
                #expect(error.sqlState == "57014" && error.isTransient && !error.isConnectionLoss)
            }
            // And the timeout is set again on every new session.
            try await conn.connect()
            #expect(try await conn.query("SHOW statement_timeout").rows[0][0] == "300ms")
            await conn.close()
        }
    }

    @Test func aServerSilentAfterTheHandshakeFailsTheConnectInsteadOfHoldingIt() async throws {
        // A reconnect once waited forever in its first SET: libpq's wait for an answer has
        // no bound of its own once the handshake is done.
        let peer = try await Peer.start("silent_postgres.py")
        let conn = PostgresConnection(connectionString: "postgresql://herald@127.0.0.1:\(peer.port)/herald?sslmode=disable",
                                      statementTimeout: .seconds(5), settings: ["enable_seqscan": "off"],
                                      setupTimeout: .milliseconds(300))
        let attempt = Task { () -> (any Error)? in
            do { try await conn.connect(); return nil } catch { return error }
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            conn.abort()
            Issue.record("connect was still waiting for the silent server after 20 s")
        }
        let outcome = await attempt.value
        watchdog.cancel()
        let error = try #require(outcome as? PostgresError, "connected to a server that never answers: \(String(describing: outcome))")
        #expect(error.isConnectionLoss, "a connection error, for the reconnect loop to retry: \(error)")
        #expect(error.message.contains("no answer from the server within 300 ms"), "\(error)")
        #expect(await !conn.isConnected, "the half-set-up session is closed, not used without its statement timeout")
        let queries = (try? String(contentsOf: peer.file("queries"), encoding: .utf8)) ?? ""
        #expect(queries == "SET statement_timeout = 5000\n", "the first setup statement, then nothing: \(queries)")
    }

    @Test func errorsCarrySQLStateAndMessage() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            try await conn.execute("CREATE TABLE u (k text PRIMARY KEY)")
            try await conn.query("INSERT INTO u VALUES ($1)", ["a"])
            await #expect {
                try await conn.query("INSERT INTO u VALUES ($1)", ["a"])
            } throws: { error in
                guard let e = error as? PostgresError else { return false }
                return e.sqlState == "23505" && e.kind == .statement && e.message.contains("duplicate key")
                    && !e.isConnectionLoss && "\(e)".contains("SQLSTATE 23505")
            }
            await #expect {
                try await conn.execute("SELEC 1")
            } throws: { ($0 as? PostgresError)?.sqlState == "42601" }
            // The connection is still usable after errors.
            #expect(try await conn.query("SELECT 1").rows[0][0] == "1")
            await conn.close()
        }
    }

    @Test func refusedConnectionIsAConnectionError() async throws {
        let conn = PostgresConnection(connectionString: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
        await #expect {
            try await conn.connect()
        } throws: { error in
            guard let e = error as? PostgresError else { return false }
            return e.kind == .connection && e.isConnectionLoss && !e.message.contains("\n")
        }
    }

    @Test func conninfoStringsAndPGEnvironmentDefaultsWork() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let url = try #require(URLComponents(string: db.url))
            let conninfo = "host=\(url.host!) port=\(url.port!) user=\(url.user!) dbname=\(db.name) application_name='herald test'"
            let conn = PostgresConnection(connectionString: conninfo)
            try await conn.connect()
            let r = try await conn.query("SELECT current_database(), current_setting('application_name')")
            #expect(r.rows[0][0] == db.name)
            #expect(r.rows[0][1] == "herald test")
            await conn.close()
        }
    }

    @Test func listenReceivesNotifyAndWakeInterruptsTheWait() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let listener = try await db.connect()
            try await listener.listen("herald_test")
            let sender = try await db.connect()
            try await sender.query("SELECT pg_notify('herald_test', $1)", ["hello"])
            let notes = try await listener.waitForNotifications(timeout: .seconds(5))
            #expect(notes.map(\.payload) == ["hello"])
            #expect(notes.first?.channel == "herald_test")

            let started = ContinuousClock.now
            Task {
                try await Task.sleep(for: .milliseconds(200))
                listener.wake()
            }
            let none = try await listener.waitForNotifications(timeout: .seconds(30))
            #expect(none.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(10))
            await listener.close()
            await sender.close()
        }
    }

    @Test func reconnectRestoresListenAndDetectsTermination() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            try await conn.listen("herald_again")
            let pid = try #require(try await conn.query("SELECT pg_backend_pid()").rows[0][0])
            let killer = try await db.connect()
            try await killer.query("SELECT pg_terminate_backend($1::int)", [pid])
            try await Task.sleep(for: .milliseconds(200))
            await #expect {
                try await conn.query("SELECT 1")
            } throws: { ($0 as? PostgresError)?.isConnectionLoss == true }
            try await conn.connect()
            try await killer.query("NOTIFY herald_again")
            #expect(try await conn.waitForNotifications(timeout: .seconds(5)).count == 1)
            await conn.close()
            await killer.close()
        }
    }
}
