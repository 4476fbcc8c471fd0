import Foundation
import HeraldCore
import Testing

/// Opt-outs recorded by the host (or a DBA), and opting back in, through the worker.
@Suite struct OptOutTests {
    @Test func aHostRecordedOptOutSuppressesWaitingAndLaterMessagesAndOptingInLetsNewOnesFlow() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data, send_at) VALUES
                  ('sms', '+34600000001', 't', '{"name":"a"}', now() + interval '1 hour'),
                  ('sms', '+34600000002', 't', '{"name":"b"}', now())
                """)
            // The client told the business STOP: the host records it.
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason, source) VALUES ('sms', '+34600000001', 'told the front desk', 'host')")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34600000001', 't', '{\"name\":\"a2\"}')")
            // Another channel of the same client is not affected.
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('email', '+34600000001', 't', '{}')")
            let driver = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: driver]))
            let rows = try await db.query("SELECT id, channel, status, last_error FROM herald.message ORDER BY id").rows
            #expect(rows[0] == ["1", "sms", "suppressed", "recipient opted out of sms: told the front desk"])
            #expect(rows[1][2] == "sent")
            #expect(rows[2] == ["3", "sms", "suppressed", "recipient opted out of sms: told the front desk"])
            #expect(rows[3][2] == "pending")  // email: no driver in this test, and not suppressed
            #expect(driver.deliveries.keys.sorted() == [2])

            // The client replied START: deleting the row opts them back in, for new messages.
            try await db.query("DELETE FROM herald.opt_out WHERE channel = 'sms' AND recipient = '+34600000001'")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34600000001', 't', '{\"name\":\"a3\"}')")
            try await drain(makeWorker(db, drivers: [.sms: driver]))
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 5") == "sent")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "suppressed", "suppressed messages stay suppressed")
            #expect(driver.deliveries.keys.sorted() == [2, 5])
        }
    }
}
