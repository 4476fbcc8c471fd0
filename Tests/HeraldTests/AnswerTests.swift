import Foundation
import HeraldCore
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import HeraldPostgres
import Testing

/// Clients' answers by link, over TCP against the real listener and database: the page, the
/// answer recorded once, the decline rule, refused tokens, and `NOTIFY herald_answer`.
@Suite struct AnswerTests {
    static let key = Array("k".utf8) + Array(repeating: 7, count: 31)  // withListener's key
    static let links = AnswerLinks(publicURL: "https://herald.example.com/hooks", key: key)

    /// Default rules, a location with staff, Ana (es, Madrid) and Bob (fr, Paris), and one
    /// booking each expanded into messages.
    static func setUp(_ db: TestDatabase, sixHours: Bool = false) async throws {
        try await EventTests().setUp(db)
        try await db.execute("""
            INSERT INTO herald.contact (id, name, email, phone, locale, time_zone) VALUES
              ('bob', 'Bob', 'bob@example.fr', '+33600000002', 'fr', 'Europe/Paris');
            UPDATE herald.rule SET enabled = \(sixHours) WHERE name = 'appointment.reminder.6h';
            SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => '2055-06-15 10:00+02', contact_id => 'ana',
                                       location_id => 'sol', data => '{"service":"corte"}');
            SELECT herald.record_event('appointment', 'B-1', 'created', starts_at => '2055-06-16 18:30+02', contact_id => 'bob',
                                       location_id => 'sol');
            """)
        try await EventTests().expand(db)
    }

    /// Marks a subject's reminders on `channel` sent, as the worker would, `ago` seconds ago.
    @discardableResult
    static func sendReminder(_ db: TestDatabase, _ subject: String, channel: String, rule: String = "appointment.reminder.1d", ago: Int = 0) async throws -> Int64 {
        let id = try await db.scalar("""
            UPDATE herald.message SET status = 'sent', attempts = 1, sent_at = now() - $3 * interval '1 second', rendered_locale = locale
             WHERE subject_id = $1 AND channel = $2 AND rule_name = $4 RETURNING id
            """, [subject, channel, ago, rule])
        return try #require(id.flatMap { Int64($0) })
    }

    static func path(_ url: String?) throws -> String {
        try #require(url?.replacingOccurrences(of: "https://herald.example.com/hooks", with: ""))
    }

    static func urls(_ id: Int64, _ subject: String) -> [String: String] {
        links.urls(messageID: id, subjectType: "appointment", subjectID: subject, eventAt: Date().addingTimeInterval(86_400 * 300), now: Date())
    }

    static func post(_ peer: TwilioPeer, _ path: String, _ form: String = "") async throws -> TwilioPeer.Reply {
        try await peer.send(TwilioPeer.Request(path: path, sign: "none", raw_body: form))
    }

