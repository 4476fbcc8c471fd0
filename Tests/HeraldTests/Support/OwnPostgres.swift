import Foundation
import HeraldOutbox

/// A PostgreSQL server of a test's own (deploy/lib/common.sh's herald_pg_start), so that
/// stopping it disturbs no other test. Stopped for good when the test ends.
final class OwnPostgres: Sendable {
    let directory: URL
    let database: TestDatabase
    private static let script = repositoryRoot.appendingPathComponent("deploy/lib/common.sh").path

    /// Starts a server and migrates its `postgres` database.
    static func start() async throws -> OwnPostgres {
        let dir = try temporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let url = try await runShell("source '\(script)' && herald_pg_start '\(dir.path)/pg' && echo $HERALD_PG_URL")
        let server = OwnPostgres(directory: dir, database: TestDatabase(name: "postgres", url: url))
        let conn = try await server.database.connect()
        _ = try await Migrator(connection: conn).migrate()
        await conn.close()
        return server
    }

    private init(directory: URL, database: TestDatabase) {
        self.directory = directory
        self.database = database
    }

    /// Stops the server without waiting for `pg_ctl`: a deinit runs on the cooperative pool,
    /// which the parallel suite shares, and the stop goes on by itself.
    deinit {
        let stop = Process()
        stop.executableURL = URL(fileURLWithPath: "/bin/bash")
        stop.arguments = ["-c", "source '\(Self.script)' && herald_pg_stop '\(directory.path)/pg'"]
        try? stop.run()
    }

    /// Stops the server (`pg_ctl -m fast`: open connections are cut).
    func stop() async throws {
        _ = try await runShell("source '\(Self.script)' && herald_pg_as \"$(herald_pg_bindir)/pg_ctl\" -D '\(directory.path)/pg/data' -m fast -w stop")
    }

    /// Starts it again.
    func resume() async throws {
        _ = try await runShell("source '\(Self.script)' && herald_pg_resume '\(directory.path)/pg'")
    }
}
