import Foundation
import HeraldAdmin
import HeraldDrivers
import HeraldOutbox
import HeraldPostgres
import Testing

/// What an operator does through the admin API after a provider outage, for a client who
/// asks, and on templates and rules: each against a real PostgreSQL, over TCP.
@Suite struct AdminActionTests {
    /// 30 SMS failed in an outage, 5 failed for another reason, 3 sent.
    func outage(_ db: TestDatabase) async throws {
        try await db.execute("""
            INSERT INTO herald.message (channel, recipient, template, data, status, last_error)
            SELECT 'sms', '+3460000' || lpad(g::text, 4, '0'), 't', '{}', 'failed', 'SMS provider answered 503: Service Unavailable'
              FROM generate_series(1, 30) g;
            INSERT INTO herald.message (channel, recipient, template, data, status, last_error)
            SELECT 'sms', '+3461000' || lpad(g::text, 4, '0'), 't', '{}', 'failed', 'template t: missing variable name'
              FROM generate_series(1, 5) g;
            INSERT INTO herald.message (channel, recipient, template, data, status, sent_at)
            SELECT 'sms', '+3462000' || lpad(g::text, 4, '0'), 't', '{}', 'sent', now() FROM generate_series(1, 3) g;
            """)
    }

    @Test func bulkRetryAfterAnOutageNeedsItsConfirmationAndHonoursTheCount() async throws {
        try await TestDatabase.with { db in
            try await outage(db)
            try await withAdminAPI(db) { _, api, tokens in
                // Find.
                let found = try await api.get("/api/v1/messages?status=failed&error=Service%20Unavailable&limit=500", tokens.viewer)
                #expect((found.object["items"] as? [Any])?.count == 30)
                // Sent messages are never counted for a retry, whatever the filter.
                let all = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":{"template":"t"},"dry_run":true}"#)
                #expect(all.object["matched"] as? Int == 35)
                // Dry run: the count and a confirmation.
                let filter = #"{"status":"failed","error":"Service Unavailable"}"#
                let dry = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":\#(filter),"dry_run":true}"#)
                #expect(dry.status == 200)
                #expect(dry.object["matched"] as? Int == 30)
                let confirmation = try #require(dry.object["confirmation"] as? String)
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'pending'") == "0")
                // Two more fail the same way after the dry run: the action acts on at most the 30 confirmed.
                try await db.execute("""
                    INSERT INTO herald.message (channel, recipient, template, data, status, last_error)
                    SELECT 'sms', '+3463000' || g, 't', '{}', 'failed', 'SMS provider answered 503: Service Unavailable' FROM generate_series(1, 2) g
                    """)
                let refused = try await api.send([
                    // Another filter, another token, a forged count: refused.
                    .init(method: "POST", path: "/api/v1/messages/retry", token: tokens.operator_,
                          json: .init(text: #"{"filter":{"status":"failed"},"confirmation":"\#(confirmation)"}"#)),
                    .init(method: "POST", path: "/api/v1/messages/retry", token: tokens.admin,
                          json: .init(text: #"{"filter":\#(filter),"confirmation":"\#(confirmation)"}"#)),
                    .init(method: "POST", path: "/api/v1/messages/retry", token: tokens.operator_,
                          json: .init(text: #"{"filter":\#(filter),"confirmation":"3\#(confirmation.dropFirst(2))"}"#)),
                    // A viewer may count nothing.
                    .init(method: "POST", path: "/api/v1/messages/retry", token: tokens.viewer, json: .init(text: #"{"filter":\#(filter)}"#)),
                ])
                #expect(refused.map(\.status) == [409, 409, 409, 403])
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'pending'") == "0")
                let done = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":\#(filter),"confirmation":"\#(confirmation)"}"#)
                #expect(done.status == 200)
                #expect(done.object["done"] as? Int == 30)
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'pending'") == "30")
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'failed' AND last_error LIKE '%Unavailable'") == "2")
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE last_error LIKE 'retried by token operator-1%'") == "30")
                // The audit log: the dry run, the refusals, the action with its filter and count.
                let rows = try await db.query("""
                    SELECT action, actor_name, count, result, filter->>'error' FROM herald.audit_log
                     WHERE action LIKE 'messages.bulk_retry%' ORDER BY id
                    """).rows.map { $0.map { $0 ?? "-" }.joined(separator: "|") }
                #expect(rows.first == "messages.bulk_retry.dry_run|operator-1|35|ok|-")
                #expect(rows.dropFirst().first == "messages.bulk_retry.dry_run|operator-1|30|ok|Service Unavailable")
                #expect(rows.last == "messages.bulk_retry|operator-1|30|ok|Service Unavailable")
                #expect(rows.filter { $0.contains("refused") }.count == 4)
            }
        }
    }

    @Test func bulkCancelActsOnPendingOnlyAndOneRetryOfAnOptedOutClientIsRefusedAlone() async throws {
        try await TestDatabase.with { db in
            try await outage(db)
            try await db.execute("""
                INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600000001', 'STOP');
                INSERT INTO herald.message (channel, recipient, template, data, send_at, subject_type, subject_id)
                SELECT 'sms', '+3464000' || g, 't', '{}', now() + interval '1 day', 'appointment', 'A-9' FROM generate_series(1, 4) g;
                """)
            try await withAdminAPI(db) { _, api, tokens in
                let dry = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":{"error":"Unavailable"}}"#)
                let confirmation = try #require(dry.object["confirmation"] as? String)
                let done = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":{"error":"Unavailable"},"confirmation":"\#(confirmation)"}"#)
                #expect(done.object["done"] as? Int == 29)
                let refused = done.object["refused"] as? [[String: Any]]
                #expect(refused?.count == 1)
                #expect((refused?.first?["result"] as? String)?.contains("opted out") == true)
                // Cancel the appointment's pending messages; sent and failed ones are not touched.
                let cdry = try await api.post("/api/v1/messages/cancel", tokens.operator_, #"{"filter":{"subject_type":"appointment","subject_id":"A-9"}}"#)
                #expect(cdry.object["matched"] as? Int == 4)
                let ctoken = try #require(cdry.object["confirmation"] as? String)
                let cancel = try await api.post("/api/v1/messages/cancel", tokens.operator_,
                                                #"{"filter":{"subject_type":"appointment","subject_id":"A-9"},"confirmation":"\#(ctoken)","reason":"client called"}"#)
                #expect(cancel.object["done"] as? Int == 4)
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'cancelled' AND last_error = 'client called (by token operator-1)'") == "4")
            }
        }
    }

    @Test func anOperatorOptsAClientOutAndBackInWithTheLedgerSayingWho() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone, email) VALUES ('c-1', 'Ana', '+34 600 11 22 33', 'Ana@Example.com');
                INSERT INTO herald.message (channel, recipient, template, data, contact_id, send_at)
                     VALUES ('sms', '+34600112233', 't', '{}', 'c-1', now() + interval '1 day');
                """)
            try await withAdminAPI(db) { _, api, tokens in
                let out = try await api.post("/api/v1/opt-outs", tokens.operator_, #"{"channel":"sms","recipient":"+34 600 11 22 33","reason":"asked by phone"}"#)
                #expect(out.status == 200)
                #expect(out.object["recipient"] as? String == "+34600112233")
                #expect(out.object["changed"] as? Bool == true)
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "suppressed")
                let page = try await api.get("/api/v1/contacts/c-1", tokens.viewer)
                #expect((page.object["opt_outs"] as? [[String: Any]])?.first?["source"] as? String == "operator")
                let back = try await api.post("/api/v1/opt-ins", tokens.operator_, #"{"channel":"sms","recipient":"+34600112233","reason":"client asked again"}"#)
                #expect(back.object["changed"] as? Bool == true)
                let ledger = try await db.query("SELECT action, source, reason FROM herald.consent_event ORDER BY id").rows
                    .map { $0.map { $0 ?? "" }.joined(separator: "|") }
                #expect(ledger == ["opt_out|operator|asked by phone (by token operator-1)", "opt_in|operator|client asked again (by token operator-1)"])
                let again = try await api.get("/api/v1/contacts/c-1", tokens.viewer)
                #expect((again.object["ledger"] as? [Any])?.count == 2)
                #expect((again.object["messages"] as? [[String: Any]])?.first?["status"] as? String == "suppressed")
                // The same opt-in again changes nothing.
                let twice = try await api.post("/api/v1/opt-ins", tokens.operator_, #"{"channel":"sms","recipient":"+34600112233","reason":"again"}"#)
                #expect(twice.object["changed"] as? Bool == false)
                #expect(try await api.get("/api/v1/contacts/nobody", tokens.viewer).status == 404)
            }
        }
    }

    @Test func aTemplateWriteIsRefusedWithTheLintsReasonsThenStoredWithItsAuthor() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.template (key, channel, locale, body, sample_data)
                     VALUES ('appointment.reminder', 'sms', 'es', 'Hola {{client.name}}, mañana a las 10.', '{"client":{"name":"Ana"}}')
                """)
            try await withAdminAPI(db) { _, api, tokens in
                let path = "/api/v1/templates/appointment.reminder/sms/es"
                let bad = try await api.post(path, tokens.editor, #"{"body":"Hola {{#client}}{{name}}"}"#, method: "PUT")
                #expect(bad.status == 422)
                #expect((bad.object["errors"] as? [String])?.isEmpty == false)
                let missing = try await api.post(path, tokens.editor, #"{"body":"Hola {{cliente.nombre}}"}"#, method: "PUT")
                #expect(missing.status == 422)
                #expect(try await db.scalar("SELECT version FROM herald.template WHERE key = 'appointment.reminder'") == "1")
                let good = try await api.post(path, tokens.editor, #"{"body":"Hola {{client.name}}, le esperamos mañana."}"#, method: "PUT")
                #expect(good.status == 200)
                #expect(good.object["version"] as? Int == 2)
                let history = try await api.get(path + "/history", tokens.viewer).array
                #expect(history.map { $0["version"] as? Int } == [2, 1])
                #expect(history.first?["author"] as? String == "token editor-1")
                // A built-in template written through the API becomes a stored row.
                let builtin = try await api.get("/api/v1/templates/appointment.cancelled/sms/fr", tokens.viewer)
                #expect(builtin.object["stored"] as? Bool == false)
                let override = try await api.post("/api/v1/templates/appointment.cancelled/sms/fr", tokens.editor,
                                                   #"{"body":"Votre rendez-vous est annulé."}"#, method: "PUT")
                #expect(override.status == 200)
                #expect(try await db.scalar("SELECT body FROM herald.template WHERE key = 'appointment.cancelled' AND locale = 'fr' AND channel = 'sms'") == "Votre rendez-vous est annulé.")
            }
        }
    }

    @Test func theImpactOfOneAccentedCharacterIsTwoMoreSegments() async throws {
        try await TestDatabase.with { db in
            // 150 GSM characters: one segment. "ó" is not in GSM 03.38: UCS-2, 70 a segment.
            let text = "Hola {{name}}, " + String(repeating: "x", count: 130)
            try await db.query("INSERT INTO herald.template (key, channel, locale, body, sample_data) VALUES ('t', 'sms', 'es', $1, '{\"name\":\"Ana\"}')", [text])
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, locale, data, send_at)
                SELECT 'sms', '+3460000' || g, 't', 'es', '{"name":"Ana"}', now() + interval '1 day' FROM generate_series(1, 3) g;
                INSERT INTO herald.message (channel, recipient, template, locale, data, send_at)
                     VALUES ('sms', '+34600009999', 't', 'es', '{}', now() + interval '1 day');
                """)
            try await withAdminAPI(db) { _, api, tokens in
                let accented = "Hola {{name}}, ó" + String(repeating: "x", count: 129)
                let impact = try await api.post("/api/v1/templates/impact", tokens.editor,
                                                #"{"key":"t","channel":"sms","locale":"es","text":{"body":"\#(accented)"}}"#)
                #expect(impact.status == 200)
                #expect(impact.object["pending"] as? Int == 4)
                #expect(impact.object["complete"] as? Bool == true)
                let changes = impact.object["segment_changes"] as? [[String: Any]] ?? []
                #expect(changes.count == 3)
                #expect(changes.allSatisfy { $0["segments_before"] as? Int == 1 && $0["segments_after"] as? Int == 3 })
                #expect((impact.object["failures"] as? [[String: Any]])?.map { $0["message_id"] as? Int } == [4])
                let preview = try await api.post("/api/v1/templates/preview", tokens.editor,
                                                 #"{"key":"t","channel":"sms","locale":"es","text":{"body":"\#(accented)"}}"#)
                #expect(preview.object["sms_encoding"] as? String == "ucs2")
                #expect(preview.object["ucs2_character"] as? String == "ó")
                #expect(preview.object["body"] as? String == "Hola Ana, ó" + String(repeating: "x", count: 129))
                let stored = try await api.post("/api/v1/templates/preview", tokens.viewer, #"{"key":"t","channel":"sms","locale":"es","message_id":1}"#)
                #expect(stored.object["sms_segments"] as? Int == 1)
            }
        }
    }

    @Test func aTestSendGoesThroughTheDriverOnceAndNeverToAnOptedOutAddress() async throws {
        try await TestDatabase.with { db in
            let outbox = try temporaryDirectory()
            try await db.execute("""
                INSERT INTO herald.template (key, channel, locale, body, sample_data) VALUES ('t', 'sms', 'es', 'Hola {{name}}', '{"name":"Ana"}');
                INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600000009', 'STOP');
                """)
            try await withAdminAPI(db, configure: { $0.drivers = [.sms: FileDriver(directory: outbox)] }) { _, api, tokens in
                let body = #"{"key":"t","channel":"sms","locale":"es","to":"+34600000001","text":{"body":"Prueba {{name}}"}}"#
                #expect(try await api.post("/api/v1/templates/test-send", tokens.operator_, body).status == 403)
                let sent = try await api.post("/api/v1/templates/test-send", tokens.editor, body)
                #expect(sent.status == 200)
                #expect(sent.object["sent"] as? Bool == true)
                #expect(sent.object["driver"] as? String == "file")
                let files = try FileManager.default.subpathsOfDirectory(atPath: outbox.path).filter { $0.hasSuffix(".json") }
                #expect(files.count == 1)
                let document = try String(contentsOf: outbox.appendingPathComponent(try #require(files.first)), encoding: .utf8)
                #expect(document.contains("Prueba Ana") && document.contains("+34600000001"))
                let refused = try await api.post("/api/v1/templates/test-send", tokens.editor, body.replacingOccurrences(of: "+34600000001", with: "+34 600 000 009"))
                #expect(refused.status == 409)
                #expect(try FileManager.default.subpathsOfDirectory(atPath: outbox.path).filter { $0.hasSuffix(".json") }.count == 1)
                let email = try await api.post("/api/v1/templates/test-send", tokens.editor, #"{"key":"t","channel":"email","locale":"es","to":"a@example.com"}"#)
                #expect(email.status == 409)
                #expect(try await db.scalar("SELECT count(*) FROM herald.message") == "0")
                #expect(try await db.scalar("SELECT count(*) FROM herald.audit_log WHERE action = 'template.test_send'") == "4")
            }
        }
    }

    @Test func aRulesTimingIsChangedAndABadIntervalRefused() async throws {
        try await TestDatabase.with { db in
            let conn = try await db.connect()
            _ = try await CatalogStore(connection: conn).installDefaultRules()
            await conn.close()
            try await withAdminAPI(db) { _, api, tokens in
                let moved = try await api.post("/api/v1/rules/appointment.reminder.1d", tokens.editor, #"{"send_before":"2 hours","business_hours_only":true}"#, method: "PATCH")
                #expect(moved.status == 200)
                #expect(try await db.scalar("SELECT send_before::text || ' ' || business_hours_only FROM herald.rule WHERE name = 'appointment.reminder.1d'") == "02:00:00 true")
                let bad = try await api.post("/api/v1/rules/appointment.reminder.1d", tokens.editor, #"{"send_before":"soon"}"#, method: "PATCH")
                #expect(bad.status == 422)
                #expect(try await api.post("/api/v1/rules/nope", tokens.editor, #"{"enabled":false}"#, method: "PATCH").status == 404)
                // A template no channel of the rule has, stored or built-in: every message would fail.
                let missing = try await api.post("/api/v1/rules/appointment.reminder.1d", tokens.editor, #"{"template":"no.such.template"}"#, method: "PATCH")
                #expect(missing.status == 422)
                #expect((missing.object["detail"] as? String)?.contains("no template no.such.template") == true)
                let webhook = try await api.post("/api/v1/rules/appointment.reminder.1d", tokens.editor, #"{"channels":["webhook"]}"#, method: "PATCH")
                #expect(webhook.status == 200, "\(webhook.body)")
                #expect(try await db.scalar("SELECT template FROM herald.rule WHERE name = 'appointment.reminder.1d'") == "appointment.reminder")
            }
        }
    }

    @Test func aConfirmationIsUsedOnceReachesNoLaterMessageAndABigBatchGoesInChunks() async throws {
        try await TestDatabase.with { db in
            // 1,200 failed in the outage; 10 among them (ids 601–610) were sent after all.
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, data, status, last_error)
                SELECT 'sms', '+3460' || lpad(g::text, 7, '0'), 't', '{}', CASE WHEN g BETWEEN 601 AND 610 THEN 'sent' ELSE 'failed' END,
                       'provider outage' FROM generate_series(1, 1210) g;
                """)
            try await withAdminAPI(db) { _, api, tokens in
                let filter = #"{"error":"outage"}"#
                let dry = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":\#(filter)}"#)
                #expect(dry.object["matched"] as? Int == 1200)
                #expect(dry.status == 200)
                let confirmation = try #require(dry.object["confirmation"] as? String)
                // Since the dry run: one was sent by another path, the 10 sent ones failed
                // after all (below the dry run's highest id: only the count holds them back),
                // and a new one failed.
                try await db.execute("""
                    UPDATE herald.message SET status = 'sent', sent_at = now() WHERE id = 7;
                    UPDATE herald.message SET status = 'failed' WHERE id BETWEEN 601 AND 610;
                    INSERT INTO herald.message (channel, recipient, template, data, status, last_error) VALUES ('sms', '+34699999999', 't', '{}', 'failed', 'provider outage');
                    """)
                let done = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":\#(filter),"confirmation":"\#(confirmation)"}"#)
                #expect(done.status == 200)
                #expect(done.object["done"] as? Int == 1200)
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 7") == "sent")
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1211") == "failed")
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'pending'") == "1200")
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'failed'") == "10")
                // The status is read again under the row's lock: a message sent between the
                // selection and the lock is skipped, not sent twice.
                let apiLogin = PostgresConnection(connectionString: db.apiURL)
                try await apiLogin.connect()
                let skipped = try await apiLogin.query("SELECT result FROM herald.retry_many(ARRAY[7::bigint], '{failed,undelivered}')").scalar
                await apiLogin.close()
                #expect(skipped == "skipped: now sent")
                // The same confirmation again, even with messages failing again: refused.
                try await db.execute("UPDATE herald.message SET status = 'failed' WHERE id <= 3")
                let replay = try await api.post("/api/v1/messages/retry", tokens.operator_, #"{"filter":\#(filter),"confirmation":"\#(confirmation)"}"#)
                #expect(replay.status == 409)
                #expect((replay.object["detail"] as? String)?.contains("used already") == true)
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'failed'") == "13")
            }
        }
    }

    @Test func badInputIsRefusedBeforeItCostsAnything() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.template (key, channel, locale, body, sample_data) VALUES ('t', 'sms', 'es', 'Hola {{name}}', '{"name":"Ana"}');
                INSERT INTO herald.message (channel, recipient, template, data, send_at) VALUES ('sms', '+34600000001', 't', '{}', now() + interval '1 day');
                """)
            try await withAdminAPI(db) { _, api, tokens in
                var nested = "1"
                for _ in 0..<100 { nested = #"{"a":\#(nested)}"# }
                let huge = String(repeating: "{{x}}", count: 1_000)
                let tagged = String(repeating: "{{x}}", count: 2_001)
                let replies = try await api.send([
                    // Nesting the decoder would spend seconds on.
                    .init(method: "POST", path: "/api/v1/templates/preview", token: tokens.viewer,
                          json: .init(text: #"{"key":"t","channel":"sms","locale":"es","data":\#(nested)}"#)),
                    // A template that would print 60 MB stops at the render budget.
                    .init(method: "POST", path: "/api/v1/templates/preview", token: tokens.editor,
                          json: .init(text: #"{"key":"t","channel":"email","locale":"es","text":{"body":"b","subject":"s","html":"\#(huge)"},"data":{"x":"\#(String(repeating: "y", count: 60_000))"}}"#)),
                    // Addresses that are none.
                    .init(method: "POST", path: "/api/v1/opt-outs", token: tokens.operator_, json: .init(text: #"{"channel":"sms","recipient":"abc","reason":"x"}"#)),
                    .init(method: "POST", path: "/api/v1/opt-outs", token: tokens.operator_, json: .init(text: #"{"channel":"email","recipient":"   ","reason":"x"}"#)),
                    .init(method: "POST", path: "/api/v1/opt-outs", token: tokens.operator_, json: .init(text: #"{"channel":"email","recipient":"mailto:Bob@Example.com","reason":"x"}"#)),
                    // A cancel needs no body.
                    .init(method: "POST", path: "/api/v1/messages/1/cancel", token: tokens.operator_),
                    // Tens of thousands of tags cost seconds to compile: refused; and a text of
                    // one's own is the editor's to render.
                    .init(method: "POST", path: "/api/v1/templates/preview", token: tokens.editor,
                          json: .init(text: #"{"key":"t","channel":"sms","locale":"es","text":{"body":"\#(tagged)"}}"#)),
                    .init(method: "POST", path: "/api/v1/templates/preview", token: tokens.viewer,
                          json: .init(text: #"{"key":"t","channel":"sms","locale":"es","text":{"body":"Hola"}}"#)),
                ])
                #expect(replies[6].status == 422)
                #expect(replies[7].status == 403)
                #expect(replies[0].status == 400)
                #expect(replies[1].status == 200)
                #expect((replies[1].object["error"] as? String)?.contains("takes more than 200000") == true)
                #expect(replies[1].body.utf8.count < 20_000_000)
                #expect(replies[2...4].allSatisfy { $0.status == 422 }, "\(replies[2...4].map(\.body))")
                #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "0")
                #expect(replies[5].status == 200)
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "cancelled")
                // Refused actions that never reached their operation are audited.
                #expect(try await db.scalar("SELECT count(*) FROM herald.audit_log WHERE result LIKE 'refused: 400 before%'") == "1")
            }
        }
    }
}
