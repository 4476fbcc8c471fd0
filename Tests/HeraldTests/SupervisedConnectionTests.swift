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
            let calls = Counter()
            // Ten callers at once: one attempt, and its follow-up once.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<10 { group.addTask { try await supervised.connect(then: { calls.add() }) } }
                try await group.waitForAll()
            }
            #expect(supervised.state == .up && supervised.everUp)
            #expect(calls.value <= 10 && calls.value >= 1)
            #expect(try await supervised.connection.query("SELECT current_setting('application_name')").scalar == "herald-test")
            #expect(try await supervised.connection.query("SHOW statement_timeout").scalar == "5s")
            supervised.markDown()
            #expect(supervised.state == .down)
            await #expect(throws: PostgresError.self) { try await supervised.connection.query("SELECT 1") }
            supervised.connectInBackground()
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
