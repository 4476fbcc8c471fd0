import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldScheduling
@testable import HeraldWorker
import Logging
import Testing

/// Builds a worker for tests: short intervals, no jitter unless asked.
func makeWorker(_ db: TestDatabase, drivers: [Channel: any Driver], id: String = "w1", concurrency: Int = 4,
                batch: Int = 10, lease: Duration = .seconds(30), poll: Duration = .milliseconds(200),
                backoff: Backoff = Backoff(base: .milliseconds(50), cap: .seconds(1), jitter: false),
                maxAttempts: Int = 5, exitWhenIdle: Bool = true, listen: Bool = true,
                scheduling: SchedulingPolicy = SchedulingPolicy(quietHours: [:]), clock: (@Sendable () -> Date)? = nil) -> Worker {
    Worker(databaseURL: db.daemonURL,
           settings: WorkerSettings(workerID: id, concurrency: concurrency, batchSize: batch, pollInterval: poll,
                                    lease: lease, shutdownGrace: .seconds(5), listen: listen, maxAttempts: maxAttempts,
                                    backoff: backoff, defaultLocale: "en", exitWhenIdle: exitWhenIdle,
                                    scheduling: scheduling, clock: clock),
           drivers: drivers, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
}

/// Runs a worker until it exits by itself (exitWhenIdle) or `timeout` passes.
func drain(_ worker: Worker, timeout: Duration = .seconds(60)) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask { try await worker.run(); return true }
        group.addTask { try await Task.sleep(for: timeout); return false }
        let finished = try await group.next()!
        group.cancelAll()
        worker.requestStop()
        if !finished { throw TestSetupError("worker did not drain within \(timeout)") }
    }
}

@Suite struct WorkerTests {
    @Test func enqueuedEmailIsSentWithAnAttemptRowAndAFile() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(key: "appointment.confirmed", channel: "email", locale: "fr",
                                     subject: "Rendez-vous confirmé : {{service}}", body: "Bonjour {{name}}", html: "<b>{{name}}</b>")
            let conn = try await db.connect()
            let id = try await Stores(connection: conn).messages.enqueue(NewMessage(
                channel: "email", recipient: "zoe@example.fr", template: "appointment.confirmed", locale: "fr-FR",
                data: #"{"name":"Zoé & Co","service":"Coupe"}"#))
            let out = try temporaryDirectory()
            try await drain(makeWorker(db, drivers: [.email: FileDriver(directory: out)]))

            let row = try await db.query("SELECT status, attempts, provider_message_id, rendered_subject, rendered_body, rendered_html, rendered_locale, sent_at IS NOT NULL FROM herald.message WHERE id = $1::bigint", [id]).rows[0]
            #expect(row[0] == "sent" && row[1] == "1" && row[7] == "t")
            #expect(row[3] == "Rendez-vous confirmé : Coupe" && row[4] == "Bonjour Zoé & Co" && row[5] == "<b>Zoé &amp; Co</b>" && row[6] == "fr")
            let messageID = try #require(row[2])
            let attempts = try await db.query("SELECT number, outcome, driver, worker, error FROM herald.attempt WHERE message_id = $1::bigint", [id]).rows
            #expect(attempts == [["1", "sent", "file", "w1", nil]])
            let eml = try String(contentsOf: out.appendingPathComponent("email/\(id)-1.eml"), encoding: .utf8)
            #expect(eml.contains("Message-ID: \(messageID)\r\n"))
            #expect(eml.contains("To: zoe@example.fr\r\n"))
            await conn.close()
        }
    }

    @Test func transientFailuresAreRetriedWithGrowingDelaysThenSent() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            let driver = ScriptedDriver { m, n in
                if n <= 3 { throw DeliveryError.transient("provider busy (\(n))", code: "503") }
                return DeliveryReceipt(providerMessageID: "ok-\(m.id)", responseCode: "201")
            }
            let backoff = Backoff(base: .milliseconds(150), cap: .seconds(30), jitter: false)
            try await drain(makeWorker(db, drivers: [.sms: driver], backoff: backoff))

