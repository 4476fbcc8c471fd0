import Foundation
import HeraldCore
import HeraldDrivers
import HeraldInbound
import HeraldOutbox
import HeraldWorker
import Logging
import Testing

/// The whole loop a client sees: a reply over the listener, the daemon's processing, and
/// Herald's answer delivered through the outbox.
@Suite struct RepliesTests {
    /// Runs a daemon (SMS through `driver`) and a listener on `db` while `body` runs.
    func withDaemon(_ db: TestDatabase, driver: ScriptedDriver, replies: ReplySettings = ReplySettings(),
                    _ body: (TwilioPeer) async throws -> Void) async throws {
        var settings = WorkerSettings(workerID: "w1", concurrency: 2, pollInterval: .milliseconds(200), shutdownGrace: .seconds(5),
                                      defaultLocale: "en", scheduling: .init(quietHours: [:]))
        settings.replies = replies
        let worker = Worker(databaseURL: db.daemonURL, settings: settings, drivers: [.sms: driver],
                            logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        let running = Task { try await worker.run() }
        do {
            try await withListener(db) { _, peer in try await body(peer) }
        } catch {
            worker.requestStop()
            _ = try? await running.value
            throw error
        }
        worker.requestStop()
        try await running.value
    }

    func outbox(_ db: TestDatabase) async throws -> [[String?]] {
        try await db.query("SELECT id, template, status, last_error FROM herald.message ORDER BY id").named
            .map { [$0["id"], $0["template"], $0["status"], $0["last_error"]] }
    }

    func delivered(_ driver: ScriptedDriver, _ template: String) -> [RenderedMessage] {
        driver.received.values.filter { $0.template == template }
    }

    @Test func stopStartHelpAndFreeTextInSpanish() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.location (id, name, time_zone, phone) VALUES ('sol', 'Peluquería Sol', 'Europe/Madrid', '+34 910 000 000')
                """)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, locale, location_id, status, sent_at, send_at) VALUES
                  ('sms', '+34600000001', 't', 'es', 'sol', 'sent', now() - interval '1 hour', now() - interval '1 hour')
                """)
            try await db.query("INSERT INTO herald.message (channel, recipient, template, send_at) VALUES ('sms', '+34600000001', 't', now() + interval '1 day')")
            let driver = ScriptedDriver()
            try await withDaemon(db, driver: driver) { (peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.send(TwilioPeer.sms("SM1", from: "+34600000001", " Baja ")).status == 200)
                #expect(try await db.waitUntil { !delivered(driver, "reply.stopped").isEmpty })
                let stopped = try #require(delivered(driver, "reply.stopped").first)
                #expect(stopped.locale == "es" && stopped.recipient == "+34600000001")
                #expect(stopped.body == "Peluquería Sol: te has dado de baja y no recibirás más SMS nuestros. Para volver a recibirlos, responde ALTA.")
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 2") == "suppressed", "the pending reminder")
                await #expect(throws: (any Error).self) { try await db.query("SELECT herald.retry(2)") }
                try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+34 600 000 001', 't')")
                #expect(try await db.scalar("SELECT status FROM herald.message ORDER BY id DESC LIMIT 1") == "suppressed")

                #expect(try await peer.send(TwilioPeer.sms("SM2", from: "+34600000001", "alta")).status == 200)
                #expect(try await db.waitUntil { !delivered(driver, "reply.started").isEmpty })
                #expect(delivered(driver, "reply.started").first?.body.contains("vuelves a recibir nuestros SMS") == true)
                try await db.query(#"INSERT INTO herald.message (channel, recipient, template, locale, location_id, data) VALUES ('sms', '+34600000001', 't', 'es', 'sol', '{"name":"Ana"}')"#)
                let again = Int64(try #require(try await db.scalar("SELECT max(id) FROM herald.message")))!
                let sentAgain = try await db.waitUntil { driver.deliveries[again] == 1 }
                let state = try await outbox(db)
                #expect(sentAgain, "sent again after ALTA: \(state)")

                #expect(try await peer.send(TwilioPeer.sms("SM3", from: "+34600000001", "AYUDA")).status == 200)
                #expect(try await db.waitUntil { !delivered(driver, "reply.help").isEmpty })
                #expect(delivered(driver, "reply.help").first?.body == "Peluquería Sol: SMS sobre tus citas y pedidos. Ayuda: +34 910 000 000. Para no recibir más, responde BAJA.")

                #expect(try await peer.send(TwilioPeer.sms("SM4", from: "+34600000001", "¿Puedo ir a las cinco?")).status == 200)
                #expect(try await db.waitUntil {
                    try await db.scalar("SELECT result FROM herald.inbound WHERE provider_id = 'SM4'") == "reply"
                })
                let lastSent = try await db.scalar("""
                    SELECT id FROM herald.message WHERE recipient = '+34600000001' AND status IN ('sent', 'delivered') ORDER BY sent_at DESC LIMIT 1
                    """)
                #expect(try await db.scalar("SELECT in_reply_to FROM herald.inbound WHERE provider_id = 'SM4'") == lastSent)
            }
            // The STOP confirmation is the only message sent while the client was opted out, and
            // it carries the exemption; nothing else may.
            #expect(try await db.scalar("SELECT string_agg(template, ',') FROM herald.message WHERE consent_exempt") == "reply.stopped")
            await #expect(throws: (any Error).self) {
                try await db.query("INSERT INTO herald.message (channel, recipient, template, consent_exempt) VALUES ('sms', '+34600000001', 't', true)")
            }
        }
    }

    @Test func answersCanBeSwitchedOffAndEnglishIsTheFallback() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            let driver = ScriptedDriver()
            try await withDaemon(db, driver: driver, replies: ReplySettings(confirmStop: false)) { (peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.send(TwilioPeer.sms("SM1", from: "+447700900001", "STOP")).status == 200)
                #expect(try await peer.send(TwilioPeer.sms("SM2", from: "+447700900002", "info")).status == 200)
                let helped = try await db.waitUntil { !delivered(driver, "reply.help").isEmpty }
                let state = try await outbox(db)
                #expect(helped, "\(state)")
                #expect(delivered(driver, "reply.help").first?.body == "texts about your appointments and orders. Reply STOP to unsubscribe.")
                #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out WHERE recipient = '+447700900001'") == "1")
            }
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE template = 'reply.stopped'") == "0")
        }
    }
}
