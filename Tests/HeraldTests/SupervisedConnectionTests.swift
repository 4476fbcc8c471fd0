import Foundation
import HeraldOutbox
import HeraldPostgres
import Testing

/// The one connection supervisor (issue 23): the daemon, the listener and the CLI keep
/// their connections through it.
@Suite struct SupervisedConnectionTests {
    @Test func attemptsAreSharedStateIsKnownAndACutConnectionIsDown() async throws {
        try await TestDatabase.with { db in
            let supervised = SupervisedConnection(databaseURL: db.url, applicationName: "herald-test", statementTimeout: .seconds(5))
            #expect(supervised.state == .down && !supervised.everUp)
            // Ten callers at once share the attempts under way.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<10 { group.addTask { try await supervised.connect() } }
                try await group.waitForAll()
            }
            #expect(supervised.state == .up && supervised.everUp)
            #expect(try await supervised.connection.query("SELECT current_setting('application_name')").scalar == "herald-test")
            #expect(try await supervised.connection.query("SHOW statement_timeout").scalar == "5s")
            supervised.markDown()
            #expect(supervised.state == .down)
            await #expect(throws: PostgresError.self) { try await supervised.connection.query("SELECT 1") }
            supervised.connectInBackground()
            // Said at once (the listener answers 503 at once only while a reconnect is under way).
            #expect(supervised.state != .down)
            #expect(try await db.waitUntil { supervised.state == .up })
            #expect(try await supervised.stores.messages.status().schemaVersion > 0)
            await supervised.close()
        }
    }

    @Test func aDatabaseThatIsNotThereLeavesItDownWithTheReasonAndNoPassword() async throws {
        let supervised = SupervisedConnection(databaseURL: "postgresql://herald:s3cret-pw@127.0.0.1:1/herald?connect_timeout=2",
                                              applicationName: "herald-test", statementTimeout: nil)
        do {
            try await supervised.connect()
            Issue.record("connected to nothing")
        } catch {
            #expect(!"\(error)".contains("s3cret-pw"), "\(error)")
        }
        #expect(supervised.state == .down && !supervised.everUp)
    }
}
