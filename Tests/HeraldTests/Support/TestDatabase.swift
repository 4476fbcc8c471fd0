import Foundation
import HeraldOutbox
import HeraldPostgres
import Testing

/// The server the tests use: `HERALD_TEST_DATABASE_URL` (a superuser URL), set by deploy/test.
enum TestServer {
    static var adminURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["HERALD_TEST_DATABASE_URL"], !url.isEmpty else {
                throw TestSetupError("HERALD_TEST_DATABASE_URL is not set: run the tests with deploy/test, which starts a throwaway PostgreSQL")
            }
            return url
        }
    }

    /// The same server, another database.
    static func url(database: String, base: String? = nil) throws -> String {
        guard var components = URLComponents(string: try base ?? adminURL) else { throw TestSetupError("bad database URL") }
        components.path = "/" + database
        return components.string!
    }

    /// The login role daemons under test use: a member of `herald_daemon` and nothing else,
    /// so a statement the daemon's grants do not allow fails the tests.
    static let daemonRole = "herald_test_daemon"
    /// The admin API's login in tests: member of herald_api only.
    static let apiRole = "herald_test_api"
    /// A host application's login in tests: member of herald_host only.
    static let hostRole = "herald_test_host"

    /// A migrated database to clone; made once per test process.
    static let template = TemplateHolder()
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

actor TemplateHolder {
    private var ready: Task<String, any Error>?

    func name() async throws -> String {
        if let ready { return try await ready.value }
        let task = Task<String, any Error> {
            let name = "herald_tpl_\(ProcessInfo.processInfo.processIdentifier)"
            let admin = PostgresConnection(connectionString: try TestServer.adminURL)
            try await admin.connect()
            try await admin.execute("DROP DATABASE IF EXISTS \(name)")
            try await admin.execute("CREATE DATABASE \(name)")
            let conn = PostgresConnection(connectionString: try TestServer.url(database: name))
            try await conn.connect()
            _ = try await Migrator(connection: conn).migrate()
            await conn.close()
            // The logins the tests run as (daemon, admin API, host), made here once per test
            // process: made by each test, two tests at once raced on the role's name.
            try await admin.execute("""
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(TestServer.daemonRole)') THEN
                        CREATE ROLE \(TestServer.daemonRole) LOGIN IN ROLE herald_daemon;
                    END IF;
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(TestServer.apiRole)') THEN
                        CREATE ROLE \(TestServer.apiRole) LOGIN IN ROLE herald_api;
                    END IF;
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(TestServer.hostRole)') THEN
                        CREATE ROLE \(TestServer.hostRole) LOGIN IN ROLE herald_host;
                    END IF;
                END $$
                """)
            await admin.close()
            return name
        }
        ready = task
        return try await task.value
    }
}

/// A database of its own for one test: migrated, empty, dropped afterwards.
struct TestDatabase: Sendable {
    let name: String
    let url: String

    /// This database as the daemon's least-privileged login role.
    var daemonURL: String {
        guard var components = URLComponents(string: url) else { return url }
        components.user = TestServer.daemonRole
        components.password = nil
        return components.string ?? url
    }

    /// This database as the admin API's login (member of herald_api only).
    var apiURL: String {
        guard var components = URLComponents(string: url) else { return url }
        components.user = TestServer.apiRole
        components.password = nil
        return components.string ?? url
    }

    /// Runs `body` with a fresh migrated database (or an empty one with `migrated: false`).
    static func with<T: Sendable>(migrated: Bool = true, _ body: (TestDatabase) async throws -> T) async throws -> T {
        try await DatabaseGate.run { try await withFresh(migrated: migrated, body) }
    }

