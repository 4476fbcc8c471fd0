import Foundation
import HeraldCore
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import HeraldPostgres
import Testing

/// Issue 28: one-line guards that stand between an attacker (or a stale link) and a client,
/// each with a test that fails without it (and a mutation in `deploy/mutants`).
@Suite struct GuardTests {
    static let key = Array(repeating: UInt8(9), count: 32)

    /// A signed link's MAC must be exactly the MAC: not empty, not a prefix, not longer.
    @Test func aSignedLinkWithAnEmptyShortOrLongMACIsRefused() throws {
        let token = UnsubscribeToken(messageID: 7, channel: "email", recipient: "ana@example.com").sign(key: Self.key)
        #expect(UnsubscribeToken.verify(token, key: Self.key)?.messageID == 7)
        let parts = token.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        let payload = parts[0] + "." + parts[1] + "."
        #expect(UnsubscribeToken.verify(payload, key: Self.key) == nil, "empty MAC")
        for length in [1, 4, 8, parts[2].count - 2] {
            #expect(UnsubscribeToken.verify(payload + parts[2].prefix(length), key: Self.key) == nil, "first \(length) of the MAC")
        }
        #expect(UnsubscribeToken.verify(token + "AAAA", key: Self.key) == nil, "the MAC with more after it")
        // Answer tokens go through the same check.
        let answer = AnswerToken(messageID: 7, subjectType: "appointment", subjectID: "A-1", action: .confirm, expires: 4_000_000_000)
            .sign(key: Self.key)
        let answerParts = answer.split(separator: ".").map(String.init)
        #expect(AnswerToken.verify(answerParts[0] + "." + answerParts[1] + ".", key: Self.key, now: Date()) == .failure(.invalid))
        #expect(AnswerToken.verify(answer + "AA", key: Self.key, now: Date()) == .failure(.invalid))
    }

    /// Twilio's signature must be exactly the expected one: a one-character guess that
    /// matches its first character, or the right one with more after it, is refused.
    @Test func aTwilioSignatureMustMatchWhole() {
        let url = "https://herald.example.com/hooks/webhooks/twilio/inbound"
        let params = [("From", "+34600000001"), ("Body", "STOP"), ("MessageSid", "SM1")]
        let right = TwilioSignature.compute(url: url, parameters: params, authToken: "12345")
        #expect(TwilioSignature.isValid(right, url: url, parameters: params, authToken: "12345"))
        #expect(!TwilioSignature.isValid(String(right.prefix(1)), url: url, parameters: params, authToken: "12345"))
        #expect(!TwilioSignature.isValid(String(right.prefix(right.count - 1)), url: url, parameters: params, authToken: "12345"))
        #expect(!TwilioSignature.isValid(right + "x", url: url, parameters: params, authToken: "12345"))
        #expect(!TwilioSignature.isValid(right + right, url: url, parameters: params, authToken: "12345"))
    }

    /// After the business cancelled, a confirm (by a link still in date, or a reply) is
    /// refused: no answer, no `confirmed` event, no notice to the staff.
    @Test func anAnswerAfterTheBusinessCancelledIsRefused() async throws {
        try await TestDatabase.with { db in
            try await AnswerTests.setUp(db)
            let reminder = try await AnswerTests.sendReminder(db, "A-1", channel: "sms")
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'cancelled')")
            let conn = try await db.connect()
            let (result, id) = try await Stores(connection: conn, workerID: "t")
                .inbound.recordAnswer(messageID: reminder, action: "confirm", channel: "link", from: "+34600000001")
            await conn.close()
            #expect(result == .cancelled && id == nil)
            #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "0")
            #expect(try await db.scalar("SELECT count(*) FROM herald.event WHERE type = 'confirmed'") == "0")
        }
    }

    /// An appointment moved earlier that has now started takes no answer, though the link
    /// (signed with the old, later start) is still in date.
    @Test func anAnswerOnceTheAppointmentStartedIsRefused() async throws {
        try await TestDatabase.with { db in
            try await AnswerTests.setUp(db)
            let reminder = try await AnswerTests.sendReminder(db, "A-1", channel: "sms")
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'time_changed', starts_at => now() - interval '5 minutes')")
            let conn = try await db.connect()
            let (result, _) = try await Stores(connection: conn, workerID: "t")
                .inbound.recordAnswer(messageID: reminder, action: "confirm", channel: "sms", from: "+34600000001")
            await conn.close()
            #expect(result == .started)
            #expect(try await db.scalar("SELECT count(*) FROM herald.answer") == "0")
        }
    }

    /// A link carries the appointment's start when it was sent; once the appointment moved
    /// later, the link works until the new start. Without a later start, past its time it is 410.
    @Test func anAnswerLinkWorksUntilTheSubjectsLatestStart() async throws {
        try await TestDatabase.with { db in
            try await AnswerTests.setUp(db)
            let a1 = try await AnswerTests.sendReminder(db, "A-1", channel: "email")
            let b1 = try await AnswerTests.sendReminder(db, "B-1", channel: "email")
            let sentFor = Date().addingTimeInterval(-60)  // the start the links were signed with: a minute ago
            func manage(_ id: Int64, _ subject: String) throws -> String {
                try AnswerTests.path(AnswerTests.links.url(.manage, messageID: id, subjectType: "appointment", subjectID: subject,
                                                           eventAt: sentFor, now: sentFor.addingTimeInterval(-86_400)))
            }
            try await db.query("SELECT herald.record_event('appointment', 'A-1', 'time_changed', starts_at => now() + interval '2 days')")
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let moved = try await peer.get(try manage(a1, "A-1"))
                #expect(moved.status == 200 && moved.body.contains("name=\"action\" value=\"confirm\""), "\(moved.status)")
                #expect(try await AnswerTests.post(peer, try manage(a1, "A-1"), "action=confirm").status == 200)
                #expect(try await db.scalar("SELECT count(*) FROM herald.answer WHERE subject_id = 'A-1'") == "1")
                // B-1 starts in 2027 by its events, so its link also still works; make it start a minute ago.
                try await db.query("SELECT herald.record_event('appointment', 'B-1', 'time_changed', starts_at => now() - interval '1 minute')")
                #expect(try await peer.get(try manage(b1, "B-1")).status == 410)
            }
        }
    }

    /// A receipt that arrived before its message's provider id was recorded is applied once
    /// the id is known, however many receipts for unknown ids came before it.
    @Test func anEarlyReceiptIsAppliedBehindAHundredAndFiftyUnknownOnes() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            try await db.query("""
                INSERT INTO herald.receipt (provider, provider_message_id, status)
                SELECT 'twilio', 'SM-other-' || g, 'delivered' FROM generate_series(1, 150) g
                """)
            try await db.query("INSERT INTO herald.receipt (provider, provider_message_id, status) VALUES ('twilio', 'SM-ours', 'delivered')")
            try await db.query("UPDATE herald.message SET status = 'sent', provider_message_id = 'SM-ours', sent_at = now()")
            let conn = try await db.connect()
            let report = try await Stores(connection: conn).inbound.applyReceipts()
            await conn.close()
            #expect(report.settled == 1 && report.unknown == 0 && report.waiting == 150, "\(report)")
            #expect(try await db.scalar("SELECT status FROM herald.message") == "delivered")
        }
    }
}
