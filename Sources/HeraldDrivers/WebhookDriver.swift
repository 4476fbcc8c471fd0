import Crypto
import Foundation
import HeraldCore
import Logging
import HeraldCurl

/// POSTs a message's rendered JSON document to a URL, signed so the receiver
/// can check it came from Herald and reject replays.
///
/// Headers:
/// - `Herald-Message-Id`: the message id;
/// - `Herald-Timestamp`: Unix seconds when the request was signed;
/// - `Herald-Signature`: `v1=` + hex HMAC-SHA256, keyed with the shared secret,
///   of `"{timestamp}.{body}"`.
///
/// A receiver recomputes the HMAC over the raw body, compares in constant time,
/// and refuses timestamps older than a few minutes. 2xx is success; 408, 429 and
/// 5xx are transient (honouring `Retry-After`); other 4xx permanent.
public struct WebhookDriver: Driver {
    /// `[channels.webhook]` with `driver = "webhook"`.
    public struct Settings: Sendable, Equatable {
        /// Where to POST; nil: the message's recipient (which must be an http(s) URL).
        public var url: String?
        /// Read from `secret_file` or `$CREDENTIALS_DIRECTORY/webhook-secret`; never logged.
        public var secret: String
        public var throughput: Throughput
        /// Let a message's own URL (no `url` configured) reach loopback, private and
        /// link-local addresses. Off by default: the URL came from outside. A configured
        /// `url` is trusted as written.
        public var allowPrivateAddresses: Bool

        public init(url: String? = nil, secret: String, throughput: Throughput = Throughput(), allowPrivateAddresses: Bool = false) {
            self.url = url
            self.secret = secret
            self.throughput = throughput
            self.allowPrivateAddresses = allowPrivateAddresses
        }
    }

    public let name = "webhook"
    let settings: Settings
    let transport: Transport

    public init(_ settings: Settings) {
        self.settings = settings
        self.transport = Transport(name: "herald-webhook", throughput: settings.throughput)
    }

    /// `v1=` + hex HMAC-SHA256 of `"{timestamp}.{body}"`.
    public static func signature(secret: String, timestamp: Int, body: Data) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "v1=" + Array(mac).hexString
    }

    /// It waits for its sender's slot and a connection: ``Transport`` takes the last look after both.
    public var waitsBeforeSending: Bool { true }

    public func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        let url = settings.url ?? message.recipient
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw DeliveryError.permanent("webhook URL \"\(url)\" is not an http(s) URL")
        }
        let body = Data(message.body.utf8)
        let timestamp = Int(Int64(clampingFloor: Date().timeIntervalSince1970))
        let request = HTTPRequest(url: url, headers: [
            "Content-Type: application/json; charset=utf-8",
            "User-Agent: Herald",
            "Herald-Message-Id: \(message.id)",
            "Herald-Timestamp: \(timestamp)",
            "Herald-Signature: \(Self.signature(secret: settings.secret, timestamp: timestamp, body: body))",
        ], body: body, allowInternalAddresses: settings.url != nil || settings.allowPrivateAddresses)
        let response: HTTPResponse
        do {
            response = try await transport.run(sender: SenderLimits.key(channel: "webhook", sender: message.sender)) { try await $0.post(request, cancellation: $1) }
        } catch let error as CurlError {
            if let address = error.refusedAddress {
                throw DeliveryError.permanent("webhook URL \"\(url)\" resolves to \(address), a loopback, private or link-local address; refused "
                    + "(set [channels.webhook] allow_private_addresses = true to allow it)", code: "refused-address")
            }
            throw transient(error, what: "webhook")
        }
        let status = response.status
        if (200...299).contains(status) {
            return DeliveryReceipt(providerMessageID: response.header("Herald-Receipt") ?? "\(status)", responseCode: String(status))
        }
        let excerpt = String(decoding: response.body.prefix(200), as: UTF8.self)
        let reason = "webhook answered \(status)" + (excerpt.isEmpty ? "" : ": \(excerpt)")
        throw httpFailure(response, reason: reason)
    }
}

extension WebhookDriver: ConfigurableDriver {
    public static let kind = "webhook"

    /// `url`, `secret_file` (or the credential `webhook-secret`), `allow_private_addresses`,
    /// and the shared throughput keys.
    public static func settings(from section: any DriverSection) throws -> Settings {
        let throughput = try section.throughput()
        return Settings(
            url: try section.url("url", schemes: ["https", "http"], optional: true, for: kind),
            secret: try section.requiredSecret("secret_file", credential: "webhook-secret", for: kind),
            throughput: throughput,
            allowPrivateAddresses: try section.bool("allow_private_addresses") ?? false)
    }

    public static func make(_ settings: Settings, logger: Logger) -> WebhookDriver { WebhookDriver(settings) }
}
