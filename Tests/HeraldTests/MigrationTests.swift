import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Testing

@Suite struct MigrationTests {
    @Test func embeddedMigrationsMatchTheSQLFolder() throws {
        let folder = repositoryRoot.appendingPathComponent("sql")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.map { String($0.dropLast(4)) } == Migration.all.map(\.name),
                "sql/ and the embedded migrations differ: run deploy/gen-migrations")
        for migration in Migration.all {
            let text = try String(contentsOf: folder.appendingPathComponent(migration.name + ".sql"), encoding: .utf8)
            #expect(text == migration.sql + (text.hasSuffix("\n") && !migration.sql.hasSuffix("\n") ? "\n" : ""),
                    "\(migration.name) differs from sql/: run deploy/gen-migrations")
        }
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count))
    }

    @Test func migrateTwiceIsANoOp() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            let migrator = Migrator(connection: conn)
            #expect(try await migrator.currentVersion() == 0)
            await #expect(throws: MigrationError.self) { try await migrator.verifyCurrent() }
            let first = try await migrator.migrate()
            #expect(first.count == Migration.all.count)
            #expect(try await migrator.migrate().isEmpty)
            try await migrator.verifyCurrent()
            #expect(try await db.scalar("SELECT count(*) FROM herald.schema_migrations") == "\(Migration.all.count)")
            await conn.close()
        }
    }

    @Test func concurrentMigrationsAreSerialisedByTheAdvisoryLock() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let applied = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let conn = try await db.connect()
                        let n = try await Migrator(connection: conn).migrate().count
                        await conn.close()
                        return n
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(applied.sorted() == [0, 0, 0, Migration.all.count])
            #expect(try await db.scalar("SELECT count(*) FROM herald.schema_migrations") == "\(Migration.all.count)")
        }
    }

    @Test func theRealBinaryMigratesFromTwoShellsAtOnce() async throws {
        try await TestDatabase.with(migrated: false) { db in
            async let a = HeraldProcess.run(["migrate"], environment: ["HERALD_DATABASE_URL": db.url])
            async let b = HeraldProcess.run(["migrate"], environment: ["HERALD_DATABASE_URL": db.url])
            let (ra, rb) = try await (a, b)
            #expect(ra.0 == 0 && rb.0 == 0, "stderr: \(ra.2) \(rb.2)")
            let outputs = [ra.1, rb.1]
            #expect(outputs.filter { $0.contains("applied 001_outbox") }.count == 1)
            #expect(outputs.filter { $0.contains("schema is up to date") }.count == 1)
        }
    }

    /// Roles are cluster-wide and the advisory lock serialises one database's migrations
    /// only: another database's migration can create a role between 007's "if not exists"
    /// and its `CREATE ROLE`. Forced here: a second session creates the role without
    /// committing, the migration's `CREATE ROLE` waits on it, the second session commits,
    /// and the migration meets the duplicate key. It is rolled back and run once more.
    @Test func aRoleMadeByAnotherDatabasesMigrationMidwayIsRetried() async throws {
        let role = "herald_test_race_\(UInt32.random(in: 0...UInt32.max))"
        let race = Migration(version: 1, name: "001_race", sql: """
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)') THEN CREATE ROLE \(role) NOLOGIN; END IF;
            END $$;
            """)
        try await TestDatabase.with(migrated: false) { db in
            let other = try await db.connect()
            try await other.execute("BEGIN; CREATE ROLE \(role) NOLOGIN")
            let conn = try await db.connect()
            let migration = Task { try await Migrator(connection: conn, migrations: [race]).migrate().map(\.name) }
            let waiting = try await db.waitUntil {
                try await db.scalar("""
                    SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%CREATE ROLE%'
                    """) == "1"
            }
            #expect(waiting, "the migration's CREATE ROLE never waited on the uncommitted one")
            try await other.execute("COMMIT")
            let applied = await migration.result
            #expect((try? applied.get()) == ["001_race"], "\(applied)")
            #expect(try await db.scalar("SELECT name FROM herald.schema_migrations") == "001_race")
            try await other.execute("DROP ROLE \(role)")
            await other.close()
            await conn.close()
        }
    }

    @Test func anEditedMigrationIsRefused() async throws {
        try await TestDatabase.with { db in
            let conn = try await db.connect()
            var edited = Migration.all
            edited[0].sql += "\n-- edited"
            await #expect {
                try await Migrator(connection: conn, migrations: edited).migrate()
            } throws: { "\($0)".contains("differs from the one applied") }
            await conn.close()
        }
    }

    @Test func aNewerDatabaseIsRefused() async throws {
        try await TestDatabase.with { db in
            try await db.query("INSERT INTO herald.schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')")
            let conn = try await db.connect()
            await #expect {
                try await Migrator(connection: conn).verifyCurrent()
            } throws: { "\($0)".contains("newer than this herald") }
            await conn.close()
        }
    }
}

@Suite struct MessageStatusTests {
    /// `MessageStatus` mirrors the `CHECK` constraint of `herald.message.status`, value for value.
    @Test func theEnumIsTheDatabasesCheckConstraint() async throws {
        try await TestDatabase.with { db in
            let definition = try #require(try await db.scalar("""
                SELECT pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE conrelid = 'herald.message'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status%'
                """))
            let values = Set(definition.matches(of: /'([a-z_]+)'::text/).map { String($0.1) })
            #expect(values == Set(MessageStatus.allCases.map(\.rawValue)), "\(definition)")
            #expect(MessageStatus.allCases.filter { !$0.isFinished } == [.pending, .sending])
        }
    }
}

/// Migration 014 (issue 16) on an outbox that already has messages and attempts: applied in
/// place, and deleting a message still deletes its attempts (now by a statement trigger,
/// not the dropped foreign key), by retention and by a host's DELETE alike.
@Suite struct SpeedMigrationTests {
    @Test func anExistingOutboxUpgradesInPlaceAndDeletesStillTakeTheirAttempts() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            _ = try await Migrator(connection: conn, migrations: Migration.all.filter { $0.version < 14 }).migrate()
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, status, updated_at)
                SELECT 'sms', '+3460000000' || g, 't', 'sent', now() - interval '40 days' FROM generate_series(1, 3) g;
                INSERT INTO herald.attempt (message_id, number, started_at, outcome) SELECT id, 1, now(), 'sent' FROM herald.message;
                """)
            #expect(try await db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'attempt_message_id_fkey'") == "1")
            let applied = try await Migrator(connection: conn).migrate()
            #expect(applied.map(\.version).contains(14))
            #expect(try await db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'attempt_message_id_fkey'") == "0")
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "3", "the upgrade keeps what was there")

            try await db.query("DELETE FROM herald.message WHERE id = 1")
            #expect(try await db.scalar("SELECT string_agg(message_id::text, ',' ORDER BY message_id) FROM herald.attempt") == "2,3")
            #expect(try await db.scalar("SELECT herald.prune(interval '30 days', 10)") == "2")
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "0", "retention takes the attempts too")
            await conn.close()
        }
    }
}
