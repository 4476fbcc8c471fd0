import Foundation
import HeraldOutbox
import HeraldPostgres
import Testing

/// Migration 025: `herald.event_status` and `herald.event_starts_at` in PL/pgSQL answer what
/// their SQL definitions (migration 016) answered, for every kind of event.
@Suite struct EventColumnTests {
    /// Migration 016's definitions, in a schema of their own (the database is thrown away).
    static let sqlDefinitions = """
        CREATE SCHEMA t016;
        CREATE FUNCTION t016.status_016(e herald.event) RETURNS text LANGUAGE sql STABLE AS $$
            SELECT CASE WHEN e.subject_type = 'appointment' THEN
                        CASE x.s WHEN 'rejected' THEN 'declined' WHEN 'approved' THEN 'confirmed' WHEN 'accepted' THEN 'confirmed' ELSE x.s END
                   ELSE x.s END
              FROM (SELECT lower(btrim(coalesce(e.status,
                        CASE WHEN e.type <> 'created' THEN
                            (SELECT p.status FROM herald.event p
                              WHERE p.subject_type = e.subject_type AND p.subject_id = e.subject_id AND p.id < e.id AND p.status IS NOT NULL
                              ORDER BY p.id DESC LIMIT 1) END,
                        CASE WHEN e.subject_type = 'appointment' THEN 'confirmed' END))) AS s) x
        $$;
        CREATE FUNCTION t016.starts_016(e herald.event) RETURNS timestamptz LANGUAGE sql STABLE AS $$
            SELECT coalesce(e.starts_at,
                CASE WHEN e.type <> 'created' THEN
                    (SELECT p.starts_at FROM herald.event p
                      WHERE p.subject_type = e.subject_type AND p.subject_id = e.subject_id AND p.id < e.id AND p.starts_at IS NOT NULL
                      ORDER BY p.id DESC LIMIT 1) END)
        $$;
        """

    @Test func thePLpgSQLColumnsAnswerAsTheSQLDefinitionsDid() async throws {
        try await TestDatabase.with { db in
            // Every subject type × type × own status × own start, twice, over three subjects per
            // subject type (so later events look back at earlier ones, with and without values).
            try await db.execute("""
                INSERT INTO herald.event (subject_type, subject_id, type, status, starts_at)
                SELECT st, st || '-' || (s.status_i + s.start_i) % 3, t, s.status, s.starts_at
                  FROM generate_series(1, 2) round,
                       unnest(ARRAY['appointment', 'work_order', 'lead']) st,
                       unnest(ARRAY['created', 'status_changed', 'time_changed', 'cancelled', 'completed', 'rescheduled']) t,
                       (SELECT status_i, status, start_i, starts_at
                          FROM unnest(ARRAY[NULL, 'Rejected ', 'approved', 'ACCEPTED', 'pending', '', 'in_repair'])
                               WITH ORDINALITY a(status, status_i),
                               unnest(ARRAY[NULL, '2026-12-20 10:00+00', 'infinity']::timestamptz[]) WITH ORDINALITY b(starts_at, start_i)) s
                 ORDER BY round, t, st;
                """)
            try await db.execute(Self.sqlDefinitions)
            let count = try await db.scalar("SELECT count(*) FROM herald.event") ?? "0"
            #expect(Int(count) ?? 0 >= 700)
            let differ = try await db.query("""
                SELECT e.id, e.subject_type, e.type, e.status, herald.event_status(e), t016.status_016(e),
                       herald.event_starts_at(e), t016.starts_016(e)
                  FROM herald.event e
                 WHERE herald.event_status(e) IS DISTINCT FROM t016.status_016(e)
                    OR herald.event_starts_at(e) IS DISTINCT FROM t016.starts_016(e)
                 LIMIT 5
                """).rows
            #expect(differ.isEmpty, "\(differ)")
            // The look back is taken: a status change without its own status or start has the
            // last ones recorded for its subject.
            let looked = try await db.scalar("""
                SELECT count(*) FROM herald.event e
                 WHERE e.type <> 'created' AND e.status IS NULL AND e.starts_at IS NULL
                   AND herald.event_status(e) IS DISTINCT FROM (CASE WHEN e.subject_type = 'appointment' THEN 'confirmed' END)
                """) ?? "0"
            #expect(Int(looked) ?? 0 > 0)
            let lookedStart = try await db.scalar("""
                SELECT count(*) FROM herald.event e WHERE e.type <> 'created' AND e.starts_at IS NULL AND herald.event_starts_at(e) IS NOT NULL
                """) ?? "0"
            #expect(Int(lookedStart) ?? 0 > 0)
        }
    }
}
