import Foundation
import Testing

/// Issue 27: one answer to "why does this client get nothing", the same in the view, the
/// admin API's contact page (through the API's own login) and the console's client page.
@Suite struct ReachabilityTests {
    @Test func theViewTheAPIAndTheConsoleGiveTheSameReasons() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.contact (id, name, email, phone, preference) VALUES
                    ('c-1', 'Olga', 'olga@correo.invalid', '600111222', 'both'),
                    ('c-2', 'Ana', 'ana@example.es', '+34600000002', 'both');
                INSERT INTO herald.message (channel, recipient, template, data, status, contact_id) VALUES ('email', 'olga@correo.invalid', 't', '{}', 'sent', 'c-1');
                INSERT INTO herald.undeliverable (channel, recipient, reason, detail, message_id) VALUES ('email', 'Olga@Correo.invalid', 'hard_bounce', '5.1.1 user unknown', 1);
                INSERT INTO herald.message (channel, recipient, template, data, status, contact_id) VALUES
                    ('sms', '+34600000002', 't', '{}', 'undelivered', 'c-2'), ('sms', '+34600000002', 't', '{}', 'undelivered', 'c-2'),
                    ('sms', '+34600000002', 't', '{}', 'undelivered', 'c-2');
                UPDATE herald.message SET last_error = 'carrier: unreachable' WHERE id = 4;
                INSERT INTO herald.opt_out (channel, recipient, source, reason) VALUES ('email', 'ana@example.es', 'desk', 'asked at the desk');
                """)
            let view = try await db.query("SELECT contact_id, channel, reason, coalesce(message_id::text, '') FROM herald.unreachable ORDER BY 1, 2, 3").rows
                .map { $0.map { $0 ?? "" }.joined(separator: " ") }
            #expect(view == ["c-1 email hard_bounce 1", "c-1 sms invalid_number ", "c-2 email opted_out ", "c-2 sms repeated_undelivered 4"])
            #expect(try await db.scalar("SELECT detail FROM herald.unreachable WHERE reason = 'repeated_undelivered'")
                    == "the last 3 messages sent there were undelivered; the last: carrier: unreachable")
            // One delivered message among the last three: reachable again.
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data, status, contact_id) VALUES ('sms', '+34600000002', 't', '{}', 'delivered', 'c-2')")
            #expect(try await db.scalar("SELECT count(*) FROM herald.unreachable WHERE reason = 'repeated_undelivered'") == "0")

            try await ConsoleUsers.make(db)
            try await withAdminAPI(db, configure: { $0.console.bcryptCost = 4 }) { _, api, tokens in
                let page = try await api.get("/api/v1/contacts/c-1", tokens.viewer)
                #expect(page.status == 200, "\(page.body)")
                let rows = page.object["unreachable"] as? [[String: Any]] ?? []
                #expect(rows.map { "\($0["channel"] ?? "") \($0["reason"] ?? "") \($0["message_id"] ?? "")" } == ["email hard_bounce 1", "sms invalid_number "])
                #expect(rows.first?["detail"] as? String == "5.1.1 user unknown")
                let reachable = try await api.get("/api/v1/contacts/c-2", tokens.viewer)
                #expect((reachable.object["unreachable"] as? [[String: Any]])?.map { $0["reason"] as? String ?? "" } == ["opted_out"])
                let console = ConsolePeer(port: api.port)
                let r = try await console.run(ConsolePeer.signIn("viewer-u") + [.init(path: "/console/clients/c-1")])
                #expect(r[2].status == 200)
                #expect(r[2].body.contains("Can Herald reach them?"))
                #expect(r[2].body.contains("<strong>Not by email</strong> (olga@correo.invalid): the address does not exist (it bounced) — 5.1.1 user unknown"), "\(r[2].body)")
                #expect(r[2].body.contains("<strong>Not by sms</strong> (600111222): the number is not valid"))
            }
        }
    }
}
