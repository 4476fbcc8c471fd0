import HeraldCore
import HeraldPostgres

/// What the installation keeps once: its schema version and its secrets.
extension CatalogStore {
    /// The highest migration applied (`herald.schema_migrations`).
    public func schemaVersion() async throws -> Int {
        try await Migrator(connection: connection).currentVersion()
    }

    /// The secret called `name`, stored once: the first daemon to ask stores `generated`;
    /// every daemon on this database gets the same value.
    public func secret(_ name: String, generated: String) async throws -> String {
        let result = try await connection.query("""
            WITH stored AS (
                INSERT INTO herald.secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value
            )
            SELECT value FROM stored UNION ALL SELECT value FROM herald.secret WHERE name = $1 LIMIT 1
            """, [name, generated])
        guard let value = result.scalar else { throw PostgresError(kind: .decoding, message: "herald.secret has no \(name)") }
        return value
    }
}
