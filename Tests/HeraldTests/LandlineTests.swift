import Foundation
@testable import HeraldCurl
import HeraldDrivers
import HeraldHTTP
import HeraldOutbox
import Testing

/// Issue 27: landlines. With `lookup = true` the Twilio driver asks the (local)
/// Twilio-compatible Lookup API for each number's line type before its first SMS, keeps the
/// answer for `lookup_max_age`, fails an SMS to a landline with the reason instead of paying
/// for a send the carrier refuses, and records the number as undeliverable; a receipt with
/// error 30006 records the same fact.
@Suite struct LandlineTests {
    static func config(_ db: TestDatabase, _ http: Peer, lookup: Bool = true) throws -> String {
        let dir = try temporaryDirectory()
        try "tok-secret".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        return try writeConfig("""
            [database]
            url = "\(db.daemonURL)"
            [quiet_hours]
            sms = "off"
            [scheduling]
            minimum_lead = "0s"
            [retry]
            base = "200ms"
            jitter = false
            [channels.sms]
            driver = "twilio"
            base_url = "http://127.0.0.1:\(http.port)"
            account_sid = "ACtest"
            auth_token_file = "\(dir.appendingPathComponent("token").path)"
            from = "+34911000000"
            lookup = \(lookup)
            lookup_url = "http://127.0.0.1:\(http.port)"
            lookup_max_age = "30d"
            """)
    }

    static func lookups(_ http: Peer, _ number: String) -> Int {
        http.requests().filter { $0["kind"] as? String == "lookup" && $0["number"] as? String == number }.count
    }

