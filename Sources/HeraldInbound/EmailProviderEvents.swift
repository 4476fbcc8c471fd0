import Crypto
import Foundation
import HeraldCore

/// A bounce, block or complaint an email provider reports through its event webhook, about
/// the email whose `Message-ID` Herald set (stored as the message's provider id).
public struct EmailProviderEvent: Sendable, Equatable {
    /// The provider's id of the event: a second delivery of it records nothing new.
    public var eventKey: String
    /// The email's `Message-ID`, with angle brackets (`<herald.42.1.…@sol.example>`).
    public var messageID: String
    public var feedback: MailFeedback
    /// For a signature that does not cover the body (Mailgun's): the signed token, which
    /// must not come with another event (``eventKey``).
    public var replayKey: String?

    public init(eventKey: String, messageID: String, feedback: MailFeedback, replayKey: String? = nil) {
        self.eventKey = eventKey
        self.messageID = messageID
        self.feedback = feedback
        self.replayKey = replayKey
    }

    /// Most events read from one request.
    static let maxEvents = 1_000

    /// `<id>` for an id given with or without brackets; empty for none.
    static func bracketed(_ id: String) -> String {
        let trimmed = SafeText.clean(RecipientKey.trimmed(id), limit: 250)
        guard !trimmed.isEmpty else { return "" }
        return trimmed.hasPrefix("<") ? trimmed : "<\(trimmed)>"
    }

    /// A timestamp within `tolerance` of `now` (replays of an old signed request are refused).
    static func fresh(_ timestamp: String?, now: Date, tolerance: TimeInterval) -> Bool {
        guard let timestamp, timestamp.count <= 12, let seconds = Int64(timestamp) else { return false }
        return abs(Double(seconds) - now.timeIntervalSince1970) <= tolerance
    }
}

/// SendGrid's Event Webhook: a JSON array of events, signed with ECDSA P-256 over the
/// timestamp followed by the raw body (`X-Twilio-Email-Event-Webhook-Signature`, base64
/// DER; `X-Twilio-Email-Event-Webhook-Timestamp`), verified with the public key SendGrid
/// shows when signing is turned on.
public enum SendGridEvents {
    public static let signatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
    public static let timestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"

    /// SendGrid's verification key, kept as its DER bytes (swift-crypto's key type is not
    /// `Sendable`); checked to be a P-256 public key when made.
    public struct Key: Sendable, Equatable {
        let der: [UInt8]

        /// The key as SendGrid shows it (base64 DER), or as PEM; nil when it is not a P-256
        /// public key.
        public init?(_ text: String) {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.hasPrefix("-----BEGIN"), let key = try? P256.Signing.PublicKey(pemRepresentation: trimmed) {
                self.der = Array(key.derRepresentation)
                return
            }
            guard let der = Data(base64Encoded: trimmed.filter { !$0.isWhitespace }),
                  let key = try? P256.Signing.PublicKey(derRepresentation: der) else { return nil }
            self.der = Array(key.derRepresentation)
        }

        var key: P256.Signing.PublicKey? { try? P256.Signing.PublicKey(derRepresentation: der) }
    }

    /// True when `signature` signs `timestamp` + `body` under `key`, and the timestamp is
    /// within `tolerance` of `now`.
    public static func isValid(body: [UInt8], signature: String?, timestamp: String?, key: Key,
                               now: Date, tolerance: TimeInterval = 600) -> Bool {
        guard EmailProviderEvent.fresh(timestamp, now: now, tolerance: tolerance), let timestamp,
              let signature, signature.utf8.count <= 200, let der = Data(base64Encoded: signature),
              let parsed = try? P256.Signing.ECDSASignature(derRepresentation: der) else { return false }
        return key.key?.isValidSignature(parsed, for: Data(timestamp.utf8) + Data(body)) ?? false
    }