    private static func withFresh<T: Sendable>(migrated: Bool, _ body: (TestDatabase) async throws -> T) async throws -> T {
        let name = "herald_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let admin = PostgresConnection(connectionString: try TestServer.adminURL)
        try await admin.connect()
        if migrated {
            let template = try await TestServer.template.name()
            try await admin.execute("CREATE DATABASE \(name) TEMPLATE \(template)")
        } else {
            try await admin.execute("CREATE DATABASE \(name)")
        }
        let db = TestDatabase(name: name, url: try TestServer.url(database: name))
        do {
            let result = try await body(db)
            try await admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            await admin.close()
            return result
        } catch {
            _ = try? await admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            await admin.close()
            throw error
        }
    }

    /// A new connection to this database.
    func connect() async throws -> PostgresConnection {
        let conn = PostgresConnection(connectionString: url)
        try await conn.connect()
        return conn
    }

    /// Runs one query on a short-lived connection.
    @discardableResult
    func query(_ sql: String, _ params: [(any PostgresEncodable)?] = []) async throws -> PostgresResult {
        let conn = try await connect()
        defer { Task { await conn.close() } }
        return try await conn.query(sql, params)
    }

    /// Runs several statements without parameters.
    func execute(_ sql: String) async throws {
        let conn = try await connect()
        defer { Task { await conn.close() } }
        try await conn.execute(sql)
    }

    /// The first column of the first row.
    func scalar(_ sql: String, _ params: [(any PostgresEncodable)?] = []) async throws -> String? {
        try await query(sql, params).rows.first?[0] ?? nil
    }

    /// Inserts a template.
    func addTemplate(key: String = "t", channel: String = "sms", locale: String = "en", subject: String? = nil,
                     body: String = "Hello {{name}}", html: String? = nil) async throws {
        try await query("INSERT INTO herald.template (key, channel, locale, subject, body, html) VALUES ($1,$2,$3,$4,$5,$6)",
                        [key, channel, locale, subject, body, html])
    }

    /// Inserts `count` messages with one statement; returns nothing (ids are 1…count in a fresh database).
    func enqueue(count: Int, channel: String = "sms", template: String = "t", data: String = #"{"name":"Ana"}"#,
                 maxAttempts: Int? = nil) async throws {
        try await query("""
            INSERT INTO herald.message (channel, recipient, template, data, max_attempts)
            SELECT $1, '+3460000' || lpad(g::text, 4, '0'), $2, $3::jsonb, $5::int FROM generate_series(1, $4::int) g
            """, [channel, template, data, count, maxAttempts])
    }

    /// Counts of messages by status.
    func statusCounts() async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try await query("SELECT status, count(*) FROM herald.message GROUP BY status").rows {
            out[row[0] ?? ""] = Int(row[1] ?? "0") ?? 0
        }
        return out
    }

    /// True when a worker on this database has gone idle: its LISTEN connection is open and
    /// its claim connection is idle after a look at the outbox (what a NOTIFY test must wait for).
    func isIdle() async throws -> Bool {
        try await scalar("""
            SELECT count(*) FILTER (WHERE application_name = 'herald-listen') = 1
               AND count(*) FILTER (WHERE application_name = 'herald' AND state = 'idle' AND query LIKE '%next_attempt_at%') = 1
              FROM pg_stat_activity WHERE datname = $1
            """, [name]) == "t"
    }

    /// Ends the sessions a killed daemon left on this database and waits until they are gone.
    /// After a SIGKILL the server still runs each session's statement in progress and commits
    /// it (it notices the closed socket only when it replies), so a count read before this
    /// can be overtaken by that commit. Every other client session here is ended: the test's
    /// own connections are short-lived and closed, and each test has a database of its own.
    func endDaemonSessions() async throws {
        let sessions = "FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        let gone = try await waitUntil(timeout: .seconds(10)) {
            _ = try await query("SELECT pg_terminate_backend(pid) \(sessions)", [name])
            return try await scalar("SELECT count(*) \(sessions)", [name]) == "0"
        }
        if !gone { throw TestSetupError("a killed daemon's sessions are still open: \(try await query("SELECT application_name, state, query \(sessions)", [name]).rows)") }
    }

    /// Polls until `condition` holds or `timeout` passes.
    func waitUntil(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}
