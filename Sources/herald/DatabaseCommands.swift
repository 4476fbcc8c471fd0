import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox
import HeraldPostgres

/// Opens a connection for a one-shot command, or exits with the reason.
func openConnection(_ config: Configuration) async throws -> PostgresConnection {
    // The supervisor the daemon and the listener use, with the CLI's policy: one attempt.
    // No statement timeout: a migration may build an index on a large table.
    let supervised = SupervisedConnection(databaseURL: config.database.url, applicationName: "herald-cli", statementTimeout: nil)
    do {
        try await supervised.connect()
    } catch {
        throw fail("cannot connect to the database: \(error)")
    }
    return supervised.connection
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the schema migrations in sql/ (idempotent; safe to run from several shells at once).")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let config = try options.load()
        let connection = try await openConnection(config)
        do {
            let applied = try await Migrator(connection: connection).migrate()
            if applied.isEmpty {
                print("schema is up to date (version \(Migration.latestVersion))")
            } else {
                for m in applied { print("applied \(m.name)") }
                print("schema is at version \(Migration.latestVersion)")
            }
        } catch {
            throw fail("migration failed: \(error)")
        }
    }
}

struct Enqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Insert one message into the outbox (for testing a setup); prints its id.")

    @OptionGroup var options: GlobalOptions
    @Option(help: "sms, email or webhook.") var channel: String
    @Option(help: "E.164 phone number, email address or URL.") var to: String
    @Option(help: "Template key, e.g. appointment.reminder.") var template: String
    @Option(help: "Locale, e.g. es or fr-FR (default: the configured default).") var locale: String?
    @Option(name: .customLong("time-zone"), help: "IANA time zone, e.g. Europe/Madrid.") var timeZone: String?
    @Option(help: "Template variables as a JSON object.") var data: String = "{}"
    @Option(name: .customLong("send-at"), help: "Earliest send time, ISO 8601 (default now).") var sendAt: String?
    @Option(help: "Postponement added to send-at, e.g. 1h.") var postpone: String?
    @Option(name: .customLong("event-at"), help: "Start of the appointment, ISO 8601.") var eventAt: String?
    @Option(name: .customLong("expires-at"), help: "Never send after this, ISO 8601.") var expiresAt: String?
    @Option(name: .customLong("dedupe-key"), help: "Idempotency key; supersedes an older pending message with the same key.") var dedupeKey: String?
    @Option(name: .customLong("max-attempts"), help: "Override the configured maximum attempts.") var maxAttempts: Int?
    @Option(help: "Location id (herald.location) for business hours and its time zone.") var location: String?
    @Flag(name: .customLong("business-hours-only"), help: "Send only while the location is open.") var businessHoursOnly = false
    @Flag(help: "Urgent transactional message: ignores quiet hours.") var urgent = false
    @Option(name: .customLong("min-lead"), help: "Do not send closer than this to --event-at (default: configured minimum_lead).") var minLead: String?

    func run() async throws {
        let config = try options.load()
        func instant(_ text: String?, _ flag: String) throws -> Date? {
            guard let text else { return nil }
            guard let date = parseInstant(text) else { throw fail("--\(flag): not an ISO 8601 instant: \(text)", code: 64) }
            return date
        }
        var delay: Duration?
        if let postpone {
            guard let d = DurationText.parse(postpone) else { throw fail("--postpone: not a duration: \(postpone)", code: 64) }
            delay = d
        }
        var lead: Duration?
        if let minLead {
            guard let d = DurationText.parse(minLead) else { throw fail("--min-lead: not a duration: \(minLead)", code: 64) }
            lead = d
        }
        let message = NewMessage(
            channel: channel, recipient: to, template: template, locale: locale, timeZone: timeZone, data: data,
            sendAt: try instant(sendAt, "send-at"), postpone: delay, eventAt: try instant(eventAt, "event-at"),
            expiresAt: try instant(expiresAt, "expires-at"), dedupeKey: dedupeKey, maxAttempts: maxAttempts,
            locationID: location, businessHoursOnly: businessHoursOnly, urgent: urgent, minimumLead: lead)
        let connection = try await openConnection(config)
        do {
            let id = try await Stores(connection: connection).messages.enqueue(message)
            print(id)
        } catch {
            throw fail("enqueue failed: \(error)")
        }
    }
}

