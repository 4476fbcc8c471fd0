import HeraldPostgres

/// One numbered schema change from `sql/`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// FNV-1a 64 of the SQL text: detects a migration edited after it was applied.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// The newest schema version this binary knows.
    public static var latestVersion: Int { all.map(\.version).max() ?? 0 }
}

/// Errors from applying or checking migrations.
public enum MigrationError: Error, CustomStringConvertible, Sendable {
    case edited(version: Int, name: String)
    case behind(database: Int, binary: Int)
    case ahead(database: Int, binary: Int)

    public var description: String {
        switch self {
        case .edited(let version, let name):
            return "migration \(version) (\(name)) differs from the one applied to this database; never edit an applied migration, add a new one"
        case .behind(let database, let binary):
            return "database schema is at version \(database), this herald needs \(binary): run `herald migrate`"
        case .ahead(let database, let binary):
            return "database schema is at version \(database), newer than this herald (\(binary)): upgrade herald"
        }
    }
}

/// Applies migrations in order, each in its own transaction, under an advisory lock.
public struct Migrator: Sendable {
    /// Key of the session advisory lock held while migrating (arbitrary, stable).
    public static let advisoryLockKey: Int64 = 0x4845_5241_4C44  // "HERALD"

    let connection: PostgresConnection
    let migrations: [Migration]

    public init(connection: PostgresConnection, migrations: [Migration] = Migration.all) {
        self.connection = connection
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies what is missing; returns the migrations applied now (empty: nothing to do).
    /// Safe to run from several processes at once: the advisory lock serialises them.
    public func migrate() async throws -> [Migration] {
        try await connection.query("SELECT pg_advisory_lock($1::bigint)", [Self.advisoryLockKey])
        do {
            let applied = try await migrateLocked()
            try await connection.query("SELECT pg_advisory_unlock($1::bigint)", [Self.advisoryLockKey])
            return applied
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            _ = try? await connection.query("SELECT pg_advisory_unlock($1::bigint)", [Self.advisoryLockKey])
            throw error
        }
    }

    private func migrateLocked() async throws -> [Migration] {
        try await connection.execute("""
            SET client_min_messages = warning;
            CREATE SCHEMA IF NOT EXISTS herald;
            CREATE TABLE IF NOT EXISTS herald.schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            RESET client_min_messages;
            """)
        let rows = try await connection.query("SELECT version, checksum FROM herald.schema_migrations")
        var done: [Int: String] = [:]
        for row in rows.named {
            if let v = row.int("version") { done[v] = row["checksum"] ?? "" }
        }
        var applied: [Migration] = []
        for migration in migrations {
            if let checksum = done[migration.version] {
                guard checksum == migration.checksum else {
                    throw MigrationError.edited(version: migration.version, name: migration.name)
                }
                continue
            }
            // Roles are shared by every database of the server, and the advisory lock only
            // serialises migrations of this one: another database's migration can create a
            // role between 007's "if not exists" and its CREATE ROLE. That migration is
            // rolled back and run once more (the role then exists).
            for attempt in 1...2 {
                do {
                    try await apply(migration)
                    break
                } catch let error as PostgresError where attempt == 1 && ["23505", "42710"].contains(error.sqlState ?? "") {
                    _ = try? await connection.execute("ROLLBACK")
                }
            }
            applied.append(migration)
        }
        return applied
    }

    private func apply(_ migration: Migration) async throws {
        try await connection.execute("BEGIN")
        try await connection.execute(migration.sql)
        try await connection.query(
            "INSERT INTO herald.schema_migrations (version, name, checksum) VALUES ($1::integer, $2, $3)",
            [migration.version, migration.name, migration.checksum])
        try await connection.execute("COMMIT")
    }

    /// The highest applied version, or 0 for a database Herald has never migrated.
    public func currentVersion() async throws -> Int {
        let exists = try await connection.query("SELECT to_regclass('herald.schema_migrations') IS NOT NULL")
        guard exists.scalarBool else { return 0 }
        let result = try await connection.query("SELECT coalesce(max(version), 0) FROM herald.schema_migrations")
        return Int(result.scalar ?? "0") ?? 0
    }

    /// Throws unless the database is at exactly this binary's schema version.
    public func verifyCurrent() async throws {
        let current = try await currentVersion()
        let latest = migrations.last?.version ?? 0
        if current < latest { throw MigrationError.behind(database: current, binary: latest) }
        if current > latest { throw MigrationError.ahead(database: current, binary: latest) }
    }
}
