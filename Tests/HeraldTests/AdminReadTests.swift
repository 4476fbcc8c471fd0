import Foundation
import HeraldAdmin
import HeraldOutbox
import HeraldPostgres
import Testing

/// The admin API's reads: searches with every filter and their cursor, one message, a
/// subject's feed, an event, replies, rules; and the plans that keep searches on indexes.
@Suite struct AdminReadTests {
    @Test func searchesFilterAndPageWithACursor() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone) VALUES ('c-1', 'Ana', '+34600000001');
                INSERT INTO herald.message (channel, recipient, template, data, contact_id, subject_type, subject_id, location_id, send_at)
                SELECT 'sms', '+34600000001', 'appointment.reminder', '{}', 'c-1', 'appointment', 'A-' || (g % 3), 'madrid', now() + interval '1 day'
                  FROM generate_series(1, 25) g;
                INSERT INTO herald.message (channel, recipient, template, data, status, last_error)
                     VALUES ('email', 'Bea@Example.com', 'appointment.confirmed', '{}', 'failed', 'SMTP 550 mailbox unavailable');
                """)
            try await withAdminAPI(db) { _, api, tokens in
                var ids: [Int] = []
                var cursor: String?
                repeat {
                    let page = try await api.get("/api/v1/messages?contact=c-1&limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""), tokens.viewer)
                    ids += (page.object["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                    cursor = page.object["next_cursor"] as? String
                } while cursor != nil
                #expect(ids == Array((1...25).reversed()))
                let replies = try await api.send([
                    .init(path: "/api/v1/messages?recipient=bea%40example.com", token: tokens.viewer),
                    .init(path: "/api/v1/messages?recipient=%2B34%20600%2000%2000%2001&channel=sms&subject_type=appointment&subject_id=A-1", token: tokens.viewer),
                    .init(path: "/api/v1/messages?error=MAILBOX", token: tokens.viewer),
                    .init(path: "/api/v1/messages?status=pending&location=madrid&template=appointment.reminder&limit=500", token: tokens.viewer),
                    .init(path: "/api/v1/messages?created_after=2000-01-01T00:00:00Z&created_before=2000-01-02T00:00:00Z", token: tokens.viewer),
                    .init(path: "/api/v1/messages?limit=0", token: tokens.viewer),
                    .init(path: "/api/v1/messages?error=ab", token: tokens.viewer),
                    .init(path: "/api/v1/messages?status=lost", token: tokens.viewer),
                    .init(path: "/api/v1/messages?error=%25%25%25", token: tokens.viewer),
                ])
                func count(_ r: AdminPeer.Reply) -> Int? { (r.object["items"] as? [Any])?.count }
                #expect(count(replies[0]) == 1)
                #expect(count(replies[1]) == 9)
                #expect(count(replies[2]) == 1)
                #expect(count(replies[3]) == 25)
                #expect(count(replies[4]) == 0)
                #expect(replies[5...7].map(\.status) == [400, 400, 400])
                #expect(replies[5...7].allSatisfy { $0.type.hasPrefix("application/problem+json") }, "\(replies[5...7].map { "\($0.type) \($0.body)" })")
                // LIKE's wildcards are matched as text.
                #expect(count(replies[8]) == 0)
            }
        }
    }

    @Test func oneMessageTheFeedAnEventRepliesAndRules() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.template (key, channel, locale, body) VALUES ('t', 'sms', 'es', 'Hola {{name}}');
                INSERT INTO herald.message (channel, recipient, template, locale, data, subject_type, subject_id, status, provider_message_id, sent_at)
                     VALUES ('sms', '+34600000001', 't', 'es', '{"name":"Ana"}', 'appointment', 'A-1', 'sent', 'SM1', now());
                INSERT INTO herald.attempt (message_id, number, worker, driver, outcome, started_at, finished_at)
                     VALUES (1, 1, 'w', 'twilio', 'sent', now(), now());
                INSERT INTO herald.receipt (provider, provider_message_id, status) VALUES ('twilio', 'SM1', 'delivered');
                INSERT INTO herald.inbound (provider, provider_id, from_address, body, processed_at, result, in_reply_to)
                     VALUES ('twilio', 'IN1', '+34600000001', '¿Puedo llevar a mi hija?', now(), 'reply', 1);
                """)
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => now() + interval '2 days')")
            _ = try await CatalogStore(connection: try await db.connect()).installDefaultRules()
            try await withAdminAPI(db) { _, api, tokens in
                let message = try await api.get("/api/v1/messages/1", tokens.viewer).object
                #expect((message["attempts"] as? [[String: Any]])?.first?["driver"] as? String == "twilio")
                #expect((message["receipts"] as? [[String: Any]])?.first?["status"] as? String == "delivered")
                #expect((message["rendered"] as? [String: Any])?["body"] as? String == "Hola Ana")
                #expect((message["explanation"] as? String)?.hasPrefix("sent") == true)
                let feed = try await api.get("/api/v1/subjects/appointment/A-1", tokens.viewer).object
                #expect((feed["entries"] as? [[String: Any]])?.map { $0["kind"] as? String }.contains("event") == true)
                #expect(try await api.get("/api/v1/events/1", tokens.viewer).status == 200)
                #expect(try await api.get("/api/v1/events/99", tokens.viewer).status == 404)
                let waiting = try await api.get("/api/v1/replies", tokens.viewer).object["items"] as? [[String: Any]]
                #expect(waiting?.first?["body"] as? String == "¿Puedo llevar a mi hija?")
                #expect(try await api.post("/api/v1/replies/1/handled", tokens.viewer, "{}").status == 403)
                let handled = try await api.post("/api/v1/replies/1/handled", tokens.operator_, "{}")
                #expect(handled.object["handled_by"] as? String == "token operator-1")
                #expect((try await api.get("/api/v1/replies", tokens.viewer).object["items"] as? [Any])?.isEmpty == true)
                #expect((try await api.get("/api/v1/replies?handled=true", tokens.viewer).object["items"] as? [Any])?.count == 1)
                let rules = try await api.get("/api/v1/rules", tokens.viewer).array
                #expect(rules.contains { $0["name"] as? String == "appointment.reminder.1d" && $0["enabled"] as? Bool == true })
            }
        }
    }

    @Test func rulesChangeInBulkWithTheirReplanPreview() async throws {
        try await TestDatabase.with { db in
            let conn = try await db.connect()
            _ = try await CatalogStore(connection: conn).installDefaultRules()
            await conn.close()
            try await withAdminAPI(db) { _, api, tokens in
                let body = #"{"names":["appointment.reminder.1d","appointment.feedback"],"change":{"channels":["email"],"preview":true}}"#
                let preview = try await api.post("/api/v1/rules/bulk", tokens.editor, body)
                #expect(preview.status == 200)
                #expect(preview.array.map { $0["applied"] as? Bool } == [false, false])
                #expect(try await db.scalar("SELECT array_to_string(channels, ',') FROM herald.rule WHERE name = 'appointment.feedback'") != "email")
                #expect(try await api.post("/api/v1/rules/bulk", tokens.operator_, body).status == 403)
                let unknown = try await api.post("/api/v1/rules/bulk", tokens.editor, #"{"names":["nope"],"change":{"enabled":false}}"#)
                #expect(unknown.status == 404)
                let applied = try await api.post("/api/v1/rules/bulk", tokens.editor, body.replacingOccurrences(of: "true", with: "false"))
                #expect(applied.array.map { $0["applied"] as? Bool } == [true, true])
                #expect(try await db.scalar("SELECT count(*) FROM herald.rule WHERE channels = '{email}' AND name IN ('appointment.reminder.1d', 'appointment.feedback')") == "2")
                #expect(try await db.scalar("SELECT count(*) FROM herald.rule_edit WHERE state = 'pending'") == "2")
                let off = try await api.post("/api/v1/rules/appointment.feedback", tokens.editor, #"{"enabled":false}"#, method: "PATCH")
                #expect(off.status == 200)
                #expect(try await db.scalar("SELECT enabled FROM herald.rule WHERE name = 'appointment.feedback'") == "f")
                #expect(try await api.post("/api/v1/rules/appointment.feedback", tokens.editor, "{}", method: "PATCH").status == 422)
            }
        }
    }

    /// The searches a support desk runs most use an index, on a table large enough that the
    /// planner would rather scan it sequentially if none served.
    @Test func theDashboardsFiguresAndTheSearchForAClient() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.contact (id, name, email, phone) VALUES ('c-ana', 'Ana Pérez', 'Ana@Example.es', '+34 600 000 001'),
                    ('c-bea', 'Bea 100%', 'bea@example.es', '600111222'), ('c-x', NULL, NULL, NULL);
                INSERT INTO herald.message (channel, recipient, template, data, status, last_error, updated_at) VALUES
                    ('sms', '+34600000001', 't', '{}', 'sent', NULL, now() - interval '2 hours'),
                    ('sms', '+34600000001', 't', '{}', 'delivered', NULL, now() - interval '2 hours'),
                    ('email', 'a@example.es', 't', '{}', 'failed', 'smtp 451 (attempt 3)', now() - interval '2 hours'),
                    ('email', 'a@example.es', 't', '{}', 'failed', 'smtp 451 (attempt 4)', now() - interval '1 hour'),
                    ('sms', '+34600000002', 't', '{}', 'undelivered', 'carrier 30003', now() - interval '30 hours'),
                    ('sms', '+34600000003', 't', '{}', 'cancelled', 'no longer needed', now() - interval '1 hour');
                """)
            try await withAdminAPI(db) { _, api, tokens in
                let r = try await api.send([
                    .init(path: "/api/v1/stats", token: tokens.viewer), .init(path: "/api/v1/stats?hours=168", token: tokens.viewer),
                    .init(path: "/api/v1/stats?hours=0", token: tokens.viewer),
                    .init(path: "/api/v1/contacts?q=p%C3%A9rez", token: tokens.viewer), .init(path: "/api/v1/contacts?q=600%20000%20001", token: tokens.viewer),
                    .init(path: "/api/v1/contacts?q=ana%40ex", token: tokens.viewer), .init(path: "/api/v1/contacts?q=%25%25", token: tokens.viewer),
                    .init(path: "/api/v1/contacts?q=a", token: tokens.viewer), .init(path: "/api/v1/contacts?q=c-x", token: tokens.viewer),
                    .init(path: "/api/v1/contacts?q=100%25", token: tokens.viewer),
                ])
                let day = r[0].object, week = r[1].object
                let daySeries = day["series"] as? [[String: Any]] ?? []
                #expect(daySeries.count == 24 && (week["series"] as? [[String: Any]] ?? []).count == 168)
                func sum(_ series: Any?, _ key: String) -> Int { (series as? [[String: Any]] ?? []).reduce(0) { $0 + ($1[key] as? Int ?? 0) } }
                #expect(sum(day["series"], "sent") == 2 && sum(day["series"], "failed") == 2 && sum(day["series"], "undelivered") == 0)
                #expect(sum(week["series"], "undelivered") == 1)
                let reasons = (day["top_failures"] as? [[String: Any]] ?? []).map { "\($0["reason"] ?? "") \($0["count"] ?? "")" }
                #expect(reasons == ["smtp N (attempt N) 2"], "numbers folded: \(reasons)")
                #expect((day["health"] as? [[String: Any]] ?? []).compactMap { $0["part"] as? String } == ["database", "daemon", "listener"])
                #expect(r[2].status == 400)
                #expect(r[3].array.compactMap { $0["id"] as? String } == ["c-ana"])
                #expect(r[4].array.compactMap { $0["id"] as? String } == ["c-ana"], "a phone by its digits, however written")
                #expect(r[5].array.compactMap { $0["id"] as? String } == ["c-ana"], "an email by its start, any case")
                #expect(r[6].array.isEmpty, "LIKE's wildcards are taken literally")
                #expect(r[7].status == 400)
                #expect(r[8].array.compactMap { $0["id"] as? String } == ["c-x"], "by id")
                #expect(r[9].array.compactMap { $0["id"] as? String } == ["c-bea"])
            }
        }
    }

    @Test func searchesUseIndexes() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, data, contact_id, subject_type, subject_id, status, last_error, send_at)
                SELECT 'sms', '+346' || lpad(g::text, 8, '0'), 't', '{}', 'c-' || (g % 5000), 'appointment', 'A-' || g,
                       (ARRAY['sent','delivered','failed','pending'])[1 + g % 4],
                       CASE WHEN g % 4 = 2 THEN 'SMS provider answered ' || (g % 97) ELSE NULL END, now() + interval '1 day'
                  FROM generate_series(1, 40000) g;
                ANALYZE herald.message;
                """)
            let conn = try await db.connect()
            defer { Task { await conn.close() } }
            var filters: [(String, AdminStore.MessageFilter)] = []
            var f = AdminStore.MessageFilter(); f.recipient = "+34600012345"; filters.append(("recipient", f))
            f = .init(); f.contact = "c-42"; filters.append(("contact", f))
            f = .init(); f.subjectType = "appointment"; f.subjectID = "A-77"; filters.append(("subject", f))
            f = .init(); f.status = "failed"; filters.append(("status", f))
            f = .init(); f.error = "answered 13"; filters.append(("last_error", f))
            for (name, filter) in filters {
                let (sql, parameters) = AdminStore.searchSQL(filter, limit: 50, before: nil)
                let plan = try await conn.query("EXPLAIN " + sql, parameters).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
                #expect(!plan.contains("Seq Scan"), "\(name):\n\(plan)")
                #expect(plan.contains("Index") || plan.contains("Bitmap"), "\(name):\n\(plan)")
            }
        }
    }
}
