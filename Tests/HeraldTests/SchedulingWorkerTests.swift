import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldScheduling
@testable import HeraldWorker
import Synchronization
import Testing

/// A clock a test moves by hand.
final class TestClock: Sendable {
    private let instant: Mutex<Date>
    init(_ start: Date) { instant = Mutex(start) }
    var now: Date { instant.withLock { $0 } }
    func set(_ date: Date) { instant.withLock { $0 = date } }
    var function: @Sendable () -> Date { { [self] in self.now } }
}

@Suite struct SchedulingWorkerTests {
    // Thursday 2027-01-14, in the future so the database's own clock never finds these rows due.
    let evening = at("2027-01-14 23:00", "Europe/Madrid")

    @Test func anSMSEnqueuedAt23LocalIsDeliveredAt08Local() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(body: "Recordatorio para {{name}}")
            let clock = TestClock(evening)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, time_zone, data, send_at)
                VALUES ('sms', '+34600111222', 't', 'Europe/Madrid', '{"name":"Lucía"}', to_timestamp($1::float8))
                """, [evening.timeIntervalSince1970])
            let driver = ScriptedDriver()
            let worker = makeWorker(db, drivers: [.sms: driver], poll: .milliseconds(100), exitWhenIdle: false,
                                    scheduling: SchedulingPolicy(defaultTimeZone: "UTC"), clock: clock.function)
            let task = Task { try await worker.run() }

            let eight = at("2027-01-15 08:00", "Europe/Madrid")
            #expect(try await db.waitUntil {
                try await db.scalar("SELECT next_attempt_at = to_timestamp($1::float8) FROM herald.message", [eight.timeIntervalSince1970]) == "t"
            })
            let row = try await db.query("SELECT status, attempts, last_error FROM herald.message").rows[0]
            #expect(row[0] == "pending" && row[1] == "0")
            #expect(row[2] == "deferred: quiet hours 21:00-08:00 for sms in Europe/Madrid")
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "0", "a deferral is not an attempt")

            // At 07:59 a probe due then (urgent: no quiet hours) is sent: the worker looked at the
            // outbox at 07:59 and left the deferred message alone.
            let early = at("2027-01-15 07:59", "Europe/Madrid")
            clock.set(early)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, time_zone, data, send_at, urgent)
                VALUES ('sms', '+34600999999', 't', 'Europe/Madrid', '{"name":"probe"}', to_timestamp($1::float8), true)
                """, [early.timeIntervalSince1970])
            #expect(try await db.waitUntil { try await db.scalar("SELECT status FROM herald.message WHERE id = 2") == "sent" })
            #expect(driver.deliveries == [2: 1], "not before 08:00 local")

            clock.set(eight)
            #expect(try await db.waitUntil { try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "sent" })
            #expect(driver.deliveries == [1: 1, 2: 1])
            #expect(try await db.query("SELECT number, outcome FROM herald.attempt WHERE message_id = 1").rows == [["1", "sent"]])
            worker.requestStop()
            try await task.value
        }
    }

    @Test func aReminderThatQuietHoursPushPastTheLeadExpires() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, time_zone, data, send_at, event_at)
                VALUES ('sms', '+34600111222', 't', 'Europe/Madrid', '{"name":"A"}', to_timestamp($1::float8), to_timestamp($2::float8))
                """, [evening.timeIntervalSince1970, at("2027-01-15 07:30", "Europe/Madrid").timeIntervalSince1970])
            let driver = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: driver], scheduling: SchedulingPolicy(), clock: TestClock(evening).function))
            let row = try await db.query("SELECT status, attempts, last_error FROM herald.message").rows[0]
            #expect(row[0] == "expired" && row[1] == "0")
            #expect(row[2] == "expired: would go out at 2027-01-15 08:00 Europe/Madrid (quiet hours 21:00-08:00 for sms in Europe/Madrid), less than 30 min before the appointment at 2027-01-15 07:30 Europe/Madrid")
            #expect(driver.deliveries.isEmpty)
        }
    }

    @Test func businessHoursFromTheLocationTablesAndBadLocationsFail() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(channel: "email", subject: "s")
            let clock = TestClock(evening)
            // Woken only by NOTIFY (no poll within the test): the locations' notification comes
            // before the messages', so the worker reloads before it claims them.
            let worker = makeWorker(db, drivers: [.email: ScriptedDriver()], poll: .seconds(60), exitWhenIdle: false,
                                    scheduling: SchedulingPolicy(), clock: clock.function)
            let task = Task { try await worker.run() }
            #expect(try await db.waitUntil { try await db.isIdle() }, "the worker never went idle")
            // Added while the worker runs: it reloads locations on NOTIFY herald_location.
            try await db.execute("""
                INSERT INTO herald.location (id, name, time_zone) VALUES ('ws', 'Taller Centro', 'Europe/Madrid'), ('mars', 'Base', 'Mars/Olympus');
                INSERT INTO herald.location (id, name, time_zone, quiet_hours) VALUES ('odd', 'Odd', 'Europe/Madrid', '{"sms": "late"}');
                INSERT INTO herald.location_hours (location_id, weekday, opens, closes)
                SELECT 'ws', d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '13:00'::time), ('15:00', '19:00')) h(o, c);
                INSERT INTO herald.location_closed (location_id, day) VALUES ('ws', '2027-01-15');
                """)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data, send_at, location_id, business_hours_only) VALUES
                  ('email', 'a@example.es', 't', '{"name":"A"}', to_timestamp($1::float8), 'ws', true),
                  ('email', 'b@example.es', 't', '{"name":"B"}', to_timestamp($1::float8), 'mars', false),
                  ('email', 'c@example.es', 't', '{"name":"C"}', to_timestamp($1::float8), 'nowhere', false),
                  ('email', 'd@example.es', 't', '{"name":"D"}', to_timestamp($1::float8), 'odd', false),
                  ('email', 'e@example.es', 't', '{"name":"E"}', to_timestamp($1::float8), NULL, true)
                """, [evening.timeIntervalSince1970])
            #expect(try await db.waitUntil { try await db.scalar("SELECT count(*) FROM herald.message WHERE status <> 'sending' AND (status <> 'pending' OR last_error IS NOT NULL)") == "5" })
            let rows = try await db.query("SELECT recipient, status, last_error, next_attempt_at = to_timestamp($1::float8) FROM herald.message ORDER BY id",
                                          [at("2027-01-18 09:00", "Europe/Madrid").timeIntervalSince1970]).rows
            // Thursday 23:00, closed on Friday the 15th: Monday 09:00.
            #expect(rows[0][1] == "pending" && rows[0][3] == "t" && rows[0][2] == "deferred: outside the opening hours of Taller Centro (Europe/Madrid)")
            #expect(rows[1][1] == "failed" && rows[1][2] == "unknown time zone \"Mars/Olympus\" (time zone of location mars); expected an IANA name such as Europe/Madrid")
            #expect(rows[2][1] == "failed" && rows[2][2] == "unknown location \"nowhere\" (no row in herald.location)")
            #expect(rows[3][1] == "failed" && rows[3][2] == "location odd: invalid time window \"late\": expected HH:MM-HH:MM (e.g. 21:00-08:00) or off")
            #expect(rows[4][1] == "failed" && rows[4][2] == "business_hours_only is set but the message has no location_id")
            worker.requestStop()
            try await task.value
            // The database refuses an inverted opening interval outright.
            await #expect { try await db.query("INSERT INTO herald.location_hours VALUES ('ws', 6, '14:00', '09:00')") } throws: {
                "\($0)".contains("opens_before_closes")
            }
        }
    }

    @Test func explainAnswersWhatTheWorkerDoes() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, time_zone, data, send_at) VALUES
                  ('sms', '+34600111222', 't', 'Europe/Madrid', '{"name":"A"}', to_timestamp($1::float8)),
                  ('sms', '+34600111333', 't', 'Europe/Madrid', '{"name":"B"}', to_timestamp($1::float8)),
                  ('sms', '+34600111444', 't', 'Mars/Olympus', '{"name":"C"}', to_timestamp($1::float8)),
                  ('sms', '+34600111555', 't', 'Europe/Madrid', '{}', to_timestamp($1::float8))
                """, [evening.timeIntervalSince1970])
            try await db.query("UPDATE herald.message SET event_at = to_timestamp($1::float8) WHERE id = 2",
                               [at("2027-01-15 08:15", "Europe/Madrid").timeIntervalSince1970])
            let path = try writeConfig("[database]\nurl = \"\(db.url)\"\n[channels.sms]\ndriver = \"log\"\n")
            let atArg = "2027-01-14T22:00:00Z"  // 23:00 in Madrid

            let (s1, out1, e1) = try await HeraldProcess.run(["explain", "1", "--config", path, "--at", atArg])
            #expect(s1 == 0, "\(e1)")
            let lines1 = out1.split(separator: "\n", maxSplits: 1).map(String.init)
            #expect(lines1[0] == "message 1 (pending): deferred until 2027-01-15 08:00 Europe/Madrid: quiet hours 21:00-08:00 for sms in Europe/Madrid")
            let jsonText1 = try #require(out1.firstIndex(of: "{").map { String(out1[$0...]) })
            let json1 = try #require(try JSONSerialization.jsonObject(with: Data(jsonText1.utf8)) as? [String: Any])
            #expect(json1["decision"] as? String == "defer")
            #expect(json1["until"] as? String == "2027-01-15T07:00:00Z")
            #expect(json1["time_zone"] as? String == "Europe/Madrid")

            let (_, out2, _) = try await HeraldProcess.run(["explain", "2", "--config", path, "--at", atArg])
            #expect(out2.hasPrefix("message 2 (pending): expired: would go out at 2027-01-15 08:00 Europe/Madrid"))
            let (_, out3, _) = try await HeraldProcess.run(["explain", "1", "--config", path, "--at", "2027-01-15T07:00:00Z"])
            #expect(out3.hasPrefix("message 1 (pending): send now (2027-01-15 08:00 Europe/Madrid)"))
            let (_, out4, _) = try await HeraldProcess.run(["explain", "3", "--config", path, "--at", atArg])
            #expect(out4.hasPrefix("message 3 (pending): would fail: unknown time zone \"Mars/Olympus\""))
            // Rendering is part of the decision: explain says what the worker will do with a bad row.
            let (_, out6, _) = try await HeraldProcess.run(["explain", "4", "--config", path, "--at", "2027-01-15T07:00:00Z"])
            #expect(out6.hasPrefix("message 4 (pending): would fail: template t (en) body uses name, missing from data"), "\(out6)")
            let (s5, _, e5) = try await HeraldProcess.run(["explain", "99", "--config", path])
            #expect(s5 != 0 && e5.contains("no message 99"))

            // The worker, at the same instant, does what explain said.
            try await drain(makeWorker(db, drivers: [.sms: ScriptedDriver()], scheduling: SchedulingPolicy(),
                                       clock: TestClock(ISO8601DateFormatter().date(from: atArg)!).function))
            let rows = try await db.query("SELECT status, to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM herald.message ORDER BY id").rows
            #expect(rows[0] == ["pending", json1["until"] as? String])
            #expect(rows[1][0] == "expired")
            #expect(rows[2][0] == "failed")
            #expect(rows[3][0] == "pending", "deferred first: rendering comes after the rules")
        }
    }
}
