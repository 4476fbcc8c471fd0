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
        public static let unsubscribe = "/unsubscribe"
        public static let health = "/healthz"
        public static let metrics = "/metrics"
    }
}
