import Foundation
import Testing

/// The real binary expanding 10,000 events, killed with SIGKILL once in the middle:
/// every event ends done, and each made its message exactly once.
@Suite struct EventBurstTests {
    @Test func tenThousandEventsSurviveAKillNineWithNothingLostOrDoubled() async throws {
        try await CPUGate.run { try await TestDatabase.with { db in
            let out = try temporaryDirectory()
            // The rule's channel (email) has no driver here: its messages wait, so what is
            // measured is the expansion alone.
            let path = try DaemonTests().config(db, out: out)
            try await db.execute("""
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template) VALUES ('burst.confirm', 'appointment', 'created', '{email}', 't');
                INSERT INTO herald.contact (id, email) SELECT 'c' || g, 'client' || g || '@example.es' FROM generate_series(1, 100) g;
                INSERT INTO herald.event (subject_type, subject_id, type, starts_at, contact_id)
                SELECT 'appointment', 'A-' || g, 'created', now() + interval '3 days' + g * interval '1 minute', 'c' || (g % 100 + 1)
                  FROM generate_series(1, 10000) g;
                """)
            let first = try HeraldProcess(["run", "--config", path])
            #expect(try await db.waitUntil(timeout: .seconds(120)) {
                Int(try await db.scalar("SELECT count(*) FROM herald.event WHERE state = 'done'") ?? "0") ?? 0 >= 1500
            })
            first.signal(SIGKILL)
            _ = await first.wait(timeout: .seconds(5))
            let beforeRestart = Int(try await db.scalar("SELECT count(*) FROM herald.event WHERE state = 'done'") ?? "0") ?? 0
            #expect(beforeRestart < 10_000, "the kill landed after the burst; nothing was tested")
            let second = try HeraldProcess(["run", "--config", path, "--exit-when-idle"])
            let status = await second.wait(timeout: .seconds(180))
            #expect(status == 0, "\(second.stderr.suffix(2000))")
            #expect(try await db.scalar("SELECT state || ' ' || count(*) FROM herald.event GROUP BY state") == "done 10000")
            #expect(try await db.scalar("SELECT count(*) || ' ' || count(DISTINCT subject_id) FROM herald.message") == "10000 10000")
            #expect(try await db.scalar("SELECT count(*) FROM herald.event_outcome WHERE action = 'created'") == "10000")
        } }
    }
}
