import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox
import HeraldRender
import HeraldPipeline
import HeraldScheduling

/// `herald templates ...`: install, check and preview the messages clients read.
struct Templates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install, list, check and preview message templates.",
        subcommands: [InstallDefaults.self, List.self, Lint.self, Preview.self])

    struct InstallDefaults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-defaults",
            abstract: "Write the built-in templates (es, fr, en; SMS, email, webhook) and partials into the database.",
            discussion: "Rows that already exist are kept as the business edited them; --replace overwrites them with the built-in text.")

        @OptionGroup var options: GlobalOptions
        @Flag(help: "Overwrite existing templates and partials with the built-in text.") var replace = false

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            let store = OutboxStore(connection: connection, workerID: "templates")
            let templates = BuiltinTemplates.records
            let partials = BuiltinTemplates.partials
            let descriptions = Dictionary(uniqueKeysWithValues: (BuiltinTemplates.keys + BuiltinTemplates.replyKeys).map { ($0, BuiltinTemplates.description(key: $0)) })
            do {
                let report = try await store.installTemplates(templates, partials: partials, descriptions: descriptions, replace: replace)
                print("built-in templates: \(templates.count) templates and \(partials.count) partials in \(BuiltinTemplates.locales.joined(separator: ", ")); "
                      + "\(report.written) written, \(report.kept) kept as edited")
            } catch {
                throw fail("install-defaults failed: \(error)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored templates with their version.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            do {
                for t in try await OutboxStore(connection: connection, workerID: "templates").templateSummaries() {
                    print("\(t.key.padding(toLength: 26, withPad: " ", startingAt: 0)) \(t.channel.padding(toLength: 8, withPad: " ", startingAt: 0)) "
                          + "\(t.locale.padding(toLength: 6, withPad: " ", startingAt: 0)) v\(t.version)  \(t.updated)  \(t.description)")
                }
            } catch {
                throw fail("list failed: \(error)")
            }
        }
    }

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every stored template: it compiles, uses only known partials, renders its sample data within the SMS limit.",
            discussion: "Prints one line per problem and exits 1 if there is any.")

        @OptionGroup var options: GlobalOptions
        @Flag(help: "Check the built-in templates instead of the database's.") var builtin = false

        func run() async throws {
            let config = try options.load()
            let (records, partials) = try await loadTemplates(config, builtin: builtin)
            let context = RenderContext(timeZone: config.scheduling.defaultTimeZone, now: Date(), smsMaxSegments: config.smsMaxSegments)
            let lint = TemplateLint(records: records, partials: partials, defaultLocale: config.defaultLocale, context: context)
            var problems = lint.run()
            if !builtin {
                let needs = try await loadRuleNeeds(config)
                problems += lint.checkRules(needs.rules, locales: Array(Set(needs.locales + [config.defaultLocale])).sorted())
            }
            for problem in problems { print(problem) }
            if problems.isEmpty {
                print("\(records.count) templates and \(partials.count) partials: no problems")
            } else {
                FileHandle.standardError.write(Data("herald: \(problems.count) problem\(problems.count == 1 ? "" : "s") in \(records.count) templates\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a template as a message would be rendered, and print it with its SMS segment count.",
            discussion: "Uses the worker's own rendering: the same locale fallback, time zone resolution and strict variable check.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Template key, e.g. appointment.reminder.") var key: String
        @Option(help: "sms, email or webhook.") var channel: String
        @Option(help: "Locale, e.g. es or fr-CA (falls back like a message: fr-CA, fr, the default).") var locale: String?
        @Option(name: .customLong("time-zone"), help: "The recipient's IANA time zone (default: the location's, else [scheduling] default_time_zone).") var timeZone: String?
        @Option(help: "Location id (herald.location): its name, address and zone.") var location: String?
        @Option(help: "Template variables as a JSON object, or @FILE (default: the template's sample data).") var data: String?
        @Option(help: "Render as of this instant, ISO 8601 (relative phrases; default now).") var at: String?
        @Flag(help: "Use the built-in templates instead of the database's.") var builtin = false
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let config = try options.load()
            guard let channel = Channel(rawValue: channel) else { throw fail("--channel: expected sms, email or webhook", code: 64) }
            var now = Date()
            if let at {
                guard let parsed = parseInstant(at) else { throw fail("--at: not an ISO 8601 instant: \(at)", code: 64) }
                now = parsed
            }
            let (records, partials) = try await loadTemplates(config, builtin: builtin)
            var locations: [OutboxStore.LocationRecord] = []
            if location != nil && !builtin {
                let connection = try await openConnection(config)
                do { locations = try await OutboxStore(connection: connection, workerID: "templates").locations() } catch {
                    throw fail("cannot read locations: \(error)")
                }
            }
            let catalog = TemplateCatalog(records: records, partials: partials, defaultLocale: config.defaultLocale)
            let template: CompiledTemplate
            switch catalog.lookup(key: key, channel: channel.rawValue, locale: locale) {
            case .success(let t): template = t
            case .failure(let error): throw fail("\(error)")
            }
            var dataText = template.record.sampleData ?? "{}"
            if let data {
                if data.hasPrefix("@") {
                    guard let contents = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                        throw fail("--data: cannot read \(data.dropFirst())", code: 66)
                    }
                    dataText = String(decoding: contents, as: UTF8.self)
                } else {
                    dataText = data
                }
            }
            let message = OutboxMessage(id: 0, channel: channel.rawValue, recipient: "preview", template: key, locale: locale,
                                        timeZone: timeZone, data: dataText, attempt: 1, maxAttempts: nil,
                                        schedule: .init(sendAt: now, locationID: location))
            let pipeline = Pipeline(catalog: catalog, planner: SchedulePlanner(policy: config.scheduling, records: locations),
                                    smsMaxSegments: config.smsMaxSegments)
            let rendered: RenderedMessage
            let zone: String
            // The worker's own rendering step, in the zone its rules resolve, whatever the hour.
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
            print("--- \(channel == .email ? "text" : "body") ---")
            print(rendered.body)
            if let html = rendered.html {
                print("--- html ---")
                print(html)
            }
        }

        /// What `--json` prints of a rendering.
        static func fields(_ rendered: RenderedMessage, channel: Channel, version: Int, zone: String) -> [String: Any] {
            var out: [String: Any] = ["template": rendered.template, "channel": channel.rawValue, "locale": rendered.locale,
                                      "version": version, "body": rendered.body]
            if !zone.isEmpty { out["time_zone"] = zone }
            if let subject = rendered.subject { out["subject"] = subject }
            if let html = rendered.html { out["html"] = html }
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

/// The stored templates and partials, or the built-in ones.
private func loadTemplates(_ config: Configuration, builtin: Bool) async throws -> ([TemplateRecord], [PartialRecord]) {
    if builtin { return (BuiltinTemplates.records, BuiltinTemplates.partials) }
    let connection = try await openConnection(config)
    let store = OutboxStore(connection: connection, workerID: "templates")
    do {
        return (try await store.templates(), try await store.partials())
    } catch {
        throw fail("cannot read templates: \(error)")
    }
}

/// What the enabled rules need from the templates (`herald templates lint`).
private func loadRuleNeeds(_ config: Configuration) async throws -> (rules: [(name: String, template: String, channels: [String])], locales: [String]) {
    let connection = try await openConnection(config)
    do {
        let needs = try await OutboxStore(connection: connection, workerID: "templates").ruleNeeds()
        await connection.close()
        return needs
    } catch {
        await connection.close()
        throw fail("cannot read rules: \(error)")
    }
}
