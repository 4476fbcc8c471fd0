import Foundation
import HeraldCore
import HeraldHTTP
import HeraldWorker
import Logging
import Prometheus
import Testing

/// `/metrics` from a daemon that has delivered, answered and refused: every metric the
/// shipped alert rules and dashboard name is there, and the rules pass promtool.
@Suite struct MetricsTests {
    /// Metric names a PromQL text uses (`herald_…`), with histogram suffixes kept.
    static func names(in text: String) -> Set<String> {
        Set(text.matches(of: /herald_[a-z_]+/).map { String($0.output) })
    }

    @Test func everyMetricTheAlertsAndTheDashboardUseIsExported() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            // A CR LF line end: Herald's renderer leaves this one to swift-mustache, counted at load.
            try await db.addTemplate(key: "crlf", body: "Hola {{name}}\r\nSalón Sol")
            try await db.enqueue(count: 3)
            let registry = PrometheusCollectorRegistry()
            let metrics = DaemonMetrics(factory: MetricsExporter.makeFactory(registry: registry))
            let settings = WorkerSettings(workerID: "w1", pollInterval: .milliseconds(200), exitWhenIdle: false,
                                          scheduling: .init(quietHours: [:]))
            let driver = ScriptedDriver { m, _ in
                if m.recipient.hasSuffix("2") { throw DeliveryError.permanent("no such number") }
                return DeliveryReceipt(providerMessageID: "p-\(m.id)")
            }
            let worker = Worker(databaseURL: db.daemonURL, settings: settings, drivers: [.sms: driver],
                                logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }, metrics: metrics)
            let running = Task { try await worker.run() }
            var scrape = ""
            try await withListener(db, registry: registry) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await db.waitUntil { try await db.statusCounts()["pending"] == nil })
                #expect(try await peer.send(TwilioPeer.sms("SM1", from: "+34600000001", "STOP")).status == 200)
                var forged = TwilioPeer.sms("SM2", from: "+34600000001", "STOP")
                forged.sign = "none"
                #expect(try await peer.send(forged).status == 403)
                #expect(try await db.waitUntil { try await db.scalar("SELECT count(*) FROM herald.inbound WHERE processed_at IS NULL") == "0" })
                // The counters move just after the commits the waits above saw: scrape until they have.
                #expect(try await db.waitUntil {
                    scrape = try await peer.get("/metrics").body
                    return scrape.contains(#"herald_inbound_total{result="opt_out"} 1"#)
                        && scrape.contains(#"herald_deliveries_total{channel="sms",outcome="failed"} 1"#)
                }, "\(scrape)")
                // Another template edited: the worker reloads (the next message shows it), and
                // the templates left to swift-mustache, unchanged, are not counted again.
                try await db.query("UPDATE herald.template SET body = 'Hi {{name}}' WHERE key = 't'")
                try await db.query("INSERT INTO herald.message (channel, recipient, template, data) VALUES ('sms', '+34600000091', 't', '{\"name\":\"Eva\"}')")
                #expect(try await db.waitUntil { try await db.scalar("SELECT rendered_body FROM herald.message WHERE recipient = '+34600000091'") == "Hi Eva" })
                let again = try await peer.get("/metrics").body
                #expect(again.contains(#"herald_render_fallback_total{reason="unsupported"} 1"#), "\(again)")
                #expect(again.contains(#"herald_render_fallback_total{reason="unverified"} 1"#), "\(again)")
            }
            worker.requestStop()
            try await running.value

            #expect(scrape.contains(#"herald_deliveries_total{channel="sms",outcome="failed"} 1"#), "\(scrape)")
            #expect(scrape.contains(#"herald_opt_outs_total{channel="sms",source="keyword"} 1"#))
            #expect(scrape.contains(#"herald_inbound_total{result="opt_out"} 1"#))
            #expect(scrape.contains(#"herald_render_fallback_total{reason="unsupported"} 1"#))
            // Neither test template has sample data: both are checked on {} only.
            #expect(scrape.contains(#"herald_render_fallback_total{reason="unverified"} 1"#), "\(scrape)")
            let exported = Self.names(in: scrape)
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let dashboard = try String(contentsOf: root.appendingPathComponent("deploy/grafana/herald-dashboard.json"), encoding: .utf8)
            let alerts = try String(contentsOf: root.appendingPathComponent("deploy/prometheus/herald-alerts.yml"), encoding: .utf8)
            // Only the queries: the dashboard's expressions and the rules' expr lines.
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(dashboard.utf8)) as? [String: Any])
            let queries = (doc["panels"] as? [[String: Any]] ?? []).flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
            let used = Self.names(in: queries.joined(separator: "\n")).union(Self.names(in: alerts.components(separatedBy: "annotations:").map {
                $0.components(separatedBy: "expr:").dropFirst().joined(separator: " ")
            }.joined(separator: "\n")))
            #expect(used.count >= 10, "\(used.sorted())")
            #expect(used.subtracting(exported).isEmpty, "named but not exported: \(used.subtracting(exported).sorted())")
        }
    }

    @Test func alertRulesPassPromtool() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("deploy/prometheus").path
        let out = try await runShell("cd '\(dir)' && promtool check rules herald-alerts.yml 2>&1 && promtool test rules herald-alerts.test.yml 2>&1; echo rc=$?")
        #expect(out.hasSuffix("rc=0"), "\(out)")
        #expect(out.contains("SUCCESS: 6 rules found") && out.contains("SUCCESS"))
    }
}