    @Test func aLandlineIsLookedUpOnceFailsWithTheReasonAndIsRecorded() async throws {
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let config = try Self.config(db, http)
            try await db.addTemplate()
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone, preference) VALUES ('fijo', 'Casa García', '+34 611 000 007', 'sms');
                INSERT INTO herald.message (channel, recipient, template, data) VALUES
                    ('sms', '+34611000007', 't', '{"name":"Ana"}'), ('sms', '+34611000001', 't', '{"name":"Ana"}'), ('sms', '+34611000008', 't', '{"name":"Ana"}'),
                    ('sms', '+34611000009', 't', '{"name":"Ana"}');
                INSERT INTO herald.message (channel, recipient, template, data, send_at) VALUES ('sms', '+34611000007', 't', '{"name":"Ana"}', now() + interval '1 day');
                """)
            let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", config])
            #expect(run.0 == 0, "\(run.2)")
            let rows = try await db.query("SELECT status || ': ' || coalesce(last_error, '') FROM herald.message ORDER BY id").rows.map { $0[0] ?? "" }
            #expect(rows == [
                "failed: +34611000007 is a landline (Twilio Lookup): it cannot receive SMS",
                "sent: ", "sent: ", "sent: ",  // a mobile; the lookup failing (500) or giving no type lets the SMS go
                "suppressed: sms +34611000007 is undeliverable (landline): Twilio Lookup: a landline (Telefónica Fijo)",
            ])
            #expect(http.requests().filter { $0["kind"] as? String == "sms" }.compactMap { ($0["form"] as? [String: String])?["To"] }.sorted()
                    == ["+34611000001", "+34611000008", "+34611000009"], "no SMS was sent to the landline")
            #expect(http.requests().first { $0["kind"] as? String == "lookup" }?["query"] as? String == "Fields=line_type_intelligence")
            #expect(try await db.scalar("SELECT string_agg(number || ' ' || line_type, ', ' ORDER BY number) FROM herald.line_type")
                    == "+34611000001 mobile, +34611000007 landline")
            #expect(try await db.scalar("SELECT reason || ' ' || message_id FROM herald.unreachable WHERE contact_id = 'fijo' AND channel = 'sms'") == "landline 1")

            // Known now: a new SMS to the mobile goes without a second lookup; one to the landline stops on insert.
            try await db.execute("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34611000001', 't', '{\"name\":\"Ana\"}'), ('sms', '+34611000007', 't', '{\"name\":\"Ana\"}')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 7") == "suppressed")
            #expect(try await HeraldProcess.run(["run", "--exit-when-idle", "--config", config]).0 == 0)
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 6") == "sent")
            #expect(Self.lookups(http, "+34611000001") == 1 && Self.lookups(http, "+34611000007") == 1)
            // Older than lookup_max_age: looked up again.
            try await db.execute("""
                UPDATE herald.line_type SET checked_at = now() - interval '31 days';
                UPDATE herald.undeliverable SET until = now() - interval '1 second';
                INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34611000001', 't', '{"name":"Ana"}'), ('sms', '+34611000007', 't', '{"name":"Ana"}');
                """)
            #expect(try await HeraldProcess.run(["run", "--exit-when-idle", "--config", config]).0 == 0)
            #expect(Self.lookups(http, "+34611000001") == 2 && Self.lookups(http, "+34611000007") == 2)
            #expect(try await db.scalar("SELECT string_agg(status, ',' ORDER BY id) FROM herald.message WHERE id IN (8, 9)") == "sent,failed")
            #expect(try await db.scalar("SELECT until > now() + interval '29 days' FROM herald.undeliverable WHERE recipient = '+34611000007'") == "t")
            // An operator lifting it lifts the kept answer too: the next SMS looks the number up again.
            try await db.query("DELETE FROM herald.undeliverable WHERE recipient = '+34611000007'")
            #expect(try await db.scalar("SELECT count(*) FROM herald.line_type WHERE number = '+34611000007'") == "0")
            // A number ported to a mobile: the next answer lifts the landline.
            try await db.query("SELECT herald.record_line_type('+34 611 000 007', 'landline', NULL, 9, interval '30 days')")
            try await db.query("SELECT herald.record_line_type('+34 611 000 007', 'mobile', NULL, 9, interval '30 days')")
            #expect(try await db.scalar("SELECT count(*) FROM herald.undeliverable") == "0")
            #expect(try await db.scalar("SELECT count(*) FROM herald.unreachable WHERE contact_id = 'fijo' AND channel = 'sms'") == "0")
        }
    }

    @Test func aReceiptWithError30006RecordsALandlineWithoutLookups() async throws {
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, status, sent_at, provider_message_id) VALUES
                  ('sms', '+34600000001', 't', 'sent', now(), 'SMA')
                """)
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.send(TwilioPeer.status("SMA", "undelivered", errorCode: "30006")).status == 200)
            }
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "undelivered")
            #expect(try await db.scalar("SELECT reason || ': ' || detail FROM herald.undeliverable WHERE channel = 'sms' AND recipient = '+34600000001'")
                    == "landline: the carrier reported error 30006 (a landline or an unreachable carrier)")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34600000001', 't', '{\"name\":\"Ana\"}')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 2") == "suppressed")
            // Without lookups the driver never asks.
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34600000005', 't', '{\"name\":\"Ana\"}')")
            #expect(try await HeraldProcess.run(["run", "--exit-when-idle", "--config", try Self.config(db, http, lookup: false)]).0 == 0)
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 3") == "sent")
            #expect(http.requests().allSatisfy { $0["kind"] as? String != "lookup" })
            // Two receipts for one number in one batch: one row, and the batch goes through.
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template, status, sent_at, provider_message_id) VALUES
                  ('sms', '+34600000009', 't', 'sent', now(), 'SMB'), ('sms', '+34600000009', 't', 'sent', now(), 'SMC');
                INSERT INTO herald.receipt (provider, provider_message_id, status, error_code) VALUES
                  ('twilio', 'SMB', 'undelivered', '30006'), ('twilio', 'SMC', 'undelivered', '30006');
                """)
            let conn = try await db.connect()
            let report = try await Stores(connection: conn).inbound.applyReceipts()
            await conn.close()
            #expect(report.settled == 2, "\(report)")
            #expect(try await db.scalar("SELECT message_id FROM herald.undeliverable WHERE recipient = '+34600000009'") == "5")
        }
    }

    @Test(arguments: [
        (200, #"{"line_type_intelligence":{"type":"landline","carrier_name":"Telefónica"}}"#, TwilioLookup.Answer.lineType("landline", carrier: "Telefónica")),
        (200, #"{"line_type_intelligence":{"type":"mobile","carrier_name":""}}"#, .lineType("mobile", carrier: nil)),
        (200, #"{"line_type_intelligence":{"type":null,"error_code":60600}}"#, .unknown("Twilio Lookup gave no line type (error 60600)")),
        (200, #"{"line_type_intelligence":{"type":"land line; DROP"}}"#, .unknown("Twilio Lookup gave no line type")),
        (200, "not json", .unknown("Twilio Lookup answered 200 without JSON")),
        (404, "{}", .unknown("Twilio Lookup answered 404")),
    ])
    func lookupAnswers(status: Int, body: String, answer: TwilioLookup.Answer) {
        #expect(TwilioLookup.interpret(HTTPResponse(status: status, headers: [], body: Data(body.utf8))) == answer)
    }

    @Test func theLookupURLEncodesTheNumber() {
        #expect(TwilioLookup.url(base: "https://lookups.twilio.com/", number: "+34611000007")
                == "https://lookups.twilio.com/v2/PhoneNumbers/%2B34611000007?Fields=line_type_intelligence")
    }
}