    @Test func thePageShowsTheAppointmentAndAGetChangesNothingThenAConfirmIsRecordedOnce() async throws {
        try await TestDatabase.with { db in
            try await Self.setUp(db)
            let reminder = try await Self.sendReminder(db, "A-1", channel: "email")
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let manage = try Self.path(Self.urls(reminder, "A-1")["manage_url"])
                for _ in 0..<3 {  // a mail scanner fetching the link, then the client
                    let page = try await peer.get(manage, headers: ["Accept-Language": "en-US"])
                    #expect(page.status == 200)
                    #expect(page.body.contains("<html lang=\"es\""), "the reminder's language wins over the browser's")
                    #expect(page.body.contains("Peluquería Sol") && page.body.contains("martes 15 de junio") && page.body.contains("10:00 (Europe/Madrid)"), "\(page.body)")
                    #expect(page.body.contains("name=\"action\" value=\"confirm\"") && page.body.contains("name=\"action\" value=\"decline\""))
                }
                #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "0", "GET never acts")
                #expect(try await db.scalar("SELECT count(*) FROM herald.event WHERE type IN ('confirmed', 'declined')") == "0")

                let done = try await Self.post(peer, manage, "action=confirm")
                #expect(done.status == 200 && done.body.contains("tu cita está confirmada"), "\(done.body)")
                let row = try #require(try await db.query("""
                    SELECT subject_type, subject_id, message_id, action, channel, from_address,
                           (SELECT type || ' ' || (starts_at = '2055-06-15 10:00+02') || ' ' || contact_id FROM herald.event WHERE id = a.event_id) AS event
                      FROM herald.answer a
                    """).named.first)
                #expect([row["subject_type"], row["subject_id"], row["message_id"], row["action"], row["channel"], row["from_address"], row["event"]]
                        == ["appointment", "A-1", "\(reminder)", "confirm", "link", "ana@example.es", "confirmed true ana"])
                // The same answer again (a double click, the confirm link after the manage page): nothing new.
                let again = try await Self.post(peer, try Self.path(Self.urls(reminder, "A-1")["confirm_url"]))
                #expect(again.status == 200 && again.body.contains("Ya habías confirmado"), "\(again.body)")
                #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "1")
                #expect(try await db.scalar("SELECT count(*) FROM herald.event WHERE type = 'confirmed'") == "1")
                // The page now says where things stand, and still offers to decline.
                let page = try await peer.get(manage)
                #expect(page.body.contains("Ya habías confirmado") && page.body.contains("value=\"decline\""))
            }
            // The rules: the client's acknowledgement (sms and email) and the business's email.
            try await EventTests().expand(db)
            let made = try await db.query("""
                SELECT rule_name, channel, recipient FROM herald.message WHERE rule_name LIKE '%client_confirmed' ORDER BY rule_name, channel
                """).named.map { [$0["rule_name"], $0["channel"], $0["recipient"]] }
            #expect(made == [["appointment.client_confirmed", "email", "ana@example.es"], ["appointment.client_confirmed", "sms", "+34600000001"],
                             ["staff.appointment.client_confirmed", "email", "recepcion@sol.example"]])
            #expect(try await db.scalar("SELECT data->>'service' FROM herald.message WHERE rule_name = 'staff.appointment.client_confirmed'") == "corte",
                    "the notice knows what was booked")
        }
    }

    @Test func aDeclineCancelsThePendingRemindersAndIsFinal() async throws {
        try await TestDatabase.with { db in
            try await Self.setUp(db, sixHours: true)
            let reminder = try await Self.sendReminder(db, "A-1", channel: "sms")
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                // The cancel link's own action, with no form field (a one-click POST).
                let done = try await Self.post(peer, try Self.path(Self.urls(reminder, "A-1")["cancel_url"]))
                #expect(done.status == 200 && done.body.contains("Tu cita queda cancelada"), "\(done.body)")
                let left = try await db.query("""
                    SELECT rule_name, channel, status, last_error FROM herald.message
                     WHERE subject_id = 'A-1' AND rule_name LIKE 'appointment.reminder%' AND id <> $1 ORDER BY id
                    """, [reminder]).named
                #expect(left.count == 2 && left.allSatisfy { $0["status"] == "cancelled" && ($0["last_error"] ?? "").contains("the client declined") },
                        "the 1-day email and the 6-hour SMS: \(left.map { [$0["rule_name"], $0["channel"], $0["status"]] })")
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id = 'B-1' AND status = 'cancelled'") == "0", "another subject")
                // Confirming after declining is refused (the slot may be given away); the page says so.
                let late = try await Self.post(peer, try Self.path(Self.urls(reminder, "A-1")["manage_url"]), "action=confirm")
                #expect(late.status == 200 && late.body.contains("Ya habías cancelado"), "\(late.body)")
                #expect(try await db.scalar("SELECT string_agg(action, ',' ORDER BY id) FROM herald.answer") == "decline")
                let page = try await peer.get(try Self.path(Self.urls(reminder, "A-1")["confirm_url"]))
                #expect(!page.body.contains("<button"), "no buttons once declined")
            }
            try await EventTests().expand(db)
            let made = try await db.query("SELECT rule_name, channel FROM herald.message WHERE rule_name LIKE '%client_declined' ORDER BY 1, 2")
                .named.map { [$0["rule_name"], $0["channel"]] }
            #expect(made == [["appointment.client_declined", "email"], ["appointment.client_declined", "sms"], ["staff.appointment.client_declined", "email"]])
        }
    }

    @Test func tamperedExpiredAndUnknownLinksAreRefusedWithAPage() async throws {
        try await TestDatabase.with { db in
            try await Self.setUp(db)
            let reminder = try await Self.sendReminder(db, "B-1", channel: "email")
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let good = try Self.path(Self.urls(reminder, "B-1")["confirm_url"])
                var tampered = Array(good)
                let i = good.count - 5
                tampered[i] = tampered[i] == "A" ? "B" : "A"
                let forged = AnswerToken(messageID: reminder, subjectType: "appointment", subjectID: "B-1", action: .confirm, expires: 4_102_444_800)
                    .sign(key: Array(repeating: 1, count: 32))
                let expired = AnswerToken(messageID: reminder, subjectType: "appointment", subjectID: "B-1", action: .confirm,
                                          expires: Int64(Date().timeIntervalSince1970) - 1).sign(key: Self.key)
                let otherSubject = AnswerToken(messageID: reminder, subjectType: "appointment", subjectID: "A-1", action: .confirm,
                                               expires: 4_102_444_800).sign(key: Self.key)
                // A link past its time works while the appointment is still ahead (it may have moved
                // later): B-1 is made to have started a minute ago, so the expired link is refused.
                try await db.query("SELECT herald.record_event('appointment', 'B-1', 'time_changed', starts_at => now() - interval '1 minute')")
                let cases: [(String, Int, String)] = [
                    (String(tampered), 400, "not valid"), ("/answer/" + forged, 400, "not valid"), ("/answer/v1.abc.def", 400, "not valid"),
                    ("/answer/" + expired, 410, "has expired"), ("/answer/" + otherSubject, 410, "no longer find"),
                ]
                for (path, status, words) in cases {
                    for reply in [try await peer.get(path), try await Self.post(peer, path, "action=confirm")] {
                        #expect(reply.status == status && reply.body.contains(words) && reply.body.contains("role=\"alert\""), "\(path): \(reply.status) \(reply.body)")
                    }
                }
                #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "0")
                // A manage link posted without a choice asks for one.
                let none = try await Self.post(peer, try Self.path(Self.urls(reminder, "B-1")["manage_url"]), "action=maybe")
                #expect(none.status == 400 && none.body.contains("Choisissez"))
            }
        }
    }

    @Test func eachAnswerIsNotifiedOnHeraldAnswerAtOnce() async throws {
        try await TestDatabase.with { db in
            try await Self.setUp(db)
            let reminder = try await Self.sendReminder(db, "A-1", channel: "email")
            let host = try await db.connect()
            try await host.listen("herald_answer")
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await Self.post(peer, try Self.path(Self.urls(reminder, "A-1")["manage_url"]), "action=decline").status == 200)
            }
            let notes = try await host.waitForNotifications(timeout: .seconds(5))
            let payload = try #require(notes.first?.payload)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            #expect(json["subject_id"] as? String == "A-1" && json["action"] as? String == "decline" && json["channel"] as? String == "link")
            #expect((json["message_id"] as? NSNumber)?.int64Value == reminder)
            await host.close()
        }
    }
}
