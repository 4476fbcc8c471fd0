import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPostgres
import HeraldRows
@testable import HeraldWorker
import Testing

/// Events expanded in batches (issue 26): many events per transaction, planned together,
/// with the same outcome as one by one; a bad event fails alone.
@Suite struct EventBatchTests {
    let events = EventTests()

    @Test func manyEventsExpandTogetherAndABadOneFailsAloneWithItsReason() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone, email, locale, time_zone)
                SELECT 'c' || g, 'Cliente ' || g, '+3461' || lpad(g::text, 7, '0'), 'c' || g || '@example.es', 'es', 'Europe/Madrid'
                  FROM generate_series(1, 60) g;
                INSERT INTO herald.contact (id, phone, time_zone) VALUES ('mars', '+34600000003', 'Mars/Olympus_Mons');
                SELECT herald.record_event('appointment', 'B-' || g, 'created', starts_at => now() + interval '3 days', contact_id => 'c' || g)
                  FROM generate_series(1, 30) g;
                SELECT herald.record_event('appointment', 'B-mars', 'created', starts_at => now() + interval '3 days', contact_id => 'mars');
                SELECT herald.record_event('appointment', 'B-' || g, 'created', starts_at => now() + interval '3 days', contact_id => 'c' || g)
                  FROM generate_series(31, 60) g;
                """)
            try await events.expand(db)
            let states = try await db.query("SELECT state, count(*) FROM herald.event GROUP BY state ORDER BY state").rows.map { [$0[0], $0[1]] }
            #expect(states == [["done", "60"], ["failed", "1"]])
            #expect(try await db.scalar("SELECT error FROM herald.event WHERE subject_id = 'B-mars'")?.contains("Mars/Olympus_Mons") == true)
            // The same messages as one by one: each booking's confirmation and enabled reminders, logged.
            let perEvent = try await db.query("""
                SELECT count(DISTINCT m.subject_id), count(*) FILTER (WHERE o.action = 'created'), count(*) FILTER (WHERE o.message_id IS NULL AND o.action = 'created')
                  FROM herald.event_outcome o JOIN herald.message m ON m.id = o.message_id
                """).rows.first ?? []
            #expect(perEvent.first == "60", "\(perEvent)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id LIKE 'B-%'") == (try await db.scalar(
                "SELECT count(*) FROM herald.event_outcome WHERE action = 'created'")))
        }
    }

    @Test func theEventsOfOneBookingKeepTheirOrderWithinABatch() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.execute("""
                SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => now() + interval '3 days', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'A-1', 'cancelled', contact_id => 'ana');
                """)
            try await events.expand(db)
            #expect(try await db.scalar("SELECT count(*) FROM herald.event WHERE state = 'done'") == "2")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'pending' AND rule_name LIKE 'appointment.reminder%'") == "0",
                    "the cancellation saw the reminders the creation planned")
        }
    }

    @Test func theBatchInsertChecksEveryRowAsTheOneByOneInsertDoes() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'created', contact_id => 'ana')")
            let conn = try await db.connect()
            try await conn.execute("SET ROLE herald_daemon")
            func batch(_ rows: [(rule: String, channel: String, to: String, contact: String?)]) async -> String? {
                do {
                    _ = try await conn.query("""
                        SELECT * FROM herald.enqueue_for_rules(array_fill(1::bigint, ARRAY[$5::int]), $1::text[], $2::text[], $3::text[],
                            array_fill(NULL::text, ARRAY[$5::int]), array_fill(NULL::text, ARRAY[$5::int]), array_fill('{}'::jsonb, ARRAY[$5::int]),
                            array_fill(NULL::timestamptz, ARRAY[$5::int]), array_fill(NULL::timestamptz, ARRAY[$5::int]),
                            array_fill(NULL::text, ARRAY[$5::int]), $4::text[], array_fill(NULL::text, ARRAY[$5::int]),
                            ARRAY(SELECT 'k-' || g FROM generate_series(1, $5::int) g))
                        """, [PostgresArray(rows.map(\.rule)), PostgresArray(rows.map(\.channel)), PostgresArray(rows.map(\.to)),
                              PostgresArray(rows.map(\.contact)), rows.count])
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            let good = (rule: "appointment.confirmation", channel: "sms", to: "+34600000001", contact: Optional("ana"))
            #expect(await batch([good, ("appointment.reminder.6h", "sms", "+34600000001", "ana")])?.contains("does not apply") == true)
            #expect(await batch([good, ("appointment.confirmation", "email", "ana@example.es", "bea")])?.contains("is not the client of event 1") == true)
            #expect(await batch([good, ("appointment.confirmation", "email", "me@evil.example", "ana")])?.contains("is not the client address") == true)
            #expect(await batch([("staff.appointment.created", "email", "me@evil.example", nil)])?.contains("is not the staff address") == true)
            #expect(try await db.scalar("SELECT count(*) FROM herald.message") == "0", "a bad row stops the whole batch")
            #expect(await batch([good, (rule: "appointment.confirmation", channel: "email", to: "ana@example.es", contact: Optional("ana"))]) == nil)
            #expect(try await db.scalar("SELECT string_agg(channel, ',' ORDER BY id) FROM herald.message") == "sms,email")
            #expect(await batch([good]) == nil, "a row whose dedupe key exists is skipped")
            do {
                _ = try await conn.query("""
                    SELECT * FROM herald.enqueue_for_rules(ARRAY[1]::bigint[], ARRAY['appointment.confirmation'], ARRAY['sms'],
                        ARRAY['+34600000001'], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY['{}'::jsonb], ARRAY[NULL::timestamptz],
                        ARRAY[NULL::timestamptz], ARRAY[NULL::text], ARRAY['ana'], ARRAY[NULL::text], ARRAY['k-x', 'k-y'])
                    """)
                Issue.record("arrays of different lengths were accepted")
            } catch {
                #expect("\(error)".contains("the arrays differ in length"), "\(error)")
            }
            #expect(try await db.scalar("SELECT count(*) FROM herald.message") == "2")
            await conn.close()
        }
    }

    /// The batch insert decides each message's key, due time, priority and status itself
    /// (migration 024: the insert trigger skips rows that carry their key). It must decide
    /// as the trigger does: the same rows through the one-by-one insert, whose trigger runs,
    /// end the same way, for a client who is reachable, opted out, unreachable for a while or
    /// for good, or whose preference or consent excludes the channel; and an urgent rule's
    /// message is priority 3 even when the rule names another.
    @Test func theBatchDecidesEachMessageAsTheInsertTriggerDoes() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.execute("""
                UPDATE herald.rule SET urgent = true, priority = 1 WHERE name = 'appointment.confirmation';
                UPDATE herald.rule SET postpone = interval '90 minutes' WHERE name = 'appointment.confirmation';
                INSERT INTO herald.contact (id, phone, email, preference, sms_consent) VALUES
                  ('ok', ' +34 600-111-001 ', 'OK@Example.es', 'both', NULL), ('stopped', '+34600111002', 'st@example.es', 'both', NULL),
                  ('none', '+34600111003', 'n@example.es', 'none', NULL), ('mailer', '+34600111004', 'm@example.es', 'email', NULL),
                  ('noconsent', '+34600111005', 'nc@example.es', 'both', false), ('bounced', '+34600111006', 'b@example.es', 'both', NULL),
                  ('landline', '+34600111007', 'l@example.es', 'both', NULL), ('was', '+34600111008', 'w@example.es', 'both', NULL);
                INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600111002', 'replied STOP'),
                  ('sms', '+34600111004', 'asked at the desk');
                INSERT INTO herald.undeliverable (channel, recipient, reason, until) VALUES
                  ('email', 'b@example.es', 'hard_bounce', NULL), ('sms', '+34600111007', 'landline', now() + interval '30 days'),
                  ('sms', '+34600111008', 'landline', now() - interval '1 day');
                SELECT herald.record_event('appointment', 'A-' || c, 'created', starts_at => now() + interval '3 days', contact_id => c)
                  FROM unnest(ARRAY['ok', 'stopped', 'none', 'mailer', 'noconsent', 'bounced', 'landline', 'was']) c;
                """)
            let conn = try await db.connect()
            try await conn.execute("SET ROLE herald_daemon")
            try await conn.execute("SET TIME ZONE 'Europe/Madrid'")
            let rows = try await db.query("""
                SELECT e.id, ch, CASE ch WHEN 'sms' THEN c.phone ELSE c.email END, c.id
                  FROM herald.event e JOIN herald.contact c ON c.id = e.contact_id CROSS JOIN unnest(ARRAY['sms', 'email']) ch
                 WHERE c.id <> 'ana' ORDER BY e.id, ch
                """).rows
            #expect(rows.count == 16)
            _ = try await conn.query("""
                SELECT * FROM herald.enqueue_for_rules($1::bigint[], array_fill('appointment.confirmation'::text, ARRAY[$5::int]), $2::text[], $3::text[],
                    array_fill(NULL::text, ARRAY[$5::int]), array_fill(NULL::text, ARRAY[$5::int]), array_fill('{}'::jsonb, ARRAY[$5::int]),
                    ARRAY(SELECT CASE WHEN c = 'was' THEN 'infinity'::timestamptz END FROM unnest($4::text[]) c), array_fill(NULL::timestamptz, ARRAY[$5::int]),
                    array_fill(NULL::text, ARRAY[$5::int]), $4::text[], array_fill(NULL::text, ARRAY[$5::int]),
                    ARRAY(SELECT 'batch-' || g FROM generate_series(1, $5::int) g))
                """, [PostgresArray(rows.map { $0[0] }), PostgresArray(rows.map { $0[1] }), PostgresArray(rows.map { $0[2] }),
                      PostgresArray(rows.map { $0[3] }), rows.count])
            for (i, row) in rows.enumerated() {
                _ = try await conn.query("""
                    SELECT herald.enqueue_for_rule($1::bigint, 'appointment.confirmation', $2, $3, NULL, NULL, '{}',
                                                   CASE WHEN $4 = 'was' THEN 'infinity'::timestamptz END, NULL, NULL, $4, NULL, $5)
                    """, [row[0], row[1], row[2], row[3], "single-\(i + 1)"])
            }
            await conn.close()
            let decided = """
                SELECT contact_id || ' ' || channel AS who, status, last_error, recipient_key, priority,
                       CASE WHEN isfinite(send_at) THEN (next_attempt_at - send_at)::text
                            ELSE 'at once: ' || (isfinite(next_attempt_at) AND next_attempt_at <= now())::text END AS due_after
                  FROM herald.message WHERE dedupe_key LIKE $1 ORDER BY split_part(dedupe_key, '-', 2)::int
                """
            let batch = try await db.query(decided, ["batch-%"]).rows, single = try await db.query(decided, ["single-%"]).rows
            #expect(batch.count == 16)
            #expect(batch == single)
            let byWho = Dictionary(uniqueKeysWithValues: batch.map { ($0[0] ?? "", $0) })
            #expect(byWho["ok sms"]?[1] == "pending" && byWho["ok sms"]?[3] == "+34600111001", "\(byWho["ok sms"] ?? [])")
            #expect(byWho["ok email"]?[3] == "ok@example.es")
            #expect(byWho["ok sms"]?[4] == "3", "urgent is priority 3 whatever the rule names")
            #expect(byWho["ok sms"]?[5] == "01:30:00", "due after the rule's postpone")
            #expect(byWho["stopped sms"]?[1] == "suppressed" && byWho["stopped sms"]?[2]?.contains("opted out of sms: replied STOP") == true)
            #expect(byWho["stopped email"]?[1] == "pending")
            #expect(byWho["none email"]?[2]?.contains("preference none") == true)
            #expect(byWho["mailer sms"]?[2]?.contains("opted out of sms: asked at the desk") == true && byWho["mailer email"]?[1] == "pending",
                    "an opt-out's reason wins over the contact's preference, as in the trigger")
            #expect(byWho["noconsent sms"]?[2]?.contains("not consented to sms") == true)
            #expect(byWho["bounced email"]?[1] == "suppressed" && byWho["bounced sms"]?[1] == "pending")
            #expect(byWho["landline sms"]?[1] == "suppressed" && byWho["was sms"]?[1] == "pending", "an undeliverable mark whose time is up no longer holds")
            #expect(byWho["was sms"]?[5] == "at once: true", "an infinite send time is due at once, as the trigger has it")
            // A host cannot insert a key of its own to skip the trigger's checks.
            let host = try await db.connect()
            try await host.execute("SET ROLE herald_host")
            do {
                _ = try await host.query("""
                    INSERT INTO herald.message (channel, recipient, template, recipient_key) VALUES ('sms', '+34600111002', 'x', 'anything')
                    """)
                Issue.record("a host inserted recipient_key")
            } catch {
                #expect("\(error)".contains("permission denied"), "\(error)")
            }
            await host.close()
        }
    }

    @Test func aBatchStopsAtTheFirstEventOfASubjectOrContactAlreadyInIt() {
        func e(_ id: Int64, _ subject: String, _ contact: String?) -> EventRow {
            EventRow(id: id, subjectType: "appointment", subjectID: subject, type: "created", status: nil, effectiveStatus: nil,
                     previousStatus: nil, startsAt: nil, previousStartsAt: nil, endsAt: nil, locationID: nil, contactID: contact, data: nil)
        }
        let kept = EventExpander.onePerSubjectAndContact([e(1, "A", "ana"), e(2, "B", nil), e(3, "C", "luis"), e(4, "A", "eva"), e(5, "D", "x")])
        #expect(kept.map(\.id) == [1, 2, 3])
        #expect(EventExpander.onePerSubjectAndContact([e(1, "A", "ana"), e(2, "B", "ana")]).map(\.id) == [1])
        #expect(EventExpander.onePerSubjectAndContact([]).isEmpty)
    }

    /// Two batches side by side (two daemons): the second takes no event whose subject or
    /// contact has an earlier event the first holds, and takes it once that one is done.
    @Test func anEventWaitsWhileAnEarlierOneOfItsSubjectOrContactIsPendingElsewhere() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.execute("""
                INSERT INTO herald.contact (id, phone) VALUES ('bea', '+34600000002'), ('carl', '+34600000003');
                SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => now() + interval '3 days', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'B-2', 'created', starts_at => now() + interval '3 days', contact_id => 'bea');
                SELECT herald.record_event('appointment', 'A-1', 'cancelled', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'C-3', 'created', starts_at => now() + interval '4 days', contact_id => 'ana');
                SELECT herald.record_event('appointment', 'D-4', 'created', starts_at => now() + interval '3 days', contact_id => 'carl');
                INSERT INTO herald.event (subject_type, subject_id, type) VALUES ('appointment', 'B-2', 'cancelled');
                """)
            let first = try await db.connect(), second = try await db.connect()
            let one = Stores(connection: first).events, two = Stores(connection: second).events
            try await first.execute("BEGIN")
            #expect(try await one.claimEvents(limit: 1).map(\.subjectID) == ["A-1"])
            try await second.execute("BEGIN")
            #expect(try await two.claimEvents(limit: 10).map(\.subjectID) == ["B-2", "D-4"],
                    "A-1's cancellation and Ana's next booking wait for A-1's creation, held by the other batch; B-2's cancellation (no contact) for B-2's creation")
            try await second.execute("ROLLBACK")
            try await first.execute("UPDATE herald.event SET state = 'done' WHERE id = 1")
            try await first.execute("COMMIT")
            try await second.execute("BEGIN")
            #expect(try await two.claimEvents(limit: 10).map(\.subjectID) == ["B-2", "A-1", "D-4"],
                    "then the cancellation goes; Ana's next booking waits for it")
            try await second.execute("ROLLBACK")
            await first.close()
            await second.close()
        }
    }

    /// The helpers the batch insert calls per message are expressions the planner inlines
    /// (migration 023): a SET clause or a PL/pgSQL body would make them one function call
    /// per row again, with the whole rule and event rows built for each.
    @Test func theBatchInsertsHelpersAreInlined() async throws {
        try await TestDatabase.with { db in
            let plan = try await db.query("""
                EXPLAIN (VERBOSE, COSTS OFF)
                SELECT herald.rule_priority(r), herald.rule_event_at(r, now()), herald.sender_for(r, l, 'sms'),
                       herald.recipient_for(r, c, l, 'sms')
                  FROM herald.rule r, herald.location l, herald.contact c
                """).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
            for helper in ["rule_priority(", "rule_event_at(", "sender_for(", "recipient_for("] {
                #expect(!plan.contains(helper), "\(helper) is called, not inlined:\n\(plan)")
            }
            #expect(plan.contains("COALESCE(r.sms_from, l.sms_from)"), "\(plan)")
        }
    }

    /// A client with thousands of pending events in front: each claim takes their head and
    /// looks at no more than four times its limit of pending events (not all of them, which
    /// would make draining them quadratic).
    @Test func aClaimLooksAtABoundedWindowOfPendingEvents() async throws {
        try await TestDatabase.with { db in
            try await events.setUp(db)
            try await db.execute("""
                INSERT INTO herald.event (subject_type, subject_id, type, starts_at, contact_id)
                SELECT 'appointment', 'W-' || g, 'created', now() + interval '3 days', 'ana' FROM generate_series(1, 3000) g;
                INSERT INTO herald.event (subject_type, subject_id, type, starts_at, contact_id)
                VALUES ('appointment', 'Z-1', 'created', now() + interval '3 days', NULL);
                ANALYZE herald.event;
                """)
            let conn = try await db.connect()
            let store = Stores(connection: conn).events
            try await conn.execute("BEGIN")
            #expect(try await store.claimEvents(limit: 10).map(\.subjectID) == ["W-1"],
                    "Ana's later events wait for her first; the event past the window waits for the next claims")
            try await conn.execute("ROLLBACK")
            let plan = try await conn.query("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + EventStore.claimableEvents,
                                            [EventStore.eventDataLimit, 10]).rows.compactMap { $0.first ?? nil }
            let loops = plan.compactMap { line in line.range(of: "loops=").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) } }
            #expect(!loops.isEmpty && loops.allSatisfy { $0 <= 40 }, "\(plan.joined(separator: "\n"))")
            await conn.close()
        }
    }
}
