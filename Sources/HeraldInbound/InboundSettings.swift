import Crypto
import Foundation

/// `[replies]`: what Herald reads in a client's reply and whether it answers.
public struct ReplySettings: Sendable, Equatable {
    /// The keyword lists (`opt_out`, `opt_in`, `help`).
    public var keywords: ReplyKeywords
    /// Queue `reply.stopped` after an opt-out keyword (`stop_reply`).
    public var confirmStop: Bool
    /// Queue `reply.started` after an opt-in keyword (`start_reply`).
    public var confirmStart: Bool
    /// Queue `reply.help` after a help keyword (`help_reply`).
    public var answerHelp: Bool

    public init(keywords: ReplyKeywords = .standard, confirmStop: Bool = true, confirmStart: Bool = true, answerHelp: Bool = true) {
        self.keywords = keywords
        self.confirmStop = confirmStop
        self.confirmStart = confirmStart
        self.answerHelp = answerHelp
    }

    /// The built-in template Herald answers a meaning with, when that answer is switched on.
    public func replyTemplate(for meaning: ReplyKeywords.Meaning) -> String? {
        switch meaning {
        case .optOut: return confirmStop ? "reply.stopped" : nil
        case .optIn: return confirmStart ? "reply.started" : nil
        case .help: return answerHelp ? "reply.help" : nil
        case .text: return nil
        }
    }
}

/// `[http]`: the listener's address, the URL providers see, and its secrets.
public struct ListenerSettings: Sendable {
    /// Host (or IP) and port to bind; port 0 picks a free one (tests).
    public var host: String
    public var port: Int
    /// The URL providers and clients reach Herald at (scheme, host, optional path prefix;
    /// no trailing slash): Twilio signs requests over it.
    public var publicURL: String
    /// Twilio's auth token (from `twilio_auth_token_file` or the credential
    /// `twilio-auth-token`); nil rejects every Twilio request with 403.
    public var twilioAuthToken: String?
    /// Largest request body accepted (413 above).
    public var maxBodyBytes: Int
    /// Most connections open at once (`max_connections`); more wait in the kernel's backlog.
    public var maxConnections = 256
    /// A connection with nothing to read for this long is closed (`idle_timeout`).
    public var idleTimeout: Duration = .seconds(5)
    /// A request must be read and answered within this long of its connection opening or of
    /// the previous response, or the connection is closed (`request_timeout`): a client
    /// trickling its headers or body a byte at a time is not idle, and is cut off here.
    public var requestTimeout: Duration = .seconds(10)
    /// Longest wait for the database in one request; past it, 503 (`database_timeout`).
    public var databaseTimeout: Duration = .seconds(3)
    /// Who may read `/metrics` without a token (`metrics_allow`; loopback by default).
    public var metricsAllow: AddressList = .loopback
    /// A bearer token that also opens `/metrics` (`metrics_token_file`).
    public var metricsToken: String?
    /// The outbox's gauges are read from the database at most this often (`metrics_refresh`).
    public var metricsRefresh: Duration = .seconds(5)
    /// SendGrid's Event Webhook verification key (`sendgrid_public_key_file`); nil refuses its requests with 403.
    public var sendGridKey: SendGridEvents.Key?
    /// Mailgun's webhook signing key (`mailgun_signing_key_file`); nil refuses its requests with 403.
    public var mailgunKey: [UInt8]?
    /// `/healthz` reads the database at most this often (not configurable; tests set zero).
    public var healthRefresh: Duration = .seconds(1)

    public init(host: String, port: Int, publicURL: String, twilioAuthToken: String?, maxBodyBytes: Int = 64 * 1024) {
        self.host = host
        self.port = port
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.twilioAuthToken = twilioAuthToken
        self.maxBodyBytes = maxBodyBytes
    }

    /// The paths the listener serves.
    public enum Path {
        public static let twilioInbound = "/webhooks/twilio/inbound"
        public static let twilioStatus = "/webhooks/twilio/status"
        public static let sendGridEvents = "/webhooks/sendgrid/events"
        public static let mailgunEvents = "/webhooks/mailgun/events"
        public static let unsubscribe = "/unsubscribe"
        public static let health = "/healthz"
        public static let metrics = "/metrics"
    }
}
