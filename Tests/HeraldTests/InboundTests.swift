import Foundation
import HeraldCore
import HeraldInbound
import HeraldOutbox
@testable import HeraldWorker
import Logging
import ServiceLifecycle
import Testing

/// Client replies inserted into `herald.inbound` (as Herald's listener or another system
/// would) and processed by the inbound processor, alone, against the real database.
@Suite struct InboundTests {
    func processor(_ db: TestDatabase) -> (InboundProcessor, DaemonContext, DatabaseLinks) {
        var settings = WorkerSettings(workerID: "w", pollInterval: .milliseconds(200), scheduling: .init(quietHours: [:]))
        // Herald's answers are RepliesTests' subject: here only consent and free text.
        settings.replies = ReplySettings(confirmStop: false, confirmStart: false, answerHelp: false)
        let context = DaemonContext(settings: settings, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        context.startup.finish()
        let links = DatabaseLinks(databaseURL: db.daemonURL, context: context)
        return (InboundProcessor(context: context, links: links), context, links)
    }

    func reply(_ db: TestDatabase, _ sid: String, from: String, _ body: String) async throws {
        try await db.query("""
            INSERT INTO herald.inbound (provider, provider_id, from_address, to_address, body) VALUES ('twilio', $1, $2, '+34911000000', $3)
            ON CONFLICT (provider, provider_id) DO NOTHING
            """, [sid, from, body])
    }

    func processed(_ db: TestDatabase, _ count: Int) async throws -> Bool {
        try await db.waitUntil { try await db.scalar("SELECT count(*) FROM herald.inbound WHERE processed_at IS NOT NULL") == "\(count)" }
    }

    @Test func stopInAnyLanguageSuppressesAndStartLiftsItWhateverItsSource() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            let (inbound, _, links) = processor(db)
            try await runAlone(inbound) { () async throws -> Void in
                try await db.query("INSERT INTO herald.message (channel, recipient, template, send_at) VALUES ('sms', '+34600000001', 't', now() + interval '1 day')")
                try await reply(db, "SM1", from: "+34 600 00 00 01", "Baja")
                #expect(try await processed(db, 1))
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "suppressed", "an already-pending message")
                let row = try #require(try await db.query("SELECT recipient, source, reason FROM herald.opt_out").named.first)
                #expect(row["recipient"] == "+34600000001" && row["source"] == "keyword" && row["reason"] == "replied BAJA (inbound 1)")
                try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+34600000001', 't')")
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 2") == "suppressed", "a later message")

                // The same provider message delivered twice is one row.
                try await reply(db, "SM1", from: "+34600000001", "Baja")
                #expect(try await db.scalar("SELECT count(*) FROM herald.inbound") == "1")

                // An opt-out from the provider (error 21610) is lifted by START too.
                try await db.execute("""
                    DELETE FROM herald.opt_out;
                    INSERT INTO herald.opt_out (channel, recipient, reason, source) VALUES ('sms', '+34600000001', 'error 21610', 'provider');
                    """)
                try await reply(db, "SM2", from: "+34600000001", " start ")
                #expect(try await processed(db, 2))
                #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "0")
                try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+34600000001', 't')")
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 3") == "pending", "sent again after START")
                let ledger = try await db.query("SELECT action, source, coalesce(reason, '-') AS reason FROM herald.consent_event ORDER BY id").named
                #expect(ledger.map { [$0["action"], $0["source"], $0["reason"]] } == [
                    ["opt_out", "keyword", "replied BAJA (inbound 1)"], ["opt_in", "host", "-"], ["opt_out", "provider", "error 21610"],
                    ["opt_in", "keyword", "replied START (inbound 3)"],  // the duplicate insert used id 2
                ])

                try await reply(db, "SM3", from: "+34600000002", "ARRÊT")
                try await reply(db, "SM4", from: "+34600000003", "aide")
                #expect(try await processed(db, 4))
                let results = try await db.query("SELECT provider_id, result, keyword FROM herald.inbound ORDER BY id").named
                #expect(results.map { [$0["provider_id"], $0["result"], $0["keyword"]] } == [
                    ["SM1", "opt_out", "BAJA"], ["SM2", "opt_in", "START"], ["SM3", "opt_out", "ARRET"], ["SM4", "help", "AIDE"],
                ])
            }
            await links.inbound.connection.close()
        }
    }

    @Test func freeTextIsKeptAndTiedToTheLastMessageSentToThatClient() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, status, sent_at) VALUES
                  ('sms', '+34600000001', 't', 'sent', now() - interval '2 days'),
                  ('sms', '+34600000001', 't', 'sent', now() - interval '1 hour'),
                  ('sms', '+34600000001', 't', 'pending', NULL),
                  ('sms', '+34600000009', 't', 'sent', now())
                """)
            let (inbound, _, links) = processor(db)
            try await runAlone(inbound) { () async throws -> Void in
                try await reply(db, "SM9", from: "+34600000001", "No puedo ir el martes, ¿el miércoles?")
                try await reply(db, "SM10", from: "+34699999999", "¿Quién es?")
                // A 10 MB body from another system (and a NUL-free STOP after 64 spaces) is free text, never read whole.
                try await db.execute("INSERT INTO herald.inbound (provider, provider_id, from_address, body) VALUES ('other', 'big', '+34600000001', repeat('x', 10000000))")
                try await reply(db, "SM11", from: "+34600000005", String(repeating: " ", count: 64) + "STOP")
                #expect(try await processed(db, 4))
                let rows = try await db.query("SELECT result, coalesce(in_reply_to::text, '-') AS in_reply_to FROM herald.inbound ORDER BY id").named
                #expect(rows.map { [$0["result"], $0["in_reply_to"]] } == [["reply", "2"], ["reply", "-"], ["reply", "2"], ["reply", "-"]])
                #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "0")
            }
            await links.inbound.connection.close()
        }
    }
}
