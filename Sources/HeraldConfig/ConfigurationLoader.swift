import Foundation
import HeraldCore
import HeraldPostgres
import HeraldDrivers
import HeraldScheduling
import Logging
import TOMLKit

/// A raw setting, from the TOML file or from the environment.
enum RawValue {
    case toml(any TOMLValueConvertible)
    case env(String)
}

/// Reads the TOML file and the environment into a ``Configuration``, rejecting
/// unknown keys and bad values with a ``ConfigError`` that names them.
public struct ConfigurationLoader {
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads `path`. When `path` is nil the default file is read if it exists,
    /// otherwise built-in defaults plus the environment are used.
    public func load(path: String?) throws -> Configuration {
        let file = path ?? Configuration.defaultPath
        var config = Configuration()
        if path != nil || FileManager.default.fileExists(atPath: file) {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw ConfigError(file: file, key: "", reason: "cannot read the file (missing, unreadable or not UTF-8)")
            }
            try apply(text: text, file: file, to: &config)
            config.source = file
        }
        try applyEnvironment(to: &config)
        try resolveSecrets(&config, file: config.source)
        try validate(config)
        return config
    }

    /// Parses TOML text (for tests and `check-config`).
    public func parse(_ text: String, file: String = "<string>") throws -> Configuration {
        var config = Configuration()
        try apply(text: text, file: file, to: &config)
        config.source = file
        try validate(config)
        return config
    }

    // MARK: File

    func apply(text: String, file: String, to config: inout Configuration) throws {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, key: "", reason: "not valid TOML at line \(error.source.begin.line): \(error.description)")
        }
        for key in table.keys {
            guard let section = table[key]?.table else {
                throw ConfigError(file: file, key: key, reason: "unknown top-level key; expected a [section]")
            }
            switch key {
            case "database", "worker", "retry", "render", "log", "scheduling", "quiet_hours", "retention":
                for name in section.keys {
                    try set(section: key, key: name, .toml(section[name]!), file: file, config: &config)
                }
            case "admin":
                for name in section.keys {
                    try setAdmin(key: name, .toml(section[name]!), file: file, config: &config)
                }
            case "http", "replies":
                for name in section.keys {
                    try setInbound(section: key, key: name, .toml(section[name]!), file: file, config: &config)
                }
            case "channels":
                for name in section.keys {
                    guard let channel = Channel(rawValue: name) else {
                        throw ConfigError(file: file, key: "channels.\(name)", reason: "unknown channel; expected sms, email, webhook or whatsapp")
                    }
                    guard let settings = section[name]?.table else {
                        throw ConfigError(file: file, key: "channels.\(name)", reason: "must be a table with a driver key")
                    }
                    config.channels[channel] = try driver(settings, path: "channels.\(name)", file: file)
                    if channel == .whatsapp, let raw = settings["fallback_after"] {
                        let after = try duration(.toml(raw), "channels.whatsapp.fallback_after", file, positive: true)
                        guard after >= .seconds(60), after <= .seconds(7 * 86_400) else {
                            throw ConfigError(file: file, key: "channels.whatsapp.fallback_after", reason: "must be from 1m to 7d")
                        }
                        config.whatsappFallbackAfter = after
                    }
                }
            default:
                throw ConfigError(file: file, key: key, reason: "unknown section; expected database, worker, retry, scheduling, quiet_hours, render, retention, log, http, replies or channels")
            }
        }
    }

    /// A `[channels.<name>]` section: the registry's driver named by `driver` reads the
    /// rest itself; a key it never read is reported as unknown.
    func driver(_ table: TOMLTable, path: String, file: String) throws -> DriverConfiguration {
        let section = TOMLDriverSection(table: table, path: path, file: file, loader: self)
        guard let nameRaw = table["driver"] else {
            throw ConfigError(file: file, key: "\(path).driver", reason: "missing; expected \(DriverRegistry.names)")
        }
        let name = try string(.toml(nameRaw), "\(path).driver", file)
        section.seen.insert("driver")
        if path == "channels.whatsapp" { section.seen.insert("fallback_after") }  // the channel's own key, read by the loader
        guard let result = try DriverRegistry.configure(name, section: section) else {
            throw ConfigError(file: file, key: "\(path).driver", reason: "unknown driver \"\(name)\"; expected \(DriverRegistry.names)")
        }
        for key in table.keys where !section.seen.contains(key) {
            throw ConfigError(file: file, key: "\(path).\(key)", reason: "unknown key for the \(name) driver")
        }
        return result
    }

    // MARK: Keys

    /// The scalar keys, by section (also the environment variables `HERALD_<SECTION>_<KEY>`).
    static let keys: [String: [String]] = [
        "database": ["url", "url_file", "listen", "statement_timeout"],
        "worker": ["id", "concurrency", "batch_size", "poll_interval", "lease", "shutdown_grace"],
        "retry": ["max_attempts", "base", "cap", "jitter"],
        "render": ["default_locale", "sms_max_segments"],
        "scheduling": ["default_time_zone", "minimum_lead"],
        "quiet_hours": ["sms", "email", "webhook", "whatsapp"],
        "retention": ["keep", "batch", "interval"],
        "log": ["level"],
        "http": ["listen", "public_url", "twilio_auth_token_file", "sendgrid_public_key_file", "mailgun_signing_key_file", "link_key_file", "max_body", "connections", "max_connections",
                 "idle_timeout", "request_timeout", "database_timeout", "metrics_allow", "metrics_token_file", "metrics_refresh"],
        "admin": ["listen", "database_url", "database_url_file", "connections", "max_connections", "idle_timeout", "request_timeout",
                  "database_timeout", "max_body", "public_url", "trusted_proxies", "session_lifetime", "session_idle", "bcrypt_cost",
                  "time_zone"],
        "replies": ["opt_out", "opt_in", "help", "confirm", "decline", "stop_reply", "start_reply", "help_reply"],
    ]

    func set(section: String, key: String, _ raw: RawValue, file: String, config: inout Configuration) throws {
        let path = "\(section).\(key)"
        switch path {
        case "database.url": config.database.url = try string(raw, path, file)
        case "database.url_file":
            config.database.url = try secretFile(try string(raw, path, file), key: path, file: file)
        case "database.listen": config.database.listen = try bool(raw, path, file)
        case "database.statement_timeout":
            if case .toml(let v) = raw, v.string == "off" { config.database.statementTimeout = nil }
            else if case .env("off") = raw { config.database.statementTimeout = nil }
            else {
                // PostgreSQL takes 1 ms to 2^31 - 1 ms: beyond it every session's SET would fail.
                let timeout = try duration(raw, path, file, positive: true)
                guard timeout >= .milliseconds(1), timeout <= .milliseconds(Int64(Int32.max)) else {
                    throw ConfigError(file: file, key: path, reason: "must be from 1ms to 24d20h31m23s647ms (PostgreSQL's limit), or \"off\"")
                }
                config.database.statementTimeout = timeout
            }
        case "worker.id": config.worker.id = try string(raw, path, file)
        case "worker.concurrency": config.worker.concurrency = try int(raw, path, file, 1...10_000)
        case "worker.batch_size": config.worker.batchSize = try int(raw, path, file, 1...10_000)
        case "worker.poll_interval": config.worker.pollInterval = try duration(raw, path, file, positive: true)
        case "worker.lease": config.worker.lease = try duration(raw, path, file, positive: true)
        case "worker.shutdown_grace": config.worker.shutdownGrace = try duration(raw, path, file)
        case "retry.max_attempts": config.retry.maxAttempts = try int(raw, path, file, 1...1000)
        case "retry.base": config.retry.base = try duration(raw, path, file, positive: true)
        case "retry.cap": config.retry.cap = try duration(raw, path, file, positive: true)
        case "retry.jitter": config.retry.jitter = try bool(raw, path, file)
        case "render.default_locale":
            let locale = try string(raw, path, file)
            guard !locale.isEmpty else { throw ConfigError(file: file, key: path, reason: "must not be empty") }
            config.defaultLocale = locale
        case "render.sms_max_segments": config.smsMaxSegments = try int(raw, path, file, 1...50)
        case "retention.keep":
            if case .toml(let v) = raw, v.string == "off" { config.retention.keep = nil }
            else if case .env("off") = raw { config.retention.keep = nil }
            else {
                let keep = try duration(raw, path, file, positive: true)
                guard keep >= .seconds(3600) else { throw ConfigError(file: file, key: path, reason: "must be at least 1h (or \"off\")") }
                config.retention.keep = keep
            }
        case "retention.batch": config.retention.batch = try int(raw, path, file, 10...100_000)
        case "retention.interval": config.retention.interval = try duration(raw, path, file, positive: true)
        case "scheduling.default_time_zone":
            let zone = try string(raw, path, file)
            guard Zone(zone) != nil else {
                throw ConfigError(file: file, key: path, reason: "unknown time zone \"\(zone)\"; expected an IANA name such as Europe/Madrid")
            }
            config.scheduling.defaultTimeZone = zone
        case "scheduling.minimum_lead": config.scheduling.minimumLead = try duration(raw, path, file)
        case "quiet_hours.sms", "quiet_hours.email", "quiet_hours.webhook", "quiet_hours.whatsapp":
            let channel = Channel(rawValue: key)!
            do {
                config.scheduling.quietHours[channel] = try TimeWindow.parse(try string(raw, path, file))
            } catch let error as SchedulingError {
                throw ConfigError(file: file, key: path, reason: "\(error)")
            }
        case "log.level":
            let text = try string(raw, path, file)
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigError(file: file, key: path, reason: "unknown level \"\(text)\"; expected trace, debug, info, notice, warning, error or critical")
            }
            config.logLevel = level
        default:
            throw ConfigError(file: file, key: path, reason: "unknown key; known keys in [\(section)]: \((Self.keys[section] ?? []).joined(separator: ", "))")
        }
    }

    /// Checks that span several keys, once everything is read.
    func validate(_ config: Configuration) throws {
        try validateInbound(config)
        try validateAdmin(config)
        // Without receipts every WhatsApp message would look undelivered and fall back.
        if config.whatsappFallbackAfter != nil, let twilio = config.channels[.whatsapp]?.settings(as: TwilioDriver.Settings.self),
           twilio.statusCallback == nil, !(config.http.enabled && config.http.publicURL != nil) {
            throw ConfigError(file: config.source, key: "channels.whatsapp.fallback_after",
                              reason: "needs Twilio's delivery receipts: set status_callback, or [http] listen and public_url")
        }
        if config.retry.cap < config.retry.base {
            throw ConfigError(file: config.source, key: "retry.cap", reason: "must not be smaller than retry.base")
        }
        if config.worker.lease < .seconds(1) {
            throw ConfigError(file: config.source, key: "worker.lease", reason: "must be at least 1s")
        }
        do {
            try ConnectionString.validate(config.database.url)
        } catch let error as PostgresError {
            throw ConfigError(file: config.source, key: "database.url", reason: "cannot be parsed: \(error.message)")
        }
    }

    // MARK: Environment

    func applyEnvironment(to config: inout Configuration) throws {
        for (section, names) in Self.keys {
            for key in names {
                let variable = "HERALD_\(section.uppercased())_\(key.uppercased())"
                if let value = environment[variable] {
                    if section == "admin" {
                        try setAdmin(key: key, .env(value), file: "environment", config: &config)
                        continue
                    }
                    if section == "http" || section == "replies" {
                        try setInbound(section: section, key: key, .env(value), file: "environment", config: &config)
                        continue
                    }
                    try set(section: section, key: key, .env(value), file: "environment", config: &config)
                }
            }
        }
    }

    /// With no database URL anywhere, use a systemd credential named `database-url` if there is one.
    func resolveSecrets(_ config: inout Configuration, file: String) throws {
        if config.http.twilioAuthToken == nil { config.http.twilioAuthToken = credential("twilio-auth-token") }
        if config.http.sendGridKey == nil, let key = credential("sendgrid-public-key") {
            config.http.sendGridKey = try sendGridKey(key, key: "credential sendgrid-public-key", file: config.source)
        }
        if config.http.mailgunKey == nil, let key = credential("mailgun-signing-key"), !key.isEmpty { config.http.mailgunKey = Array(key.utf8) }
        if config.http.linkKey == nil, let key = credential("link-key") {
            config.http.linkKey = try linkKey(key, key: "credential link-key", file: file)
        }
        guard config.database.url.isEmpty, let url = credential("database-url") else { return }
        config.database.url = url
    }

    /// A systemd credential (`LoadCredential=name:…`) from `$CREDENTIALS_DIRECTORY`, trimmed; nil if absent.
    func credential(_ name: String) -> String? {
        guard let directory = environment["CREDENTIALS_DIRECTORY"],
              let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)) else { return nil }
        return String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The trimmed contents of a secret file named by `key`, or a configuration error naming the key.
    func secretFile(_ path: String, key: String, file: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, key: key, reason: "cannot read \(path)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Value parsing

    func string(_ raw: RawValue, _ key: String, _ file: String) throws -> String {
        switch raw {
        case .env(let s): return s
        case .toml(let v):
            guard let s = v.string else { throw ConfigError(file: file, key: key, reason: "must be a string") }
            return s
        }
    }

    func int(_ raw: RawValue, _ key: String, _ file: String, _ range: ClosedRange<Int>) throws -> Int {
        let value: Int?
        switch raw {
        case .env(let s): value = Int(s)
        case .toml(let v): value = v.int
        }
        guard let value else { throw ConfigError(file: file, key: key, reason: "must be an integer") }
        guard range.contains(value) else {
            throw ConfigError(file: file, key: key, reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    func bool(_ raw: RawValue, _ key: String, _ file: String) throws -> Bool {
        switch raw {
        case .env(let s):
            switch s.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw ConfigError(file: file, key: key, reason: "must be true or false, got \"\(s)\"")
            }
        case .toml(let v):
            guard let b = v.bool else { throw ConfigError(file: file, key: key, reason: "must be true or false") }
            return b
        }
    }

    func duration(_ raw: RawValue, _ key: String, _ file: String, positive: Bool = false) throws -> Duration {
        let parsed: Duration?
        switch raw {
        case .env(let s): parsed = DurationText.parse(s)
        case .toml(let v):
            if let s = v.string { parsed = DurationText.parse(s) }
            else if let i = v.int { parsed = Duration.checked(seconds: Double(i)) }
            else if let d = v.double { parsed = Duration.checked(seconds: d) }
            else { parsed = nil }
        }
        guard let parsed else {
            throw ConfigError(file: file, key: key, reason: "must be a duration from 0 to \(DurationText.format(.heraldMaximum)), such as \"250ms\", \"30s\", \"5m\", \"1h\"")
        }
        if positive && parsed <= .zero { throw ConfigError(file: file, key: key, reason: "must be greater than zero") }
        return parsed
    }
}