    /// The events Herald acts on: `bounce` (type `bounce`: classified by its status;
    /// `blocked`: refused, the address stays usable), `dropped` (never sent), `deferred`
    /// (soft), `spamreport` (a complaint). Others (delivered, open, click…) are skipped.
    /// Nil when the body is not a JSON array of objects.
    public static func parse(_ body: [UInt8]) -> [EmailProviderEvent]? {
        guard let array = try? JSONSerialization.jsonObject(with: Data(body)) as? [Any] else { return nil }
        var events: [EmailProviderEvent] = []
        for item in array.prefix(EmailProviderEvent.maxEvents) {
            guard let event = item as? [String: Any] else { return nil }
            func text(_ key: String, limit: Int = 1_000) -> String { SafeText.clean(event[key] as? String ?? "", limit: limit) }
            let status = MailFeedback.StatusCode(text("status", limit: 40))?.description
            let reason = text("reason")
            let kind: MailFeedback.Kind
            switch text("event", limit: 40) {
            case "bounce":
                kind = text("type", limit: 40) == "blocked" ? .failed
                    : status.flatMap { MailFeedback.classify(action: "failed", status: $0, diagnostic: reason) } ?? .hardBounce
            case "dropped": kind = .failed
            case "deferred": kind = .softBounce
            case "spamreport": kind = .complaint
            default: continue
            }
            let messageID = EmailProviderEvent.bracketed(text("smtp-id", limit: 250))
            let key = text("sg_event_id", limit: 200)
            guard !messageID.isEmpty, !key.isEmpty else { continue }
            let detail = reason.isEmpty ? "SendGrid \(text("event", limit: 40))" : "SendGrid: \(reason)"
            events.append(EmailProviderEvent(eventKey: key, messageID: messageID, feedback: MailFeedback(
                kind: kind, recipient: text("email", limit: 320), status: status, detail: detail)))
        }
        return events
    }
}

/// Mailgun's webhooks: one JSON event per request, `signature` {timestamp, token,
/// signature} being HMAC-SHA256 of timestamp + token under the webhook signing key (hex).
public enum MailgunEvents {
    /// Why a request was not read.
    public enum Refusal: Error, Sendable, Equatable {
        case notJSON
        case badSignature
    }

    /// The event in `body` when its signature is right and fresh; nil for an event Herald does
    /// not act on. `failed` (permanent: classified by its status; temporary: soft) and
    /// `complained`.
    public static func parse(_ body: [UInt8], key: [UInt8], now: Date, tolerance: TimeInterval = 600) -> Result<EmailProviderEvent?, Refusal> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return .failure(.notJSON) }
        guard let signature = object["signature"] as? [String: Any],
              let timestamp = signature["timestamp"] as? String, let token = signature["token"] as? String,
              let given = signature["signature"] as? String, token.utf8.count <= 200, given.utf8.count == 64,
              EmailProviderEvent.fresh(timestamp, now: now, tolerance: tolerance), !key.isEmpty else { return .failure(.badSignature) }
        let mac = HMAC<SHA256>.authenticationCode(for: Data((timestamp + token).utf8), using: SymmetricKey(data: key))
        let expected = mac.map { String(format: "%02x", $0) }.joined()
        guard ConstantTime.equal(Array(expected.utf8), Array(given.lowercased().utf8)) else { return .failure(.badSignature) }
        guard let data = object["event-data"] as? [String: Any] else { return .failure(.notJSON) }
        func text(_ value: Any?, limit: Int = 1_000) -> String { SafeText.clean(value as? String ?? "", limit: limit) }
        let delivery = data["delivery-status"] as? [String: Any] ?? [:]
        let status = MailFeedback.StatusCode(text(delivery["enhanced-code"], limit: 40))?.description
        let diagnostic = [text(delivery["message"]), text(delivery["description"])].filter { !$0.isEmpty }.joined(separator: " ")
        let kind: MailFeedback.Kind
        switch text(data["event"], limit: 40) {
        case "failed":
            if text(data["severity"], limit: 40) == "temporary" {
                kind = .softBounce
            } else if text(data["reason"], limit: 40).hasPrefix("suppress") {
                kind = .failed  // not sent: Mailgun's own list holds the address
            } else if text(data["reason"], limit: 40) == "bounce" {
                // Mailgun's hard bounce: its enhanced code, when given, says which kind.
                kind = status.flatMap { MailFeedback.classify(action: "failed", status: $0, diagnostic: diagnostic) } ?? .hardBounce
            } else {
                kind = MailFeedback.classify(action: "failed", status: status, diagnostic: diagnostic) ?? .failed
            }
        case "complained": kind = .complaint
        default: return .success(nil)
        }
        let headers = (data["message"] as? [String: Any])?["headers"] as? [String: Any] ?? [:]
        let messageID = EmailProviderEvent.bracketed(text(headers["message-id"], limit: 250))
        let key = text(data["id"], limit: 200)
        guard !messageID.isEmpty, !key.isEmpty else { return .success(nil) }
        let detail = diagnostic.isEmpty ? "Mailgun \(text(data["event"], limit: 40))" : "Mailgun: \(SafeText.clean(diagnostic, limit: 1_000))"
        return .success(EmailProviderEvent(eventKey: key, messageID: messageID, feedback: MailFeedback(
            kind: kind, recipient: text(data["recipient"], limit: 320), status: status, detail: detail), replayKey: "mailgun:" + token))
    }
}