/// Parses `2026-05-10T13:00:00Z`, `2026-05-10T13:00:00+02:00` or with fractional seconds.
func parseInstant(_ text: String) -> Date? {
    let f = ISO8601DateFormatter()
    if let d = f.date(from: text) { return d }
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: text)
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Counts by channel and status, age of the oldest due message, failures in the last hour.")

    @OptionGroup var options: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let config = try options.load()
        let connection = try await openConnection(config)
        let report: StatusReport
        do {
            report = try await Stores(connection: connection).messages.status()
        } catch {
            throw fail("status failed: \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("schema version \(report.schemaVersion)")
        if report.counts.isEmpty { print("outbox is empty") }
        for row in report.counts {
            print("\(row.channel.padding(toLength: 10, withPad: " ", startingAt: 0)) \(row.status.padding(toLength: 12, withPad: " ", startingAt: 0)) \(row.count)")
        }
        if let age = report.oldestDueAgeSeconds {
            print("oldest due message waiting: \(DurationText.format(Duration.clamped(seconds: age.rounded())))")
        } else {
            print("no message is due")
        }
        print("failed in the last hour: \(report.failedLastHour)")
        for (channel, count) in report.optedOut.sorted(by: { $0.key < $1.key }) {
            print("opted out of \(channel): \(count)")
        }
        if report.inboundWaiting > 0 { print("client replies waiting to be processed: \(report.inboundWaiting)") }
        if report.eventsWaiting > 0 { print("events waiting to be expanded: \(report.eventsWaiting)") }
        if report.eventsFailedLastHour > 0 { print("events failed in the last hour: \(report.eventsFailedLastHour) (herald explain --event ID)") }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration (and with --connect, reach the database and check the schema).")

    @OptionGroup var options: GlobalOptions
    @Flag(help: "Also connect to the database and check the schema version.") var connect = false

    func run() async throws {
        let config = try options.load()
        print("configuration OK (\(config.source))")
        print("database: \(config.database.url.isEmpty ? "libpq defaults (PG* variables)" : redact(config.database.url))")
        print("worker: concurrency \(config.worker.concurrency), batch \(config.worker.batchSize), lease \(DurationText.format(config.worker.lease)), poll \(DurationText.format(config.worker.pollInterval)), grace \(DurationText.format(config.worker.shutdownGrace))")
        print("retry: max \(config.retry.maxAttempts) attempts, backoff \(DurationText.format(config.retry.base))..\(DurationText.format(config.retry.cap))\(config.retry.jitter ? " with equal jitter (each delay ½ to 1 of its step)" : "")")
        print("scheduling: default time zone \(config.scheduling.defaultTimeZone), minimum lead \(DurationText.format(config.scheduling.minimumLead))")
        for channel in Channel.allCases {
            let quiet = config.scheduling.quietHours[channel].map { "quiet hours \($0)" } ?? "no quiet hours"
            print("channel \(channel.rawValue): \(config.channels[channel].map(\.name) ?? "no driver (messages wait)"); \(quiet)")
        }
        if let host = config.http.host, let url = config.http.publicURL {
            print("http: listening on \(host):\(config.http.port) as \(url); Twilio auth token \(config.http.twilioAuthToken == nil ? "missing (Twilio requests get 403)" : "set"); unsubscribe link key \(config.http.linkKey == nil ? "kept in herald.secret" : "configured")")
        } else {
            print("http: off (no [http] listen)")
        }
        if connect {
            let connection = try await openConnection(config)
            do {
                try await Migrator(connection: connection).verifyCurrent()
                print("database reachable; schema version \(Migration.latestVersion)")
            } catch {
                throw fail("\(error)")
            }
        }
    }
}

/// Hides a password in a URL or conninfo string.
func redact(_ url: String) -> String {
    var text = url
    if let regex = try? NSRegularExpression(pattern: "(://[^:/@]*:)[^@]*@") {
        text = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1***@")
    }
    if let regex = try? NSRegularExpression(pattern: "(password\\s*=\\s*)\\S+") {
        text = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1***")
    }
    return text
}
