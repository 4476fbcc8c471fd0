import Foundation
import HeraldCore
import HeraldInbound
import TOMLKit

/// `[http]` and `[replies]`: the listener and what Herald does with client replies.
extension ConfigurationLoader {
    func setInbound(section: String, key: String, _ raw: RawValue, file: String, config: inout Configuration) throws {
        let path = "\(section).\(key)"
        switch path {
        case "http.listen":
            let (host, port) = try hostPort(try string(raw, path, file), path, file)
            config.http.host = host
            config.http.port = port
        case "http.public_url":
            config.http.publicURL = try publicURL(try string(raw, path, file), path, file)
        case "http.twilio_auth_token_file":
            let token = try secretFile(try string(raw, path, file), key: path, file: file)
            guard !token.isEmpty else { throw ConfigError(file: file, key: path, reason: "the file is empty") }
            config.http.twilioAuthToken = token
        case "http.sendgrid_public_key_file":
            config.http.sendGridKey = try sendGridKey(try secretFile(try string(raw, path, file), key: path, file: file), key: path, file: file)
        case "http.mailgun_signing_key_file":
            let key = try secretFile(try string(raw, path, file), key: path, file: file)
            guard key.utf8.count >= 8 else { throw ConfigError(file: file, key: path, reason: "the key must be at least 8 characters") }
            config.http.mailgunKey = Array(key.utf8)
        case "http.link_key_file":
            config.http.linkKey = try linkKey(try secretFile(try string(raw, path, file), key: path, file: file), key: path, file: file)
        case "http.max_body": config.http.maxBodyBytes = try int(raw, path, file, 1024...10_485_760)
        case "http.connections": config.http.connections = try int(raw, path, file, 1...64)
        case "http.max_connections": config.http.maxConnections = try int(raw, path, file, 1...100_000)
        case "http.idle_timeout": config.http.idleTimeout = try limit(raw, path, file, .seconds(1)...(.seconds(3600)))
        case "http.request_timeout": config.http.requestTimeout = try limit(raw, path, file, .seconds(1)...(.seconds(600)))
        case "http.database_timeout": config.http.databaseTimeout = try limit(raw, path, file, .milliseconds(100)...(.seconds(60)))
        case "http.metrics_refresh": config.http.metricsRefresh = try limit(raw, path, file, .zero...(.seconds(3600)))
        case "http.metrics_allow":
            do {
                config.http.metricsAllow = try AddressList(parsing: try words(raw, path, file, longest: 64, what: "address or network"))
            } catch let error as AddressListError {
                throw ConfigError(file: file, key: path, reason: "\"\(error.entry)\" \(error.reason)")
            }
        case "http.metrics_token_file":
            let token = try secretFile(try string(raw, path, file), key: path, file: file)
            guard token.utf8.count >= 16 else { throw ConfigError(file: file, key: path, reason: "the token must be at least 16 characters") }
            config.http.metricsToken = token
        case "replies.opt_out": config.replies.keywords.optOut = Set(try words(raw, path, file).map(ReplyKeywords.fold))
        case "replies.opt_in": config.replies.keywords.optIn = Set(try words(raw, path, file).map(ReplyKeywords.fold))
        case "replies.help": config.replies.keywords.help = Set(try words(raw, path, file).map(ReplyKeywords.fold))
        case "replies.confirm": config.replies.keywords.confirm = Set(try words(raw, path, file).map(ReplyKeywords.fold))
        case "replies.decline": config.replies.keywords.decline = Set(try words(raw, path, file).map(ReplyKeywords.fold))
        case "replies.stop_reply": config.replies.confirmStop = try bool(raw, path, file)
        case "replies.start_reply": config.replies.confirmStart = try bool(raw, path, file)
        case "replies.help_reply": config.replies.answerHelp = try bool(raw, path, file)
        default:
            let known = Self.keys[section]?.joined(separator: ", ") ?? ""
            throw ConfigError(file: file, key: path, reason: "unknown key; expected one of \(known)")
        }
    }

