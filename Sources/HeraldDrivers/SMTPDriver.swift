import Foundation
import HeraldCore
import Logging
import HeraldCurl

/// Sends email to an SMTP server through libcurl: STARTTLS, AUTH, MIME.
///
/// Each message is `multipart/alternative` (text, then HTML) when it has both,
/// with `From`, `To` and `Subject` encoded per RFC 2047, `Date`, a Herald
/// `Message-ID` (recorded as the provider id), optional `Reply-To`, and
/// `List-Unsubscribe` + `List-Unsubscribe-Post` (RFC 8058) when an unsubscribe
/// URL is configured. Replies 4xx and network errors are transient; 5xx permanent.
public struct SMTPDriver: Driver {
    /// `[channels.email]` with `driver = "smtp"`.
    public struct Settings: Sendable, Equatable {
        /// `smtp://host:587` or `smtps://host:465`.
        public var url: String
        public var tls: MailTransfer.TLS
        public var username: String?
        /// Read from `password_file` or `$CREDENTIALS_DIRECTORY/smtp-password`; never logged.
        public var password: String?
        /// The `From:` header, e.g. `Peluquería Sol <citas@sol.example>`.
        public var from: String
        /// `MAIL FROM`; default the address of `from`.
        public var envelopeFrom: String?
        /// Each email's own `MAIL FROM` is made from this address (VERP, ``BounceAddressRule``);
        /// excludes `envelopeFrom`.
        public var bounceAddress: String?
        public var replyTo: String?
        /// One-click unsubscribe target (RFC 8058).
        public var unsubscribeURL: String?
        /// Keep the connection open between messages (false: a new one per message).
        public var reuseConnections: Bool
        public var throughput: Throughput

        public init(url: String, tls: MailTransfer.TLS = .required, username: String? = nil, password: String? = nil, from: String,
                    envelopeFrom: String? = nil, replyTo: String? = nil, unsubscribeURL: String? = nil, reuseConnections: Bool = true,
                    throughput: Throughput = Throughput(), bounceAddress: String? = nil) {
            self.url = url
            self.tls = tls
            self.username = username
            self.password = password
            self.from = from
            self.envelopeFrom = envelopeFrom
            self.bounceAddress = bounceAddress
            self.replyTo = replyTo
            self.unsubscribeURL = unsubscribeURL
            self.reuseConnections = reuseConnections
            self.throughput = throughput
        }
    }

    public let name = "smtp"
    let settings: Settings
    let transport: Transport
    /// `from`, `reply_to` and `unsubscribe_url`, as every email's headers use them.
    let sender: EmailFormat.Sender

    /// Fails when `from` is not an address.
    public init(_ settings: Settings) throws {
        self.settings = settings
        _ = try Recipients.mailbox(settings.from).get()
        self.sender = EmailFormat.Sender(from: settings.from, replyTo: settings.replyTo, unsubscribeURL: settings.unsubscribeURL,
                                         bounceAddress: settings.bounceAddress)
        self.transport = Transport(name: "herald-smtp", throughput: settings.throughput, reuse: settings.reuseConnections)
    }

    /// It waits for its sender's slot and a connection: ``Transport`` takes the last look after both.
    public var waitsBeforeSending: Bool { true }

    public func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        let headers: EmailFormat.Headers
        switch EmailFormat.headers(for: message, sender: sender) {
        case .success(let h): headers = h
        case .failure(let e): throw e
        }
        let mail = MailTransfer(url: settings.url, tls: settings.tls, username: settings.username, password: settings.password,
                                envelopeFrom: message.returnPath ?? settings.envelopeFrom ?? headers.from.address, recipients: [headers.to.address],
                                headers: headers.lines, text: message.body, html: message.html)
        do {
            let reply = try await transport.run(sender: SenderLimits.key(channel: "email", sender: message.sender)) { try await $0.send(mail, cancellation: $1) }
            return DeliveryReceipt(providerMessageID: headers.messageID, responseCode: String(reply))
        } catch let error as CurlError {
            throw Self.classify(error)
        }
    }

    /// 4xx replies and no reply at all: transient. 5xx: permanent.
    static func classify(_ error: CurlError) -> DeliveryError {
        switch error.responseCode {
        case 500...599: return .permanent("SMTP server refused: \(error.description)", code: String(error.responseCode))
        case 400...499: return .transient("SMTP server deferred: \(error.description)", code: String(error.responseCode))
        default: return transient(error, what: "SMTP")
        }
    }
}

extension SMTPDriver: ConfigurableDriver {
    public static let kind = "smtp"

    /// `url`, `tls`, `from`, `username`, `password_file` (or the credential `smtp-password`),
    /// `envelope_from` or `bounce_address`, `reply_to`, `unsubscribe_url`, `reuse_connections`, and the shared
    /// throughput keys.
    public static func settings(from section: any DriverSection) throws -> Settings {
        let throughput = try section.throughput()
        guard let tls = MailTransfer.TLS(rawValue: try section.string("tls") ?? "required") else {
            throw section.invalid("tls", "must be required, opportunistic or none")
        }
        let from = try section.required("from", for: kind)
        if case .failure(let e) = Recipients.mailbox(from) { throw section.invalid("from", e.reason) }
        let username = try section.string("username")
        let replyTo = try section.string("reply_to")
        if let replyTo, case .failure(let e) = Recipients.mailbox(replyTo) { throw section.invalid("reply_to", e.reason) }
        let unsubscribe = try section.url("unsubscribe_url", schemes: ["https", "http", "mailto"], optional: true, for: kind)
        if let unsubscribe, unsubscribe.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "<" || $0 == ">" }) {
            throw section.invalid("unsubscribe_url", "must not contain spaces, control characters, < or >")
        }
        let url = try section.url("url", schemes: ["smtp", "smtps"], for: kind) ?? ""
        let password = username == nil ? try section.secret("password_file", credential: "smtp-password")
            : try section.requiredSecret("password_file", credential: "smtp-password", for: kind)
        let envelopeFrom = try section.string("envelope_from")
        let bounceAddress = try section.bounceAddress()
        if envelopeFrom != nil, bounceAddress != nil {
            throw section.invalid("envelope_from", "set envelope_from or bounce_address, not both (bounce_address makes each email's envelope sender)")
        }
        return Settings(url: url, tls: tls, username: username, password: password,
                        from: from, envelopeFrom: envelopeFrom, replyTo: replyTo,
                        unsubscribeURL: unsubscribe,
                        reuseConnections: try section.bool("reuse_connections") ?? true, throughput: throughput,
                        bounceAddress: bounceAddress)
    }

    public static func make(_ settings: Settings, logger: Logger) throws -> SMTPDriver { try SMTPDriver(settings) }
}
