import Foundation
import HeraldCore
import HeraldInbound
import HeraldOutbox
@testable import HeraldWorker
import Testing

/// Clients' answers by SMS reply (`1`/`2`, `SI`/`NO`, `OUI`/`NON`, `YES`/`NO`), processed by the
/// inbound processor against the real database: tied to the most recent reminder sent to
/// that number, never taking the place of an opt-out.
@Suite struct AnswerReplyTests {
    func answers(_ db: TestDatabase) async throws -> [[String?]] {
        try await db.query("SELECT subject_id, action, channel, from_address FROM herald.answer ORDER BY id")
            .named.map { [$0["subject_id"], $0["action"], $0["channel"], $0["from_address"]] }
    }

    @Test func repliesAnswerTheLatestReminderToThatNumberAndCancelStillOptsOut() async throws {
        try await TestDatabase.with { db in
            try await AnswerTests.setUp(db)
            // Ana has two appointments with reminders out; the second one's went last.
            try await db.execute("""
                SELECT herald.record_event('appointment', 'A-2', 'created', starts_at => '2055-06-20 12:00+02', contact_id => 'ana', location_id => 'sol');
                """)
            try await EventTests().expand(db)
            try await AnswerTests.sendReminder(db, "A-1", channel: "sms", ago: 3600)
            let second = try await AnswerTests.sendReminder(db, "A-2", channel: "sms", ago: 60)
            try await AnswerTests.sendReminder(db, "B-1", channel: "sms", ago: 30)
            let (inbound, _, links) = InboundTests().processor(db)
            try await runAlone(inbound) { () async throws -> Void in
                try await InboundTests().reply(db, "SM1", from: "+34 600 00 00 01", " 1 ")
                #expect(try await InboundTests().processed(db, 1))
                #expect(try await answers(db) == [["A-2", "confirm", "sms", "+34600000001"]], "the most recent reminder to that number")
                #expect(try await db.scalar("SELECT result || ' ' || keyword || ' ' || in_reply_to FROM herald.inbound WHERE provider_id = 'SM1'")
                        == "answer: recorded 1 \(second)")

                // Bob answers in French; then CANCEL, which carriers treat as STOP: an opt-out, never a decline.
                try await InboundTests().reply(db, "SM2", from: "+33600000002", "Oui !")
                try await InboundTests().reply(db, "SM3", from: "+33600000002", "Cancel")
                #expect(try await InboundTests().processed(db, 3))
                #expect(try await answers(db).last == ["B-1", "confirm", "sms", "+33600000002"])
                #expect(try await db.scalar("SELECT count(*) FROM herald.answer WHERE action = 'decline'") == "0")
                #expect(try await db.scalar("SELECT source FROM herald.opt_out WHERE recipient = '+33600000002'") == "keyword")

                // Ana changes her mind about A-2 in Spanish: the latest answer stands (a confirm may become a decline).
                try await InboundTests().reply(db, "SM4", from: "+34600000001", "no")
                #expect(try await InboundTests().processed(db, 4))
                #expect(try await answers(db).last == ["A-2", "decline", "sms", "+34600000001"])
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id = 'A-2' AND status = 'cancelled'") == "1",
                        "A-2's pending email reminder")
                #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE subject_id = 'A-1' AND status = 'cancelled'") == "0")

                // The same answer twice is recorded once; a confirm after a decline is refused.
                try await InboundTests().reply(db, "SM5", from: "+34600000001", "2")
                try await InboundTests().reply(db, "SM6", from: "+34600000001", "Sí")
                #expect(try await InboundTests().processed(db, 6))
                #expect(try await db.scalar("SELECT string_agg(result, ',' ORDER BY id) FROM herald.inbound WHERE provider_id IN ('SM5', 'SM6')")
                        == "answer: already,answer: declined_before")
                #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "3")

                // Without a reminder awaiting an answer, "2" is text for the business; from a number
                // that opted out, "YES" opts back in (as Twilio does) rather than answering.
                try await InboundTests().reply(db, "SM7", from: "+34699999999", "2")
                try await InboundTests().reply(db, "SM8", from: "+33600000002", "yes")
                #expect(try await InboundTests().processed(db, 8))
                #expect(try await db.scalar("SELECT result FROM herald.inbound WHERE provider_id = 'SM7'") == "reply")
                #expect(try await db.scalar("SELECT result FROM herald.inbound WHERE provider_id = 'SM8'") == "opt_in")
                #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "0")
                // Now YES from Bob answers his reminder again: already confirmed.
                try await InboundTests().reply(db, "SM9", from: "+33600000002", "YES")
                #expect(try await InboundTests().processed(db, 9))
                #expect(try await db.scalar("SELECT result FROM herald.inbound WHERE provider_id = 'SM9'") == "answer: already")
                #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "3")
            }
            await links.main.connection.close()
        }
    }

    @Test func aReminderWhoseAppointmentHasStartedAwaitsNoAnswer() async throws {
        try await TestDatabase.with { db in
            try await AnswerTests.setUp(db)
            let reminder = try await AnswerTests.sendReminder(db, "A-1", channel: "sms")
            try await db.query("UPDATE herald.message SET event_at = now() - interval '1 minute' WHERE id = $1", [reminder])
            try await db.execute("DELETE FROM herald.opt_out")
            let (inbound, _, _) = InboundTests().processor(db)
            try await runAlone(inbound) { () async throws -> Void in
                try await InboundTests().reply(db, "SM1", from: "+34600000001", "si")
                #expect(try await InboundTests().processed(db, 1))
            }
            #expect(try await db.scalar("SELECT result FROM herald.inbound") == "reply")
            #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "0")
        }
    }
}
