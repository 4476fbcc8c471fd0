import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPipeline
import HeraldRender

extension Templates {
    /// `herald templates preview`: a template over data, or a stored message, through the
    /// daemon's own pipeline (``loadPipeline(_:store:rows:now:)``).
    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a template, or a stored message, exactly as the daemon would send it.",
            discussion: """
                With --message ID: prints what the daemon would hand its driver for that message at --at \
                (default now), whatever the hour: for email the whole message with the headers the SMTP \
                driver sends (List-Unsubscribe included) and its text and HTML parts, for SMS and webhook \
                the JSON document; the same bytes the file driver writes for it at that instant (for a sent \
                email, give --at its Date header). A pending message is shown as its next attempt, any \
                other as its last.
                With a template key: renders it over --data (default its sample data) for a booking \
                (answer links and reply text included when the listener is on), and prints it with its \
                SMS segment count.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Template key, e.g. appointment.reminder (or --message).") var key: String?
        @Option(help: "A stored message (herald.message id): print what the daemon would send for it.") var message: Int64?
        @Option(help: "sms, email or webhook (with a template key).") var channel: String?
        @Option(help: "Locale, e.g. es or fr-CA (falls back like a message: fr-CA, fr, the default).") var locale: String?
        @Option(name: .customLong("time-zone"), help: "The recipient's IANA time zone (default: the location's, else [scheduling] default_time_zone).") var timeZone: String?
        @Option(help: "Location id (herald.location): its name, address and zone.") var location: String?
        @Option(help: "Template variables as a JSON object, or @FILE (default: the template's sample data).") var data: String?
        @Option(help: "Render as of this instant, ISO 8601 (relative phrases; default now).") var at: String?
        @Flag(help: "Use the built-in templates instead of the database's.") var builtin = false
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let config = try options.load()
            var now = Date()
            if let at {
                guard let parsed = parseInstant(at) else { throw fail("--at: not an ISO 8601 instant: \(at)", code: 64) }
                now = parsed
            }
            if let message {
                guard key == nil, channel == nil, locale == nil, timeZone == nil, location == nil, data == nil, !builtin, !json else {
                    throw fail("--message takes only --at: the message's row says the rest", code: 64)
                }
                return try await previewMessage(message, config: config, now: now)
            }
            guard let key else { throw fail("give a template key, or --message ID", code: 64) }
            guard let channel = channel.flatMap(Channel.init(rawValue:)) else { throw fail("--channel: expected sms, email, webhook or whatsapp", code: 64) }
            // The database's templates, or the built-in ones (with its locations for --location).
            let connection = !builtin || location != nil ? try await openConnection(config) : nil
            let store = connection.map { Stores(connection: $0) }
            let pipeline: Pipeline
            do {
                var rows: PipelineRows?
                if builtin {
                    rows = PipelineRows(templates: BuiltinTemplates.records, partials: BuiltinTemplates.partials,
                                        locations: try await store?.catalog.locations() ?? [])
                }
                pipeline = try await loadPipeline(config, store: store, rows: rows, now: now)
            } catch {
                await connection?.close()
                throw error
            }
            await connection?.close()
            let template: CompiledTemplate
            switch pipeline.catalog.lookup(key: key, channel: channel.rawValue, locale: locale) {
            case .success(let t): template = t
            case .failure(let error): throw fail("\(error)")
            }
            var message = OutboxMessage(id: 0, channel: channel.rawValue, recipient: "preview", template: key, locale: locale,
                                        timeZone: timeZone, data: try dataText(default: template.record.sampleData), attempt: 1, maxAttempts: nil,
                                        schedule: .init(sendAt: now, locationID: location))
            // A message planned for a booking: what the client of an appointment reads.
            message.subject = .init(type: "appointment", id: "preview")
            let rendered: RenderedMessage
            let zone: String
            switch pipeline.render(message, at: now) {
            case .success(let (r, z)): (rendered, zone) = (r, z)
            case .failure(let failure):
                if json {
                    // Still JSON: the error, and what was rendered when rendering got that far.
                    var out = failure.rendered.map { Self.fields($0, channel: channel, version: template.record.version, zone: timeZone ?? "") } ?? [:]
                    out["error"] = failure.reason
                    print(try Self.jsonText(out))
                    throw ExitCode(1)
                }
                if let partial = failure.rendered { print(partial.body) }
                throw fail(failure.reason)
            }
            if json {
                print(try Self.jsonText(Self.fields(rendered, channel: channel, version: template.record.version, zone: zone)))
                return
            }
            let segments = channel == .sms ? SMSSegments(rendered.body) : nil
            print("template: \(rendered.template) (\(channel.rawValue), \(rendered.locale), version \(template.record.version)); times in \(zone)")
            if let segments { print("segments: \(segments)") }
            if let subject = rendered.subject { print("subject: \(subject)") }
            if let link = rendered.unsubscribeURL { print("list-unsubscribe: \(link)") }
            print("--- \(channel == .email ? "text" : "body") ---")
            print(rendered.body)
            if let html = rendered.html {
                print("--- html ---")
                print(html)
            }
        }

        /// `--message`: the driver's document for the stored message, byte for byte.
        private func previewMessage(_ id: Int64, config: Configuration, now: Date) async throws {
            let connection = try await openConnection(config)
            let store = Stores(connection: connection)
            let found: (message: OutboxMessage, status: MessageStatus)?
            do { found = try await store.messages.message(id: id) } catch { throw fail("cannot read message \(id): \(error)") }
            guard let found else { throw fail("no message \(id)") }
            var message = found.message
            if found.status == .pending { message.attempt += 1 } else { message.attempt = max(message.attempt, 1) }
            let pipeline: Pipeline
            do { pipeline = try await loadPipeline(config, store: store, now: now) } catch {
                await connection.close()
                throw error
            }
            await connection.close()
            let rendered: RenderedMessage
            switch pipeline.render(message, at: now) {
            case .success(let (r, _)): rendered = r
            case .failure(let failure): throw fail("message \(id) would fail: \(failure.reason)")
            }
            switch FileDriver.document(for: rendered, sender: config.channels[.email]?.emailSender ?? EmailFormat.Sender(from: FileDriver.Settings().from)) {
            case .success(let document): FileHandle.standardOutput.write(document.data)
            case .failure(let error): throw fail("message \(id) would fail: \(error.reason)")
            }
        }

        /// `--data` (JSON, or @FILE), else the template's sample data, else `{}`.
        private func dataText(default sample: String?) throws -> String {
            guard let data else { return sample ?? "{}" }
            guard data.hasPrefix("@") else { return data }
            guard let contents = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                throw fail("--data: cannot read \(data.dropFirst())", code: 66)
            }
            return String(decoding: contents, as: UTF8.self)
        }

        /// What `--json` prints of a rendering.
        static func fields(_ rendered: RenderedMessage, channel: Channel, version: Int, zone: String) -> [String: Any] {
            var out: [String: Any] = ["template": rendered.template, "channel": channel.rawValue, "locale": rendered.locale,
                                      "version": version, "body": rendered.body]
            if !zone.isEmpty { out["time_zone"] = zone }
            if let subject = rendered.subject { out["subject"] = subject }
            if let html = rendered.html { out["html"] = html }
            if let link = rendered.unsubscribeURL { out["list_unsubscribe"] = link }
            if channel == .sms {
                let segments = SMSSegments(rendered.body)
                out["segments"] = segments.count
                out["encoding"] = segments.encoding.rawValue
                out["units"] = segments.units
            }
            return out
        }

        static func jsonText(_ object: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
                   as: UTF8.self)
        }
    }
}
