import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPostgres
import HeraldScheduling
@testable import HeraldWorker
import Logging
import Testing

/// Events expanded into messages by rules, by the expander alone against the real database.
@Suite struct EventTests {
    func expander(_ db: TestDatabase, zone: String = "Europe/Madrid") -> (EventExpander, DatabaseLinks) {
        var policy = SchedulingPolicy(quietHours: [:])
        policy.defaultTimeZone = zone
        let settings = WorkerSettings(workerID: "w", pollInterval: .milliseconds(100), scheduling: policy)
        let context = DaemonContext(settings: settings, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        context.startup.finish()
        let links = DatabaseLinks(databaseURL: db.daemonURL, context: context)
        return (EventExpander(context: context, links: links), links)
    }

    /// Runs the expander until no event is pending.
    func expand(_ db: TestDatabase) async throws {
        let (service, links) = expander(db)
        try await runAlone(service) { () async throws -> Void in
            #expect(try await db.waitUntil { try await db.scalar("SELECT count(*) FROM herald.event WHERE state = 'pending'") == "0" })
        }
        await links.events.connection.close()
    }

    func setUp(_ db: TestDatabase) async throws {
        let conn = try await db.connect()
        _ = try await Stores(connection: conn).catalog.installDefaultRules()
        await conn.close()
        try await db.execute("""
            INSERT INTO herald.location (id, name, time_zone, staff_email) VALUES ('sol', 'Peluquería Sol', 'Europe/Madrid', 'recepcion@sol.example');
            INSERT INTO herald.contact (id, name, email, phone, locale, time_zone) VALUES
              ('ana', 'Ana', 'ana@example.es', '+34600000001', 'es', 'Europe/Madrid');
            """)
    }

    func messages(_ db: TestDatabase) async throws -> [[String?]] {
        try await db.query("""
            SELECT rule_name, channel, status, to_char(send_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') AS send_at
              FROM herald.message ORDER BY id
            """).named.map { [$0["rule_name"], $0["channel"], $0["status"], $0["send_at"]] }
    }

    @Test func createdMakesTheConfirmationAndTheEnabledRemindersOnly() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.query("""
                SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => '2055-03-28 10:00+02', contact_id => 'ana',
                                           location_id => 'sol', status => 'confirmed', data => '{"service":"corte"}')
                """)
            try await expand(db)
            let rows = try await messages(db)
            #expect(rows.filter { $0[0] == "appointment.confirmation" }.map { [$0[1], $0[2]] } == [["sms", "pending"], ["email", "pending"]])
            // '1 day' before 10:00 on the day Madrid moves to summer time: 10:00 the day before, 23 hours earlier.
            #expect(rows.filter { $0[0] == "appointment.reminder.1d" }.map { [$0[1], $0[3]] } == [["sms", "2055-03-27T09:00Z"], ["email", "2055-03-27T09:00Z"]])
            #expect(rows.filter { $0[0] == "staff.appointment.created" }.map { [$0[1], $0[2]] } == [["email", "pending"]], "the location's staff is told")
            #expect(rows.count == 5, "the 6-hour reminder is off by default: \(rows)")
            #expect(try await db.scalar("SELECT recipient FROM herald.message WHERE rule_name = 'staff.appointment.created'") == "recepcion@sol.example")
            let reminder = try #require(try await db.query("""
                SELECT subject_type, subject_id, contact_id, template, locale, time_zone, data->>'service' AS service, data->'client'->>'name' AS name,
                       event_at = '2055-03-28 10:00+02' AS at FROM herald.message WHERE rule_name = 'appointment.reminder.1d' LIMIT 1
                """).named.first)
            #expect([reminder["subject_type"], reminder["subject_id"], reminder["contact_id"], reminder["template"], reminder["locale"],
                     reminder["time_zone"], reminder["service"], reminder["name"], reminder["at"]]
                    == ["appointment", "A-1", "ana", "appointment.reminder", "es", "Europe/Madrid", "corte", "Ana", "t"])
            #expect(try await db.scalar("SELECT state || ' ' || (processed_at IS NOT NULL) FROM herald.event") == "done true")
            #expect(try await db.scalar("SELECT count(*) FROM herald.event_outcome WHERE action = 'created'") == "5")
        }
    }

    @Test func statusChangedToXMatchesOnlyX() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.execute("""
                SELECT herald.record_event('work_order', 'W-1', 'status_changed', status => 'in_repair', previous_status => 'received', contact_id => 'ana');
                SELECT herald.record_event('work_order', 'W-1', 'status_changed', status => 'ready', previous_status => 'in_repair', contact_id => 'ana');
                """)
            try await expand(db)
            #expect(try await messages(db).map { [$0[0], $0[1]] } == [["work_order.ready", "sms"], ["work_order.ready", "email"]])
        }
    }

    @Test func offsetsInMinutesHoursAndDaysAcrossDaylightSavingChanges() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template, send_before) VALUES
                  ('r.1d', 'appointment', 'created', '{sms}', 't', '1 day'),
                  ('r.24h', 'appointment', 'created', '{sms}', 't', '24 hours'),
                  ('r.90m', 'appointment', 'created', '{sms}', 't', '90 minutes');
                INSERT INTO herald.contact (id, phone, time_zone) VALUES
                  ('madrid', '+34600000001', 'Europe/Madrid'), ('paris', '+33600000001', 'Europe/Paris'), ('toronto', '+14165550100', 'America/Toronto');
                -- Madrid springs forward on 28 March 2055, Paris falls back on 31 October 2055, Toronto springs forward on 14 March 2055.
                SELECT herald.record_event('appointment', 'M', 'created', starts_at => '2055-03-28 10:00+02', contact_id => 'madrid');
                SELECT herald.record_event('appointment', 'P', 'created', starts_at => '2055-10-31 10:00+01', contact_id => 'paris');
                SELECT herald.record_event('appointment', 'T', 'created', starts_at => '2055-03-14 15:00-04', contact_id => 'toronto');
                """)
            try await expand(db)
            let rows = try await db.query("""
                SELECT subject_id || ' ' || rule_name || ' ' || to_char(send_at AT TIME ZONE 'UTC', 'MM-DD"T"HH24:MI') AS x
                  FROM herald.message ORDER BY subject_id, rule_name
                """).rows.map { $0[0] ?? "" }
            #expect(rows == [
                "M r.1d 03-27T09:00", "M r.24h 03-27T08:00", "M r.90m 03-28T06:30",   // 10:00 CET the day before is 23 h earlier
                "P r.1d 10-30T08:00", "P r.24h 10-30T09:00", "P r.90m 10-31T07:30",   // 10:00 CEST the day before is 25 h earlier
                "T r.1d 03-13T20:00", "T r.24h 03-13T19:00", "T r.90m 03-14T17:30",   // 15:00 EST the day before is 23 h earlier
            ])
        }
    }

    @Test func aRescheduleMovesTheRemindersAndACancellationCancelsThem() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ana', location_id => 'sol')")
            try await expand(db)
            try await db.query("""
                SELECT herald.record_event('appointment', 'A-1', 'time_changed', starts_at => '2055-05-12 17:30+02',
                                           previous_starts_at => '2055-05-10 13:00+02', contact_id => 'ana', location_id => 'sol')
                """)
            try await expand(db)
            let rows = try await messages(db)
            #expect(rows.filter { $0[0] == "appointment.reminder.1d" }.map { [$0[2], $0[3]] } == [
                ["cancelled", "2055-05-09T11:00Z"], ["cancelled", "2055-05-09T11:00Z"], ["pending", "2055-05-11T15:30Z"], ["pending", "2055-05-11T15:30Z"],
            ])
            #expect(rows.filter { $0[0] == "appointment.confirmation" }.map { $0[2] } == ["pending", "pending"], "not a reminder: kept")
            let moved = try #require(try await db.query("""
                SELECT data->>'previous_event_at' AS before, data->>'event_at' AS after FROM herald.message WHERE rule_name = 'appointment.rescheduled' LIMIT 1
                """).named.first)
            #expect(moved["before"] == "2055-05-10T11:00:00Z" && moved["after"] == "2055-05-12T15:30:00Z")

            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'cancelled', starts_at => '2055-05-12 17:30+02', contact_id => 'ana', location_id => 'sol')")
            try await expand(db)
            let after = try await messages(db)
            #expect(after.filter { $0[2] == "pending" }.map { $0[0] } == ["appointment.cancelled", "appointment.cancelled", "staff.appointment.cancelled"])
            #expect(try await db.scalar("SELECT bool_and(urgent) FROM herald.message WHERE rule_name = 'appointment.cancelled'") == "t")
            #expect(try await db.scalar("""
                SELECT string_agg(DISTINCT reason, ',') FROM herald.event_outcome WHERE action = 'cancelled' AND event_id = 3
                """) == "the appointment was cancelled")
        }
    }

    @Test func locationFiltersPostponeAndFlagsComeFromTheRule() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.execute("""
                INSERT INTO herald.location (id, name, time_zone) VALUES ('norte', 'Peluquería Olivia Norte', 'Europe/Madrid');
                INSERT INTO herald.location_hours (location_id, weekday, opens, closes) SELECT 'sol', d, '00:00', '23:59' FROM generate_series(1, 7) d;
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template, location_ids, postpone, business_hours_only, urgent) VALUES
                  ('only.sol', 'appointment', 'completed', '{sms}', 't', '{sol}', '1 hour', true, true);
                SELECT herald.record_event('appointment', 'A-1', 'completed', starts_at => '2055-05-10 13:00+02', contact_id => 'ana', location_id => 'sol');
                SELECT herald.record_event('appointment', 'A-2', 'completed', starts_at => '2055-05-10 13:00+02', contact_id => 'ana', location_id => 'norte');
                """)
            try await expand(db)
            let rows = try await db.query("""
                SELECT subject_id, postpone::text AS postpone, business_hours_only AS bh, urgent FROM herald.message WHERE rule_name = 'only.sol'
                """).named.map { [$0["subject_id"], $0["postpone"], $0["bh"], $0["urgent"]] }
            #expect(rows == [["A-1", "01:00:00", "t", "t"]], "only the listed location, with the rule's postpone and flags")
            // A business-hours-only rule for a location with no opening hours cannot be scheduled: skipped, saying so.
            try await db.execute("""
                DELETE FROM herald.location_hours;
                SELECT herald.record_event('appointment', 'A-3', 'completed', starts_at => '2055-05-10 13:00+02', contact_id => 'ana', location_id => 'sol');
                """)
            try await expand(db)
            let reason = try await db.scalar("SELECT reason FROM herald.event_outcome WHERE event_id = 3 AND rule_name = 'only.sol'")
            #expect(reason?.hasPrefix("cannot be scheduled: ") == true, "\(reason ?? "-")")
        }
    }

    /// With a 30-second poll, only `NOTIFY herald_event` can make the daemon expand at once.
    @Test func aRecordedEventWakesTheDaemon() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            let worker = makeWorker(db, drivers: [.sms: ScriptedDriver(), .email: ScriptedDriver()], poll: .seconds(30), exitWhenIdle: false)
            let running = Task { try await worker.run() }
            // Started, and the expander's first look at herald.event is over (its last statement
            // is the COMMIT of a transaction that found nothing).
            #expect(try await db.waitUntil {
                guard try await db.isIdle() else { return false }
                return try await db.scalar("""
                    SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND application_name = 'herald-events' AND state = 'idle' AND query = 'COMMIT'
                    """) == "1"
            })
            let start = ContinuousClock.now
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ana')")
            #expect(try await db.waitUntil(timeout: .seconds(10)) { try await db.scalar("SELECT state FROM herald.event") == "done" })
            #expect(ContinuousClock.now - start < .seconds(10), "woken by NOTIFY, not by the 30-second poll")
            worker.requestStop()
            try await running.value
        }
    }

    @Test func explainEventListsWhatTheExpansionDid() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.execute("""
                UPDATE herald.contact SET preference = 'email' WHERE id = 'ana';
                SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'A-1', 'time_changed', starts_at => '2055-05-11 13:00+02', contact_id => 'ana');
                """)
            try await expand(db)
            let (status, out, err) = try await HeraldProcess.run(["explain", "--event", "2"], environment: ["HERALD_DATABASE_URL": db.url])
            #expect(status == 0, "\(err)")
            let lines = out.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("event 2: appointment A-1 time_changed (done ") == true, "\(out)")
            #expect(lines.contains("  cancelled message 2 (its time changed)"), "\(out)")
            #expect(lines.contains("  created   message 3 by appointment.reminder.1d (email)"), "\(out)")
            #expect(lines.contains("  created   message 4 by appointment.rescheduled (email)"), "\(out)")
            #expect(lines.contains("  skipped   appointment.reminder.1d (sms): contact ana prefers email, not sms"), "\(out)")
            #expect(lines.last == "rules matched: appointment.reminder.1d, appointment.rescheduled, staff.appointment.time_changed", "\(out)")
            #expect(lines.contains("  skipped   staff.appointment.time_changed (email): the location has no staff email address"), "\(out)")
            let missing = try await HeraldProcess.run(["explain", "--event", "99"], environment: ["HERALD_DATABASE_URL": db.url])
            #expect(missing.0 == 1 && missing.2.contains("no event 99"))
        }
    }

    @Test func lintChecksThatEveryEnabledRuleHasItsTemplates() async throws {
        try await TestDatabase.with { db in
            let path = try writeConfig("[database]\nurl = \"\(db.url)\"\n[render]\ndefault_locale = \"es\"")
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            _ = try await HeraldProcess.run(["rules", "install-defaults", "--config", path])
            let clean = try await HeraldProcess.run(["templates", "lint", "--config", path])
            #expect(clean.0 == 0, "\(clean.1)\(clean.2)")
            try await db.execute("""
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template) VALUES ('custom', 'appointment', 'created', '{sms,email}', 'custom.welcome');
                INSERT INTO herald.template (key, channel, locale, body) VALUES ('custom.welcome', 'sms', 'de', 'Willkommen');
                INSERT INTO herald.contact (id, locale) VALUES ('c', 'de');
                """)
            let broken = try await HeraldProcess.run(["templates", "lint", "--config", path])
            #expect(broken.0 == 1)
            #expect(broken.1.contains("rule custom: no template custom.welcome for sms in locale es (nor a fallback)"), "\(broken.1)")
            #expect(broken.1.contains("rule custom: no template custom.welcome for email in locales de, es (nor a fallback)"), "\(broken.1)")
        }
    }

    @Test func replayingAnEventCreatesNothingTwice() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            let event = "SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ana')"
            try await db.query(event)
            try await expand(db)
            try await db.query(event)
            try await db.query(event)
            try await expand(db)
            #expect(try await db.scalar("SELECT count(*) FROM herald.message") == "4")
            #expect(try await db.scalar("SELECT count(*) FROM herald.event_outcome WHERE event_id IN (2, 3) AND reason LIKE 'already created%'") == "8")
        }
    }

    @Test func completedSchedulesFeedbackAfterTheVisit() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.query("""
                SELECT herald.record_event('appointment', 'A-1', 'completed', starts_at => '2055-05-10 13:00+02', ends_at => '2055-05-10 14:00+02',
                                           contact_id => 'ana')
                """)
            try await expand(db)
            #expect(try await messages(db).map { [$0[0], $0[3]] } == [["appointment.feedback", "2055-05-10T13:00Z"], ["appointment.feedback", "2055-05-10T13:00Z"]])
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE event_at IS NULL") == "2", "no cutoff after the visit")
        }
    }

    @Test func whatCannotBeSentIsSkippedWithTheReason() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, name, email, phone, preference) VALUES ('mailonly', 'Eva', 'eva@example.es', '+34600000002', 'email'),
                                                                                     ('nophone', 'Luis', 'luis@example.es', NULL, 'both');
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template, recipient) VALUES
                  ('staff.created', 'appointment', 'created', '{email,sms}', 't', 'staff');
                SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => now() + interval '2 hours', contact_id => 'mailonly', location_id => 'sol');
                SELECT herald.record_event('appointment', 'A-2', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'nophone');
                """)
            try await expand(db)
            let skipped = try await db.query("""
                SELECT event_id || ' ' || rule_name || ' ' || channel || ': ' || reason AS line FROM herald.event_outcome
                 WHERE action = 'skipped' ORDER BY event_id, rule_name, channel
                """).rows.map { $0[0] ?? "" }
            #expect(skipped.contains("1 appointment.confirmation sms: contact mailonly prefers email, not sms"))
            #expect(skipped.contains { $0.hasPrefix("1 appointment.reminder.1d email: too late: the reminder was due at ") })
            #expect(skipped.contains("1 staff.created sms: the location has no staff phone address"))
            #expect(skipped.contains("2 appointment.confirmation sms: contact nophone has no phone address"))
            #expect(skipped.contains("2 staff.created email: the location has no staff email address"), "A-2 names no location")
            let staff = try await db.scalar("SELECT recipient || ' ' || coalesce(contact_id, '-') FROM herald.message WHERE rule_name = 'staff.created'")
            #expect(staff == "recepcion@sol.example -")
        }
    }

    @Test func badEventsFailWithAReasonAndTheOthersFlow() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, phone, time_zone) VALUES ('mars', '+34600000003', 'Mars/Olympus_Mons');
                SELECT herald.record_event('appointment', 'A-1', 'exploded', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'A-2', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ana', location_id => 'atlantis');
                SELECT herald.record_event('appointment', 'A-3', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ghost');
                SELECT herald.record_event('appointment', 'A-4', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'mars');
                SELECT herald.record_event('appointment', 'A-5', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ana');
                SELECT herald.record_event('Appointment!', 'A-6', 'created', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'A-8', 'created', starts_at => 'infinity', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'A-9', 'created', starts_at => '2055-05-10 13:00+02', contact_id => 'ana',
                                           data => jsonb_build_object('blob', repeat('x', 300 * 1024)));
                SELECT herald.record_event('work_order', 'W-7', 'status_changed', status => E'ready\n; DROP TABLE x', contact_id => 'ana');
                """)
            try await expand(db)
            let events = try await db.query("SELECT subject_id, state, coalesce(error, '-') AS error FROM herald.event ORDER BY id").named
            #expect(events.map { [$0["subject_id"], $0["state"]] } == [["A-1", "failed"], ["A-2", "failed"], ["A-3", "failed"], ["A-4", "failed"], ["A-5", "done"],
                                                                        ["A-6", "failed"], ["A-8", "done"], ["A-9", "failed"], ["W-7", "failed"]])
            #expect(events[7]["error"] == "data is larger than 256 KB")
            // An infinite start: the confirmation goes, the reminders have no time to count from.
            let infinite = try await db.query("""
                SELECT coalesce(rule_name, '-') || ' ' || action || ' ' || coalesce(reason, '-') AS line FROM herald.event_outcome
                 WHERE event_id = 7 ORDER BY rule_name, channel
                """).rows.map { $0[0] ?? "" }
            #expect(infinite.contains("appointment.reminder.1d skipped the event has no starts_at to count from"), "\(infinite)")
            #expect(infinite.contains("appointment.confirmation created -"), "\(infinite)")
            #expect(events[5]["error"]?.hasPrefix("invalid subject type \"Appointment!\"") == true, "\(events[5])")
            #expect(events[8]["error"]?.hasPrefix("invalid status \"ready ; DROP TABLE x\"") == true, "\(events[8])")
            // Rules are checked when they are written: a typo there would silently never match.
            for (column, value, constraint) in [("subject_type", "'Appoint ment'", "rule_subject_type_is_a_name"),
                                                ("on_event", "'booked'", "rule_on_event_is_an_event_type")] {
                do {
                    try await db.execute("INSERT INTO herald.rule (name, subject_type, on_event, template) VALUES ('bad', 'appointment', 'created', 't')"
                        .replacingOccurrences(of: column == "subject_type" ? "'appointment'" : "'created'", with: value))
                    Issue.record("a rule with a bad \(column) was accepted")
                } catch {
                    #expect("\(error)".contains(constraint), "\(error)")
                }
            }
            #expect(events[0]["error"]?.hasPrefix("unknown event type \"exploded\"; expected created, status_changed") == true)
            #expect(events[1]["error"] == "unknown location \"atlantis\" (not in herald.location)")
            #expect(events[2]["error"] == "unknown contact \"ghost\" (not in herald.contact)")
            #expect(events[3]["error"]?.contains("Mars/Olympus_Mons") == true, "\(events[3])")
            #expect(try await db.scalar("SELECT string_agg(DISTINCT subject_id, ',') FROM herald.message") == "A-5,A-8")
            let (code, out, _) = try await HeraldProcess.run(["status"], environment: ["HERALD_DATABASE_URL": db.url])
            #expect(code == 0 && out.contains("events failed in the last hour: 7 (herald explain --event ID)"), "\(out)")
        }
    }

    @Test func theDaemonEnqueuesOnlyWhatARuleSays() async throws {
        try await TestDatabase.with { db in
            try await setUp(db)
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'created', contact_id => 'ana')")
            let conn = try await db.connect()
            try await conn.execute("SET ROLE herald_daemon")
            func attempt(_ rule: String, _ channel: String, contact: String? = "ana", to: String = "+34600000001") async -> String? {
                do {
                    _ = try await conn.query("""
                        SELECT herald.enqueue_for_rule(1, $1, $2, $4, NULL, NULL, '{}', NULL, NULL, NULL, $3, NULL, 'k-' || $2)
                        """, [rule, channel, contact, to])
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            #expect(await attempt("appointment.reminder.6h", "sms")?.contains("does not apply") == true, "a disabled rule")
            #expect(await attempt("lead.created", "email")?.contains("does not apply") == true, "another subject type")
            #expect(await attempt("appointment.confirmation", "webhook")?.contains("does not apply") == true, "a channel the rule does not use")
            // A client message goes to the event's contact, a staff notice to none (issue 22).
            #expect(await attempt("appointment.confirmation", "sms", contact: "bea")?.contains("is not the client of event 1") == true)
            #expect(await attempt("appointment.confirmation", "sms", contact: nil)?.contains("is not the client of event 1") == true)
            #expect(await attempt("staff.appointment.created", "email")?.contains("is not the staff of event 1") == true)
            // Nor to any address but the contact's (or the staff's).
            #expect(await attempt("appointment.confirmation", "sms", to: "+34699999999")?.contains("is not the client address of event 1") == true)
            #expect(await attempt("staff.appointment.created", "email", contact: nil, to: "me@evil.example")?.contains("is not the staff address") == true)
            #expect(await attempt("appointment.confirmation", "sms") == nil)
            await #expect(throws: PostgresError.self) { try await conn.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+1', 't')") }
            await conn.close()
        }
    }
}
