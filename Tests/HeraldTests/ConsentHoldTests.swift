import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPostgres
@testable import HeraldWorker
import Synchronization
import Testing

/// Issue 28: nothing reaches a number after its opt-out has committed, whatever the
/// message was doing then: claimed and waiting for a delivery slot, returned at shutdown,
/// or inserted while the opt-out was being committed.
@Suite struct ConsentHoldTests {
    /// Five messages to one number, one slot, a provider that takes its time: the client
    /// opts out while the first is with the provider. The four others were claimed with it
    /// (the claim saw no opt-out) and are stopped just before their driver call.
    @Test func anOptOutWhileMessagesAreClaimedStopsThemBeforeTheirDriver() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data)
                SELECT 'sms', '+34 600 111 222', 't', '{"name":"Ana"}' FROM generate_series(1, 5)
                """)
            let released = Mutex(false)
            let driver = ScriptedDriver { m, _ in
                if m.id == 1 {
                    while !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
                }
                return DeliveryReceipt(providerMessageID: "p-\(m.id)")
            }
            let worker = makeWorker(db, drivers: [.sms: driver], concurrency: 1, batch: 10)
            let running = Task { try await drain(worker) }
            #expect(try await db.waitUntil { driver.deliveries[1] == 1 })
            #expect(try await db.statusCounts() == ["sending": 5], "all five were claimed before the opt-out")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600111222', 'STOP by phone')")
            released.withLock { $0 = true }
            try await running.value
            #expect(driver.deliveries == [1: 1], "only the message whose driver call had begun went out")
            let rows = try await db.query("SELECT id, status, attempts, last_error FROM herald.message ORDER BY id").rows
            #expect(rows[0][1] == "sent")
            for row in rows.dropFirst() {
                #expect(row[1] == "suppressed" && row[2] == "0", "\(row)")
                #expect(row[3] == "recipient opted out of sms: STOP by phone", "\(row)")
            }
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "1", "a suppression is not an attempt")
        }
    }

    /// A provider allows one SMS every four seconds (the number ends in 1: the peer answers at
    /// once): claimed messages wait in the driver's rate limit. An opt-out that arrives while
    /// they wait stops them there, after the wait. (Four seconds leave the test room to record
    /// the opt-out before the next slot on a loaded machine.)
    @Test func anOptOutWhileMessagesWaitForTheRateLimitStopsThem() async throws {
        let provider = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data)
                SELECT 'sms', '+34600111551', 't', '{"name":"Ana"}' FROM generate_series(1, 4)
                """)
            let driver = TwilioDriver(.init(baseURL: "http://127.0.0.1:\(provider.port)", accountSID: "ACtest", authToken: "tok-secret",
                                            from: "+34911000000", throughput: Throughput(maxConcurrent: 4, limits: SenderLimits(perSender: Pace(perSecond: 0.25)))))
            let worker = makeWorker(db, drivers: [.sms: driver], concurrency: 4, batch: 10)
            let running = Task { try await drain(worker) }
            #expect(try await db.waitUntil { provider.requests().count == 1 })
            #expect(try await db.statusCounts()["sending", default: 0] >= 3, "the others wait in the rate limit, claimed")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600111551', 'STOP')")
            try await running.value
            #expect(provider.requests().count == 1, "\(provider.requests().count) requests reached the provider")
            #expect(try await db.statusCounts() == ["sent": 1, "suppressed": 3])
        }
    }

    /// STOP, then SIGTERM: the claims never started go back to pending uncounted, looking
    /// like new messages. After a restart they are suppressed at claim, not sent.
    @Test func messagesReturnedAtShutdownAreNotSentAfterTheRestart() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data)
                SELECT 'sms', '+34600111333', 't', '{"name":"Ana"}' FROM generate_series(1, 5)
                """)
            let out = try temporaryDirectory()
            let config = try writeConfig("""
                [database]
                url = "\(db.daemonURL)"
                [worker]
                concurrency = 1
                batch_size = 10
                poll_interval = "200ms"
                shutdown_grace = "10s"
                [quiet_hours]
                sms = "off"
                [channels.sms]
                driver = "file"
                directory = "\(out.path)"
                delay = "2s"
                """)
            let herald = try HeraldProcess(["run", "--config", config])
            #expect(try await db.waitUntil { try await db.statusCounts() == ["sending": 5] })
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600111333', 'STOP')")
            herald.signal(SIGTERM)
            #expect(await herald.wait(timeout: .seconds(20)) == 0, "stderr: \(herald.stderr)")
            let afterStop = try await db.statusCounts()
            #expect(afterStop["sending"] == nil, "\(afterStop)")

            let (status, _, stderr) = try await HeraldProcess.run(["run", "--config", config, "--exit-when-idle"])
            #expect(status == 0, "stderr: \(stderr)")
            let sent = try await db.query("SELECT id FROM herald.message WHERE status = 'sent'").rows
            #expect(sent.count <= 1, "at most the one in flight at the opt-out: \(sent)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.message WHERE status = 'suppressed'") == String(5 - sent.count))
            let files = (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("sms").path)) ?? []
            #expect(files.count == sent.count, "files: \(files)")
        }
    }

    /// A message inserted while an opt-out is being committed cannot see it, and the
    /// opt-out's trigger cannot see the message: the claim suppresses it.
    @Test func aMessageInsertedWhileAnOptOutCommitsIsSuppressedAtClaim() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            let optingOut = try await db.connect()
            try await optingOut.execute("BEGIN; INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600111444', 'STOP')")
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34600111444', 't', '{\"name\":\"Ana\"}')")
            try await optingOut.execute("COMMIT")
            await optingOut.close()
            #expect(try await db.scalar("SELECT status FROM herald.message") == "pending", "neither side saw the other")
            let conn = try await db.connect()
            let claimed = try await MessageStore(connection: conn, workerID: "w").claim(channels: ["sms"], limit: 10, lease: .seconds(30))
            await conn.close()
            #expect(claimed.isEmpty)
            #expect(try await db.query("SELECT status, attempts, last_error FROM herald.message").rows == [["suppressed", "0", "recipient opted out of sms: STOP"]])
        }
    }

    /// The look before the driver: one statement for many claims; it suppresses the
    /// blocked ones (opt-out, contact's preference), leaves the clear ones, and reports the
    /// ones no longer ours.
    @Test func theLastLookSuppressesBlockedClaimsAndSpotsLostOnes() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.addTemplate(channel: "email")
            try await db.execute("""
                INSERT INTO herald.contact (id, email, preference) VALUES ('c1', 'c1@example.es', 'both');
                INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+34600000001', 't'), ('sms', '+34600000002', 't'),
                    ('email', 'c1@example.es', 't'), ('sms', '+34600000003', 't');
                UPDATE herald.message SET contact_id = 'c1' WHERE id = 3;
                """)
            let conn = try await db.connect()
            let store = Stores(connection: conn, workerID: "w")
            let claimed = try await store.messages.claim(channels: ["sms", "email"], limit: 10, lease: .seconds(30))
            #expect(claimed.count == 4)
            try await db.execute("""
                INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+34600000005', 't');
                INSERT INTO herald.opt_out (channel, recipient) VALUES ('sms', '0034 600 000 002');
                UPDATE herald.contact SET preference = 'sms' WHERE id = 'c1';
                UPDATE herald.message SET locked_by = 'someone else' WHERE id = 4;
                """)
            // A lease run out by the database's clock is not ours any more (a peer may recover it).
            let late = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(30))
            #expect(late.count == 1)
            try await db.query("UPDATE herald.message SET locked_until = now() - interval '1 second' WHERE id = $1::bigint", [late[0].id])
            #expect(try await store.messages.clearForSending([late[0].claimKey]) == [late[0].claimKey: .lost])
            let keys = claimed.map(\.claimKey).sorted { $0.id < $1.id }
            let found = try await store.messages.clearForSending(keys)
            #expect(found[keys[0]] == .clear)
            #expect(found[keys[1]] == .blocked("recipient opted out of sms: host"))
            #expect(found[keys[2]] == .blocked("contact c1 prefers sms, not email"))
            #expect(found[keys[3]] == .lost)
            #expect(try await db.query("SELECT status FROM herald.message ORDER BY id").rows.map { $0[0] ?? "" }
                    == ["sending", "suppressed", "suppressed", "sending", "pending"], "the lapsed one is given back")
            #expect(try await db.scalar("SELECT attempts FROM herald.message WHERE id = $1::bigint", [late[0].id]) == "0", "uncounted")
            // The STOP confirmation is the one message an opt-out lets through.
            try await db.query("SELECT herald.queue_reply('sms', '+34600000002', 'reply.stopped', NULL, NULL, NULL, '{}', NULL)")
            let reply = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(30)).filter { $0.template == "reply.stopped" }
            #expect(reply.count == 1)
            #expect(try await store.messages.clearForSending(reply.map(\.claimKey)).values.first == .clear)
            await conn.close()
        }
    }

    /// The daemon's login may move a message through its lifecycle, and nothing else.
    @Test func theDaemonsLoginCannotRewriteWhereOrWhatAMessageSends() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            let conn = PostgresConnection(connectionString: db.daemonURL)
            try await conn.connect()
            for column in ["recipient = '+34699999999'", "data = '{\"name\":\"Eve\"}'", "template = 'x'", "channel = 'email'",
                           "send_at = now()", "consent_exempt = true", "recipient_key = 'x'", "contact_id = 'c'"] {
                var state: String?
                do {
                    try await conn.execute("UPDATE herald.message SET \(column) WHERE id = 1")
                } catch let error as PostgresError {
                    state = error.sqlState
                }
                #expect(state == "42501", "UPDATE … SET \(column) as the daemon")
            }
            try await conn.execute("UPDATE herald.message SET status = 'failed', last_error = 'x', updated_at = now() WHERE id = 1")
            // Its answers to keywords carry Herald's data only: no text of its own in the SMS.
            try await conn.query("""
                SELECT herald.queue_reply('sms', '+34600000077', 'reply.help', 'es', NULL, NULL,
                                          '{"keyword":"HELP<script> and more text than a keyword","inbound_id":5,"location":{"name":"Win a prize at evil.example"},"client":{"name":"Call 0800 now"}}',
                                          'k1')
                """)
            await conn.close()
            #expect(try await db.scalar("SELECT recipient FROM herald.message WHERE id = 1") == "+34600000001")
            #expect(try await db.scalar("SELECT data::text FROM herald.message WHERE template = 'reply.help'")
                    == #"{"keyword": "HELPscript and more text than a ", "location": {}, "inbound_id": 5}"#)
        }
    }
}