            let row = try await db.query("SELECT status, attempts, provider_message_id, last_error FROM herald.message").rows[0]
            #expect(row == ["sent", "4", "ok-1", nil])
            let attempts = try await db.query("SELECT number, outcome, error, response_code FROM herald.attempt ORDER BY number").rows
            #expect(attempts.map { $0[1] } == ["retry", "retry", "retry", "sent"])
            #expect(attempts[0][2] == "provider busy (1)" && attempts[0][3] == "503" && attempts[3][3] == "201")
            let times = driver.times(of: 1)
            #expect(times.count == 4)
            let gaps = zip(times.dropFirst(), times).map { ($0 - $1).seconds }
            // Delays are 150, 300, 600 ms: each gap is at least its delay (a constant delay fails),
            // and far from the 30 s cap (a worker waiting the cap fails; the slack absorbs a
            // loaded machine, seen stalling a retry by 2 s). RetryPolicyTests pin the values.
            for (gap, delay) in zip(gaps, [0.15, 0.3, 0.6]) {
                #expect(gap >= delay * 0.95 && gap < delay + 10, "gaps \(gaps)")
            }
        }
    }

    @Test func aProvidersRetryAfterIsHonoured() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            let driver = ScriptedDriver { m, n in
                if n == 1 { throw DeliveryError.transient("slow down", code: "429", retryAfter: .seconds(2)) }
                return DeliveryReceipt(providerMessageID: "ok-\(m.id)")
            }
            try await drain(makeWorker(db, drivers: [.sms: driver]))  // backoff alone would wait 50 ms
            let times = driver.times(of: 1)
            #expect(times.count == 2)
            #expect(times.count == 2 && (times[1] - times[0]) >= .milliseconds(1950), "retried after \(times.count == 2 ? "\(times[1] - times[0])" : "-")")
            #expect(try await db.scalar("SELECT status FROM herald.message") == "sent")
        }
    }

    @Test func outcomesThatFinishTogetherAreRecordedTogether() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 16)
            // Every delivery waits until all 16 are in the driver, then all finish at once; the
            // first write takes 300 ms (a trigger), so the others all arrive while it runs.
            try await db.execute("""
                CREATE TABLE public.t_once (x int); INSERT INTO public.t_once VALUES (1);
                CREATE FUNCTION public.t_slow_first() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
                BEGIN
                    IF EXISTS (SELECT 1 FROM public.t_once) THEN DELETE FROM public.t_once; PERFORM pg_sleep(0.3); END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER t_slow_first AFTER INSERT ON herald.attempt FOR EACH STATEMENT EXECUTE FUNCTION public.t_slow_first();
                """)
            let gate = Gate(count: 16)
            let driver = ScriptedDriver { m, _ in
                await gate.arriveAndWait()
                return DeliveryReceipt(providerMessageID: "p-\(m.id)")
            }
            try await drain(makeWorker(db, drivers: [.sms: driver], concurrency: 16, batch: 16))
            #expect(try await db.statusCounts() == ["sent": 16])
            // Rows written by one statement share its transaction's now(): fewer distinct
            // timestamps than messages means several outcomes went in one statement.
            let statements = Int(try await db.scalar("SELECT count(DISTINCT updated_at) FROM herald.message") ?? "") ?? 0
            // The first outcome starts a write; the others, finishing while it runs, go together.
            #expect(statements <= 3, "\(statements) statements for 16 outcomes")
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt WHERE outcome = 'sent'") == "16")
        }
    }

    @Test func permanentFailureFailsAtOnce() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            let driver = ScriptedDriver { _, _ in throw DeliveryError.permanent("21211: invalid 'To' phone number", code: "400") }
            try await drain(makeWorker(db, drivers: [.sms: driver]))
            let row = try await db.query("SELECT status, attempts, last_error FROM herald.message").rows[0]
            #expect(row == ["failed", "1", "21211: invalid 'To' phone number"])
            #expect(driver.deliveries == [1: 1])
        }
    }

    @Test func exhaustedAttemptsFailWithTheLastReason() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1, maxAttempts: 3)  // per-message override of the configured 5
            let driver = ScriptedDriver { _, _ in throw DeliveryError.transient("connection refused") }
            try await drain(makeWorker(db, drivers: [.sms: driver], maxAttempts: 5))
            let row = try await db.query("SELECT status, attempts, last_error FROM herald.message").rows[0]
            #expect(row == ["failed", "3", "gave up after 3 attempts: connection refused"])
            #expect(try await db.query("SELECT outcome FROM herald.attempt ORDER BY number").rows.map { $0[0] } == ["retry", "retry", "failed"])
        }
    }

    @Test func otherErrorsFromADriverAreTransient() async throws {
        struct Weird: Error {}
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            let driver = ScriptedDriver { m, n in
                if n == 1 { throw Weird() }
                return DeliveryReceipt(providerMessageID: "x\(m.id)")
            }
            try await drain(makeWorker(db, drivers: [.sms: driver]))
            #expect(try await db.query("SELECT outcome FROM herald.attempt ORDER BY number").rows.map { $0[0] } == ["retry", "sent"])
        }
    }

    @Test func expiredLeaseOfADeadWorkerIsTakenOver() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            // A worker claims the message and dies: it never completes and never renews.
            let dead = Stores(connection: try await db.connect(), workerID: "dead-worker")
            #expect(try await dead.messages.claim(channels: ["sms"], limit: 1, lease: .seconds(1)).count == 1)
            let driver = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: driver], id: "survivor", lease: .seconds(2)))
            #expect(driver.deliveries == [1: 1])
            let attempts = try await db.query("SELECT number, worker, outcome FROM herald.attempt ORDER BY id").rows
            #expect(attempts == [["1", "dead-worker", "lease_expired"], ["2", "survivor", "sent"]])
            #expect(try await db.scalar("SELECT status FROM herald.message") == "sent")
        }
    }

    @Test func leasesAreRenewedDuringSlowDeliveries() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 1)
            // More than three leases long; a renewal every second (a third of the lease), so a
            // loaded machine must stall the slow worker for about 2 s to lose it.
            let slow = ScriptedDriver { m, _ in
                try await Task.sleep(for: .seconds(10))
                return DeliveryReceipt(providerMessageID: "slow-\(m.id)")
            }
            let a = makeWorker(db, drivers: [.sms: slow], id: "slow", lease: .seconds(3))
            let taskA = Task { try await drain(a) }
            #expect(try await db.waitUntil { try await db.scalar("SELECT status FROM herald.message") == "sending" })
            // A second worker, recovering expired leases while it drains, must not take the message over.
            let fast = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: fast], id: "watcher", lease: .seconds(3)))
            try await taskA.value
            #expect(slow.deliveries == [1: 1])
            #expect(fast.deliveries.isEmpty)
            #expect(try await db.query("SELECT outcome, worker FROM herald.attempt").rows == [["sent", "slow"]])
        }
    }

    @Test func twoWorkersDeliverTwoThousandMessagesExactlyOnce() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 2000)
            let driver = ScriptedDriver()
            async let a: Void = drain(makeWorker(db, drivers: [.sms: driver], id: "a", concurrency: 8, batch: 25))
            async let b: Void = drain(makeWorker(db, drivers: [.sms: driver], id: "b", concurrency: 8, batch: 25))
            _ = try await (a, b)
            let counts = driver.deliveries
            #expect(counts.count == 2000)
            #expect(counts.values.allSatisfy { $0 == 1 })
            #expect(try await db.statusCounts() == ["sent": 2000])
            let perWorker = try await db.query("SELECT worker, count(*) FROM herald.attempt GROUP BY worker ORDER BY worker").rows
            #expect(perWorker.map { $0[0] } == ["a", "b"], "both workers took part: \(perWorker)")
            #expect(try await db.scalar("SELECT count(*) FROM herald.attempt") == "2000")
        }
    }

    @Test func badRowsFailWithAClearReasonWhileGoodRowsFlow() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(body: "Hello {{name}}, see you {{when}}")
            try await db.enqueue(count: 10, data: #"{"name":"Ana","when":"Tuesday"}"#)
            try await db.query("""
                INSERT INTO herald.message (channel, recipient, template, data) VALUES
                  ('sms', '+1', 'no.such.template', '{"name":"x"}'),
                  ('sms', '+2', 't', '[1, 2]'),
                  ('sms', '+3', 't', '"name=Ana"'),
                  ('fax', '+4', 't', '{"name":"x","when":"y"}'),
                  ('sms', '+5', 't', '{"name":"Ana"}')
                """)
            let driver = ScriptedDriver()
            try await drain(makeWorker(db, drivers: [.sms: driver]))
            #expect(try await db.statusCounts() == ["sent": 10, "failed": 5])
            let errors = try await db.query("SELECT recipient, last_error FROM herald.message WHERE status = 'failed' ORDER BY recipient").rows
            #expect(errors.map { $0[1] ?? "" } == [
                "no template no.such.template for channel sms in locales en",
                "data must be a JSON object of template variables, got a JSON array",
                "data must be a JSON object of template variables, got a JSON string",
                "unknown channel \"fax\"; expected sms, email, webhook or whatsapp",
                "template t (en) body uses when, missing from data",
            ])
            #expect(driver.deliveries.count == 10)
        }
    }

    @Test func aChannelWithoutADriverIsNotClaimed() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 3, channel: "sms")
            try await db.enqueue(count: 2, channel: "email")
            try await drain(makeWorker(db, drivers: [.sms: ScriptedDriver()]))
            let rows = try await db.query("SELECT channel, status, attempts FROM herald.message WHERE channel = 'email'").rows
            #expect(rows == [["email", "pending", "0"], ["email", "pending", "0"]])
        }
    }

    @Test func notifyWakesAnIdleWorkerAndTemplateEditsApply() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(body: "v1 {{name}}")
            let worker = makeWorker(db, drivers: [.sms: FileDriver(directory: try temporaryDirectory())], poll: .seconds(60), exitWhenIdle: false)
            let task = Task { try await worker.run() }
            defer { worker.requestStop() }
            // Idle: listening, and its claim connection done with its first look at the outbox.
            #expect(try await db.waitUntil { try await db.isIdle() }, "the worker never went idle")
            try await db.enqueue(count: 1)
            #expect(try await db.waitUntil(timeout: .seconds(10)) { try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "sent" })
            // The template's NOTIFY is delivered before the message's: the worker reloads first.
            try await db.query("UPDATE herald.template SET body = 'v2 {{name}}'")
            try await db.enqueue(count: 1)
            #expect(try await db.waitUntil(timeout: .seconds(10)) { try await db.scalar("SELECT status FROM herald.message WHERE id = 2") == "sent" })
            #expect(try await db.query("SELECT rendered_body FROM herald.message ORDER BY id").rows == [["v1 Ana"], ["v2 Ana"]])
            worker.requestStop()
            try await task.value
        }
    }

    @Test func killedConnectionsAreReestablished() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            let worker = makeWorker(db, drivers: [.sms: ScriptedDriver()], poll: .milliseconds(300), exitWhenIdle: false)
            let task = Task { try await worker.run() }
            try await db.enqueue(count: 5)
            #expect(try await db.waitUntil { try await db.statusCounts() == ["sent": 5] })
            try await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [db.name])
            try await Task.sleep(for: .milliseconds(300))
            try await db.enqueue(count: 5)
            #expect(try await db.waitUntil { try await db.statusCounts() == ["sent": 10] })
            worker.requestStop()
            try await task.value
        }
    }
}

/// Releases everyone once `count` tasks have arrived.
actor Gate {
    private let count: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { self.count = count }

    func arriveAndWait() async {
        await withCheckedContinuation { continuation in
            waiting.append(continuation)
            if waiting.count == count {
                for c in waiting { c.resume() }
                waiting.removeAll()
            }
        }
    }
}