    /// Checks across `[http]` and `[replies]` keys, once everything is read.
    func validateInbound(_ config: Configuration) throws {
        if config.http.enabled && config.http.publicURL == nil {
            throw ConfigError(file: config.source, key: "http.public_url",
                              reason: "required with http.listen: the URL Twilio and clients use to reach Herald (signatures are computed over it)")
        }
        if config.http.idleTimeout >= config.http.requestTimeout {
            throw ConfigError(file: config.source, key: "http.idle_timeout",
                              reason: "must be shorter than http.request_timeout (\(DurationText.format(config.http.requestTimeout))): an idle connection is closed by the idle timeout, a slow request by the request timeout")
        }
        let k = config.replies.keywords
        // An answer word may also be an opt-in word (YES): it answers when a reminder awaits
        // an answer and opts in otherwise. It may never be an opt-out word (CANCEL is STOP
        // to carriers), a help word, or both answers.
        for (a, b, name) in [(k.optOut, k.optIn, "replies.opt_in"), (k.optOut, k.help, "replies.help"), (k.optIn, k.help, "replies.help"),
                             (k.optOut, k.confirm, "replies.confirm"), (k.optOut, k.decline, "replies.decline"),
                             (k.help, k.confirm, "replies.confirm"), (k.help, k.decline, "replies.decline"),
                             (k.confirm, k.decline, "replies.decline")] {
            if let shared = a.intersection(b).sorted().first {
                throw ConfigError(file: config.source, key: name, reason: "\"\(shared)\" is in two keyword lists; a word can mean only one thing")
            }
        }
    }

    /// A duration within `range`; the error names the key and the range.
    func limit(_ raw: RawValue, _ key: String, _ file: String, _ range: ClosedRange<Duration>) throws -> Duration {
        let value = try duration(raw, key, file)
        guard range.contains(value) else {
            throw ConfigError(file: file, key: key, reason: "must be between \(DurationText.format(range.lowerBound)) and \(DurationText.format(range.upperBound)), got \(DurationText.format(value))")
        }
        return value
    }

    /// A key for HMAC signing: at least 32 bytes of text.
    func sendGridKey(_ text: String, key: String, file: String) throws -> SendGridEvents.Key {
        guard let parsed = SendGridEvents.Key(text) else {
            throw ConfigError(file: file, key: key, reason: "not a P-256 public key (the verification key SendGrid shows, base64, or PEM)")
        }
        return parsed
    }

    func linkKey(_ text: String, key: String, file: String) throws -> [UInt8] {
        guard text.utf8.count >= 32 else {
            throw ConfigError(file: file, key: key, reason: "must hold at least 32 characters (e.g. the output of: openssl rand -hex 32)")
        }
        return Array(text.utf8)
    }

    /// `host:port`, `[v6]:port`, or `:port` (all addresses); port 0–65535.
    func hostPort(_ text: String, _ key: String, _ file: String) throws -> (String, Int) {
        let bad = ConfigError(file: file, key: key, reason: "must be host:port, such as \"127.0.0.1:8088\" or \"[::1]:8088\", got \"\(text)\"")
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { throw bad }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw bad }
        return (host, port)
    }

    /// An absolute http(s) URL without query or fragment; a trailing slash is dropped.
    func publicURL(_ text: String, _ key: String, _ file: String) throws -> String {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["https", "http"].contains(scheme),
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil else {
            throw ConfigError(file: file, key: key, reason: "must be an http(s) URL without query, such as \"https://herald.example.com\", got \"\(text)\"")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// A list of words: a TOML array of strings, or comma-separated in the environment.
    func words(_ raw: RawValue, _ key: String, _ file: String, longest: Int = 32, what: String = "word") throws -> [String] {
        let list: [String]
        switch raw {
        case .env(let s):
            list = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        case .toml(let v):
            guard let array = v.array else { throw ConfigError(file: file, key: key, reason: "must be a list of words, such as [\"STOP\", \"BAJA\"]") }
            list = try array.map { element in
                guard let word = element.string else { throw ConfigError(file: file, key: key, reason: "must be a list of words (strings)") }
                return word
            }
        }
        guard !list.isEmpty, list.allSatisfy({ !$0.isEmpty && $0.count <= longest }) else {
            throw ConfigError(file: file, key: key, reason: "must list at least one \(what), each 1 to \(longest) characters")
        }
        return list
    }
}
