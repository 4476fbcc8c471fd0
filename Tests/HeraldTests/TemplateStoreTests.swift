import Foundation
import HeraldCore
import HeraldOutbox
import HeraldRender
import HeraldWorker
import Logging
import Testing

/// Templates in PostgreSQL: the schema, install-defaults, the CLI, and the worker sending what preview shows.
@Suite struct TemplateStoreTests {
    func config(_ db: TestDatabase, extra: String = "") throws -> String {
        try writeConfig("""
            [database]
            url = "\(db.url)"
            [scheduling]
            default_time_zone = "Europe/Madrid"
            \(extra)
            """)
    }

    @Test func editingATemplateBumpsItsVersionButNotForSampleDataOrDescription() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(key: "k", body: "Hi {{name}}")
            #expect(try await db.scalar("SELECT version FROM herald.template WHERE key = 'k'") == "1")
            try await db.query("UPDATE herald.template SET body = 'Hello {{name}}' WHERE key = 'k'")
            try await db.query("UPDATE herald.template SET sample_data = '{\"name\":\"Ana\"}', description = 'greeting' WHERE key = 'k'")
            try await db.query("UPDATE herald.template SET body = body WHERE key = 'k'")
            #expect(try await db.scalar("SELECT version FROM herald.template WHERE key = 'k'") == "2")
            await #expect(throws: (any Error).self) {
                try await db.query("INSERT INTO herald.template (key, channel, locale, body) VALUES ('k', 'fax', 'en', 'x')")
            }
            await #expect(throws: (any Error).self) {
                try await db.query("INSERT INTO herald.template (key, channel, locale, subject, body) VALUES ('k2', 'sms', 'en', 'subject', 'x')")
            }
        }
    }

    @Test func installDefaultsWritesEverythingOnceAndKeepsEdits() async throws {
        try await TestDatabase.with { db in
            let path = try config(db)
            let first = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            #expect(first.0 == 0, "\(first.2)")
            #expect(first.1.contains("216 templates and 12 partials in es, fr, en; 228 written, 0 kept as edited"), "\(first.1)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.template") == "216")
            #expect(try await db.scalar("SELECT count(*) FROM herald.template WHERE sample_data IS NULL OR description IS NULL") == "0")

            try await db.query("UPDATE herald.template SET body = 'Editado: {{location.name}}' WHERE key = 'appointment.reminder' AND channel = 'sms' AND locale = 'es'")
            let again = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            #expect(again.1.contains("0 written, 228 kept as edited"), "\(again.1)")
            #expect(try await db.scalar("SELECT body || ' v' || version FROM herald.template WHERE key = 'appointment.reminder' AND channel = 'sms' AND locale = 'es'")
                    == "Editado: {{location.name}} v2")

            let replaced = try await HeraldProcess.run(["templates", "install-defaults", "--replace", "--config", path])
            #expect(replaced.1.contains("228 written, 0 kept"), "\(replaced.1)")
            #expect(try await db.scalar("SELECT body LIKE '%te recordamos%' AND version = 3 FROM herald.template WHERE key = 'appointment.reminder' AND channel = 'sms' AND locale = 'es'") == "t")

            let list = try await HeraldProcess.run(["templates", "list", "--config", path])
            #expect(list.1.split(separator: "\n").count == 216)
            #expect(list.1.contains("appointment.reminder"))
        }
    }

    @Test func lintPassesOnTheDefaultsAndNamesEachBrokenTemplateOnOneLine() async throws {
        try await TestDatabase.with { db in
            let path = try config(db)
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            let clean = try await HeraldProcess.run(["templates", "lint", "--config", path])
            #expect(clean.0 == 0, "\(clean.1)\(clean.2)")
            #expect(clean.1.contains("216 templates and 12 partials: no problems"))

            try await db.execute("""
                UPDATE herald.template SET body = 'Hola {{#client}}' WHERE key = 'lead.created' AND channel = 'sms' AND locale = 'es';
                UPDATE herald.template SET body = body || ' {{> pie}}' WHERE key = 'work_order.ready' AND channel = 'email' AND locale = 'fr';
                UPDATE herald.template SET body = body || ' {{client.phone}}' WHERE key = 'appointment.feedback' AND channel = 'sms' AND locale = 'en';
                UPDATE herald.template SET body = body || repeat(' más texto', 30) WHERE key = 'appointment.pending' AND channel = 'sms' AND locale = 'es';
                DELETE FROM herald.template_partial WHERE name = 'signature' AND locale = 'en';
                """)
            let broken = try await HeraldProcess.run(["templates", "lint", "--config", path])
            #expect(broken.0 == 1)
            let lines = broken.1.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("lead.created sms es: template lead.created (sms, es) does not compile") }, "\(lines)")
            #expect(lines.contains("work_order.ready email fr: template work_order.ready (email, fr) uses unknown partial \"pie\" (herald.template_partial has none for fr, en)"))
            #expect(lines.contains("appointment.feedback sms en: template appointment.feedback (en) body uses client.phone, missing from data"))
            #expect(lines.contains { $0.hasPrefix("appointment.pending sms es: template appointment.pending (es) renders an SMS of") })
            // The English signature is gone, so every English email fails; Spanish and French keep theirs.
            #expect(lines.filter { $0.contains(" email en: ") && $0.contains("unknown partial \"signature\"") }.count == 23)
            #expect(lines.count == 27, "\(lines)")
            #expect(broken.2.contains("27 problems in 216 templates"))
        }
    }

    @Test func previewPrintsTheRenderingAndTheSegmentCount() async throws {
        try await TestDatabase.with { db in
            let path = try config(db)
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            let sms = try await HeraldProcess.run(["templates", "preview", "appointment.confirmed", "--channel", "sms", "--locale", "fr-CA",
                                                   "--time-zone", "America/Toronto", "--config", path])
            #expect(sms.0 == 0, "\(sms.2)")
            #expect(sms.1.contains("template: appointment.confirmed (sms, fr, version 1); times in America/Toronto"))
            #expect(sms.1.contains("segments: 1 segment (GSM-7, "))
            #expect(sms.1.contains("Salon Lumière : votre rendez-vous du mardi 12 mai à 07:00 est confirmé."))

            let custom = try await HeraldProcess.run(["templates", "preview", "appointment.reminder", "--channel", "email", "--locale", "en",
                                                      "--data", #"{"client":{"name":"Bo"},"location":{"name":"Shop"},"event_at":"2026-05-12T13:00:00Z"}"#,
                                                      "--at", "2026-05-12T11:00:00Z", "--time-zone", "Europe/London", "--config", path])
            #expect(custom.0 == 0, "\(custom.2)")
            #expect(custom.1.contains("subject: Reminder: your appointment on Tuesday, May 12 at 2:00 PM"))
            #expect(custom.1.contains("on Tuesday, May 12, 2026 at 2:00 PM (in 2 hours)."))
            #expect(custom.1.contains("--- html ---"))

            let missing = try await HeraldProcess.run(["templates", "preview", "appointment.reminder", "--channel", "sms", "--locale", "es",
                                                       "--data", #"{"location":{"name":"Sol"}}"#, "--config", path])
            #expect(missing.0 == 1)
            #expect(missing.2 == "herald: template appointment.reminder (es) body uses event_at, missing from data\n")

            // --json stays JSON when rendering fails: the error, and the SMS with its segments when it got that far.
            try await db.query("UPDATE herald.template SET body = repeat('Ñandú ', 80) WHERE key = 'appointment.confirmed' AND channel = 'sms' AND locale = 'es'")
            let long = try await HeraldProcess.run(["templates", "preview", "appointment.confirmed", "--channel", "sms", "--locale", "es",
                                                    "--json", "--config", path])
            #expect(long.0 == 1)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(long.1.utf8)) as? [String: Any], "\(long.1)")
            #expect((doc["error"] as? String)?.contains("over the maximum of 3") == true && doc["segments"] as? Int == 8 && doc["encoding"] as? String == "UCS-2",
                    "\(doc)")
            let missingJSON = try await HeraldProcess.run(["templates", "preview", "appointment.reminder", "--channel", "sms", "--locale", "es",
                                                           "--data", #"{"location":{"name":"Sol"}}"#, "--json", "--config", path])
            #expect(missingJSON.0 == 1)
            let missingDoc = try #require(try JSONSerialization.jsonObject(with: Data(missingJSON.1.utf8)) as? [String: Any], "\(missingJSON.1)")
            #expect(missingDoc as NSDictionary == ["error": "template appointment.reminder (es) body uses event_at, missing from data"] as NSDictionary)
        }
    }

    @Test func anOverLongSMSFailsWithItsTextStoredAndNothingSent() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(key: "long", body: "{{text}}")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34600000001', 'long', $1::jsonb)",
                               [#"{"text":"\#(String(repeating: "Cita el día ", count: 30))"}"#])
            let driver = ScriptedDriver()
            let worker = Worker(databaseURL: db.daemonURL,
                                settings: { var s = WorkerSettings(workerID: "w", exitWhenIdle: true, scheduling: .init(quietHours: [:])); s.smsMaxSegments = 4; return s }(),
                                drivers: [.sms: driver], logger: .init(label: "t") { _ in SwiftLogNoOpLogHandler() })
            try await drain(worker)
            let row = try await db.query("SELECT status, last_error, sms_segments, length(rendered_body) FROM herald.message").rows[0]
            #expect(row[0] == "failed")
            #expect(row[1] == "template long (en) renders an SMS of 6 segments (UCS-2, 359 UTF-16 units); UCS-2 because of \"í\" U+ED, over the maximum of 4 ([render] sms_max_segments)")
            #expect(row[2] == "6")
            #expect(row[3] == "359")
            #expect(driver.deliveries.isEmpty)
        }
    }

    @Test func editingAPartialReachesARunningWorker() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.template_partial (name, locale, body) VALUES ('sig', 'en', '-- Sol');
                INSERT INTO herald.template (key, channel, locale, body) VALUES ('t', 'sms', 'en', 'Hi {{name}} {{> sig}}');
                INSERT INTO herald.location (id, name, time_zone, address) VALUES ('mad', 'Peluquería Sol', 'Europe/Madrid', 'Calle Mayor 12');
                INSERT INTO herald.template (key, channel, locale, body) VALUES ('loc', 'sms', 'en', '{{location.name}}, {{location.address}}');
                """)
            try await db.enqueue(count: 1)
            let driver = ScriptedDriver()
            // Woken only by NOTIFY (no poll within the test): the partial's notification comes
            // before the messages', so the worker reloads before it claims them. A 200 ms poll
            // could claim them before the listener had heard of the edit.
            let worker = makeWorker(db, drivers: [.sms: driver], poll: .seconds(60), exitWhenIdle: false)
            let task = Task { try await worker.run() }
            #expect(try await db.waitUntil { try await db.statusCounts()["sent"] == 1 })
            #expect(driver.received[1]?.body == "Hi Ana -- Sol")
            #expect(try await db.waitUntil { try await db.isIdle() }, "the worker never went idle")
            try await db.query("UPDATE herald.template_partial SET body = '-- Sol, Madrid'")
            try await db.enqueue(count: 1)
            try await db.query("INSERT INTO herald.message (channel, recipient, template, location_id) VALUES ('sms', '+34600000009', 'loc', 'mad')")
            #expect(try await db.waitUntil { try await db.statusCounts()["sent"] == 3 })
            #expect(driver.received[2]?.body == "Hi Ana -- Sol, Madrid")
            #expect(driver.received[3]?.body == "Peluquería Sol, Calle Mayor 12")
            worker.requestStop()
            _ = try await task.value
        }
    }

    /// The clock time a template prints agrees with PostgreSQL's own time zone database
    /// on every quarter hour around the 2026 transitions of several zones.
    @Test func renderedTimesAgreeWithPostgreSQL() async throws {
        try await TestDatabase.with { db in
            let zones = ["Europe/Madrid", "America/New_York", "America/Santiago", "Australia/Sydney", "Europe/London", "America/Mexico_City"]
            var mismatches: [String] = []
            for zone in zones {
                let rows = try await db.query("""
                    SELECT extract(epoch FROM t)::bigint, to_char(t AT TIME ZONE $1, 'FMHH24:MI'), to_char(t AT TIME ZONE $1, 'YYYY-MM-DD')
                      FROM generate_series(timestamptz '2026-01-01', timestamptz '2027-01-01', interval '15 minutes') t
                     WHERE (t AT TIME ZONE $1) - (t AT TIME ZONE 'UTC')
                           <> ((t + interval '1 day') AT TIME ZONE $1) - ((t + interval '1 day') AT TIME ZONE 'UTC')
                        OR (t AT TIME ZONE $1) - (t AT TIME ZONE 'UTC')
                           <> ((t - interval '1 day') AT TIME ZONE $1) - ((t - interval '1 day') AT TIME ZONE 'UTC')
                        OR extract(day FROM t) IN (1, 15) AND extract(minute FROM t) = 0
                    """, [zone]).rows
                let f = LocaleFormatter(locale: "es", timeZone: TimeZone(identifier: zone)!)
                let day = DateFormatter()
                day.timeZone = TimeZone(identifier: zone)
                day.dateFormat = "yyyy-MM-dd"
                #expect(rows.count > 100)
                for row in rows {
                    let instant = Date(timeIntervalSince1970: TimeInterval(Int64(row[0] ?? "") ?? 0))
                    let ours = f.time(instant)
                    if ours != row[1] || day.string(from: instant) != row[2] {
                        mismatches.append("\(zone) \(instant): ours \(ours) \(day.string(from: instant)), PostgreSQL \(row[1] ?? "") \(row[2] ?? "")")
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        }
    }
}
