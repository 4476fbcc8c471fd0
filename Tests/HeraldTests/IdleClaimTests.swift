import Foundation
import HeraldCore
import HeraldHTTP
import HeraldWorker
import Logging
import Prometheus
import Testing

/// On an idle daemon each message trickling in costs one claim: a finished delivery or a
/// written outcome wakes the claim loop only while it waits for capacity, not for an empty
/// claim after every message (which took the main connection from the next NOTIFY).
@Suite struct IdleClaimTests {
    @Test func aTrickleCostsOneClaimPerMessage() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            let registry = PrometheusCollectorRegistry()
            let metrics = DaemonMetrics(factory: MetricsExporter.makeFactory(registry: registry))
            // A long poll interval: only NOTIFY and the daemon's own wake-ups make it claim.
            let settings = WorkerSettings(workerID: "w1", pollInterval: .seconds(60), exitWhenIdle: false,
                                          scheduling: .init(quietHours: [:]))
            let worker = Worker(databaseURL: db.daemonURL, settings: settings, drivers: [.sms: ScriptedDriver { m, _ in
                DeliveryReceipt(providerMessageID: "p-\(m.id)")
            }], logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }, metrics: metrics)
            let running = Task { try await worker.run() }
            func claims() -> Int {
                let line = registry.emitToString().split(separator: "\n").first { $0.hasPrefix("herald_claim_seconds_count") }
                return line.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? -1
            }
            #expect(try await db.waitUntil { claims() >= 1 })
            try await Task.sleep(for: .milliseconds(300))
            let before = claims()
            let messages = 8
            for i in 1...messages {
                try await db.enqueue(count: 1)
                #expect(try await db.waitUntil { try await db.statusCounts()["sent"] == i })
                try await Task.sleep(for: .milliseconds(150))  // idle again: the outcome is written, the slot free
            }
            let used = claims() - before
            worker.requestStop()
            try await running.value
            // One claim per NOTIFY; before, each message took two (the second found nothing).
            #expect(used >= messages && used <= messages + 2, "\(used) claims for \(messages) messages")
        }
    }
}
