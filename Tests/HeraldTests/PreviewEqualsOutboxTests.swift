import Foundation
import HeraldConfig
import HeraldCore
import HeraldDrivers
import HeraldRender
import HeraldWorker
import Logging
import Testing

/// Issue 23: `herald templates preview` prints what the daemon sends, built the one way
/// (``Configuration/pipelineSettings(linkKey:)`` and `Pipeline.load`) by both.
@Suite struct PreviewEqualsOutboxTests {
    /// Every built-in, in each language and channel, with the listener on (answer links,
    /// "reply 1/2" text, List-Unsubscribe): the daemon's file driver writes a file, and
    /// `preview --message ID --at T` prints the same bytes; `preview KEY --data` shows the
    /// same SMS text.
    @Test func previewPrintsTheBytesTheOutboxReceives() async throws {
        try await TestDatabase.with { db in
            let dir = try temporaryDirectory()
            let keyFile = dir.appendingPathComponent("link.key")
            try String(repeating: "k3y", count: 12).write(to: keyFile, atomically: true, encoding: .utf8)
            let tokenFile = dir.appendingPathComponent("twilio.token")
            try "twilio-token".write(to: tokenFile, atomically: true, encoding: .utf8)
            let from = "Peluquería Sol <citas@sol.example>"
            let text = """
                [database]
                url = "\(db.url)"
                [scheduling]
                default_time_zone = "Europe/Madrid"
                [quiet_hours]
                sms = "off"
                email = "off"
                webhook = "off"
                [render]
                sms_max_segments = 4
                [http]
                listen = "127.0.0.1:0"
                public_url = "https://herald.sol.example"
                link_key_file = "\(keyFile.path)"
                twilio_auth_token_file = "\(tokenFile.path)"
                [channels.email]
                driver = "file"
                directory = "\(dir.path)/out"
                from = "\(from)"
                """
            let path = try writeConfig(text)
            let config = try ConfigurationLoader(environment: [:]).parse(text, file: path)
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            let at = Date(timeIntervalSince1970: 1_778_569_200)  // 2026-05-12T07:00Z: the samples' appointments are hours away
            let atText = ISO8601DateFormatter().string(from: at)
            let zones = ["es": "Europe/Madrid", "fr": "Europe/Paris", "en": "America/Toronto"]
            var ids: [(id: Int64, key: String, channel: String, locale: String)] = []
            for key in BuiltinTemplates.keys {
                for locale in ["es", "fr", "en"] {
                    for channel in ["sms", "email", "webhook"] {
                        let id = try await db.scalar("""
                            INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, subject_type, subject_id)
                            SELECT $1, CASE $1 WHEN 'email' THEN 'ana@example.es' ELSE '+34600000001' END, key, $2, $3, sample_data,
                                   to_timestamp($5::float8) - interval '1 minute', 'appointment', 'preview'
                              FROM herald.template WHERE key = $4 AND channel = $1 AND locale = $2
                            RETURNING id
                            """, [channel, locale, zones[locale], key, at.timeIntervalSince1970])
                        ids.append((Int64(id ?? "0") ?? 0, key, channel, locale))
                    }
                }
            }
            var settings = WorkerSettings(workerID: "w", exitWhenIdle: true, clock: { at })
            settings.pipeline = config.pipelineSettings(linkKey: config.http.linkKey)
            let out = dir.appendingPathComponent("out")
            let file = FileDriver(directory: out, from: from)
            try await drain(Worker(databaseURL: db.daemonURL, settings: settings, drivers: [.sms: file, .email: file, .webhook: file],
                                   logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }))
            #expect(try await db.statusCounts() == ["sent": ids.count])

            let mismatches = try await forEach(ids) { c -> String? in
                let (status, printed, err) = try await HeraldProcess.run(["templates", "preview", "--message", String(c.id), "--at", atText, "--config", path])
                let name = "\(c.channel)/\(c.id)-1.\(c.channel == "email" ? "eml" : "json")"
                let written = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
                return status == 0 && printed == written ? nil : "\(c.key) \(c.channel) \(c.locale): \(err)\n--- preview\n\(printed)\n--- outbox\n\(written)"
            }
            #expect(mismatches.isEmpty, "\(mismatches.first ?? "")")
            // What the client reads carries Herald's links and the reply text.
            let email = try String(contentsOf: out.appendingPathComponent("email/\(ids.first { $0.channel == "email" }?.id ?? 0)-1.eml"), encoding: .utf8)
            #expect(email.contains("List-Unsubscribe: <https://herald.sol.example/unsubscribe/"))
            #expect(email.contains("@sol.example>\r\n") && email.contains("From: =?UTF-8?B?"))

            // From data, the same path: the SMS text equals the one sent (Spanish, every key).
            let fromData = try await forEach(ids.filter { $0.channel == "sms" && $0.locale == "es" }) { c -> String? in
                let (status, printed, err) = try await HeraldProcess.run([
                    "templates", "preview", c.key, "--channel", "sms", "--locale", "es", "--time-zone", "Europe/Madrid",
                    "--at", atText, "--json", "--config", path])
                let preview = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any]
                let sent = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("sms/\(c.id)-1.json"))) as? [String: Any]
                let same = status == 0 && (preview?["body"] as? String) == (sent?["body"] as? String)
                return same ? nil : "\(c.key): \(err) \(preview?["body"] ?? "-") vs \(sent?["body"] ?? "-")"
            }
            #expect(fromData.isEmpty, "\(fromData.first ?? "")")
            let reminder = try await HeraldProcess.run(["templates", "preview", "appointment.reminder", "--channel", "sms", "--locale", "es",
                                                        "--at", atText, "--config", path])
            #expect(reminder.1.contains("1") && reminder.1.lowercased().contains("responde"), "\(reminder.1)")
        }
    }

    /// Runs `body` over `items`, six at a time; returns what it returned that is not nil.
    func forEach<T: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) async throws -> String?) async throws -> [String] {
        try await withThrowingTaskGroup(of: String?.self) { group in
            var pending = items[...]
            var found: [String] = []
            for _ in 0..<6 { if let item = pending.popFirst() { group.addTask { try await body(item) } } }
            while let result = try await group.next() {
                if let item = pending.popFirst() { group.addTask { try await body(item) } }
                if let result { found.append(result) }
            }
            return found
        }
    }
}
