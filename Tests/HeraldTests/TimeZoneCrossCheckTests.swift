import Foundation
import HeraldPostgres
import HeraldScheduling
import Testing

/// Herald's zone arithmetic (Foundation/ICU tz data) against PostgreSQL's own time zone
/// implementation (its tz code and the system's tzdata): an independent check.
@Suite struct TimeZoneCrossCheckTests {
    @Test func localTimesAgreeWithPostgreSQLAcrossDSTTransitions() async throws {
        try await TestDatabase.with(migrated: false) { db in
            // Every 20 minutes through the weeks around each 2026 transition, in each zone.
            let rows = try await db.query("""
                SELECT z, extract(epoch FROM t)::bigint, to_char(t AT TIME ZONE z, 'YYYY-MM-DD HH24:MI:SS')
                  FROM unnest($1::text[]) z,
                       generate_series('2026-03-20T00:00Z'::timestamptz, '2026-04-12T00:00Z', '20 minutes') t
                UNION ALL
                SELECT z, extract(epoch FROM t)::bigint, to_char(t AT TIME ZONE z, 'YYYY-MM-DD HH24:MI:SS')
                  FROM unnest($1::text[]) z,
                       generate_series('2026-09-20T00:00Z'::timestamptz, '2026-11-08T00:00Z', '20 minutes') t
                """, [PostgresArray(propertyZones)])
            #expect(rows.rows.count > 30_000)
            var mismatches: [String] = []
            for row in rows.rows {
                let zone = Zone(row[0]!)!
                let (date, second) = zone.local(Int64(row[1]!)!)
                let mine = String(format: "%@ %02d:%02d:%02d", date.description, second / 3600, second % 3600 / 60, second % 60)
                if mine != row[2]! { mismatches.append("\(row[0]!) @\(row[1]!): herald \(mine), postgres \(row[2]!)") }
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        }
    }

    @Test func existingLocalTimesMapToTheSameInstantAsPostgreSQL() async throws {
        try await TestDatabase.with(migrated: false) { db in
            // Local readings every 15 minutes on transition days; keep those PostgreSQL maps back to
            // the same reading (they exist) and compare the instant.
            let rows = try await db.query("""
                SELECT z, to_char(l, 'YYYY-MM-DD'), to_char(l, 'HH24:MI'), extract(epoch FROM (l AT TIME ZONE z))::bigint
                  FROM unnest($1::text[]) z,
                       generate_series('2026-03-28 00:00'::timestamp, '2026-04-06 00:00', '15 minutes') l
                 WHERE ((l AT TIME ZONE z) AT TIME ZONE z) = l
                """, [PostgresArray(propertyZones)])
            var checked = 0
            for row in rows.rows {
                let zone = Zone(row[0]!)!
                let instants = zone.instants(LocalDate(row[1]!)!, LocalTime(row[2]!)!)
                let theirs = Int64(row[3]!)!
                // For a reading that happens twice PostgreSQL may pick either; it must be one of ours.
                #expect(instants.contains(theirs), "\(row[0]!) \(row[1]!) \(row[2]!): herald \(instants), postgres \(theirs)")
                checked += 1
            }
            #expect(checked > 5000)
        }
    }
}
