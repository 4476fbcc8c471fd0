import Foundation
import HeraldCore
import Logging
import HeraldCurl

/// Sends SMS and WhatsApp messages through a Twilio-compatible REST API:
/// `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic
/// auth, form fields `To`, `From` or `MessagingServiceSid`, `Body`, optional
/// `StatusCallback`. The returned `sid` is the provider id.
///
/// 429, 5xx and timeouts are transient (honouring `Retry-After`); other 4xx are
/// permanent with Twilio's `code` and `message` in the reason; code 21610
/// (the recipient replied STOP) records the number as opted out.
public struct TwilioDriver: Driver {
    /// `[channels.sms]` or `[channels.whatsapp]` with `driver = "twilio"`.
    public struct Settings: Sendable, Equatable {
        /// `https://api.twilio.com`, or a compatible provider's (a local server in tests).
        public var baseURL: String
        public var accountSID: String
        /// Read from `auth_token_file` or `$CREDENTIALS_DIRECTORY/twilio-auth-token`; never logged.
        public var authToken: String
        /// The sending number (E.164; for WhatsApp also written `whatsapp:+…`) …
        public var from: String?
        /// … or a messaging service.
        public var messagingServiceSID: String?
        public var statusCallback: String?
        public var throughput: Throughput
        /// Look each number's line type up (Twilio Lookup) before its first SMS: a landline
        /// fails the message instead of costing a send the carrier refuses.
        public var lookup = false
        /// A lookup's answer is kept this long (`lookup_max_age`).
        public var lookupMaxAge: Duration = .seconds(90 * 86_400)
        /// Twilio Lookup's address, or a compatible one's (`lookup_url`).
        public var lookupURL = "https://lookups.twilio.com"

        public init(baseURL: String = "https://api.twilio.com", accountSID: String, authToken: String, from: String? = nil,
                    messagingServiceSID: String? = nil, statusCallback: String? = nil, throughput: Throughput = Throughput()) {
            self.baseURL = baseURL
            self.accountSID = accountSID
            self.authToken = authToken
            self.from = from
            self.messagingServiceSID = messagingServiceSID
            self.statusCallback = statusCallback
            self.throughput = throughput
        }
    }

    public let name = "twilio"
    let settings: Settings
    let transport: Transport
    /// Where lookups are kept (nil: no lookup, whatever `settings.lookup` says).
    let lineTypes: (any LineTypeCache)?
    let logger: Logger?

    public init(_ settings: Settings, lineTypes: (any LineTypeCache)? = nil, logger: Logger? = nil) {
        self.settings = settings
        self.transport = Transport(name: "herald-sms", throughput: settings.throughput)
        self.lineTypes = settings.lookup ? lineTypes : nil
        self.logger = logger
    }

    var endpoint: String {
        let base = settings.baseURL.hasSuffix("/") ? String(settings.baseURL.dropLast()) : settings.baseURL
        return "\(base)/2010-04-01/Accounts/\(Self.formEncode(settings.accountSID))/Messages.json"
    }

    /// It waits for its sender's slot and a connection: ``Transport`` takes the last look after both.
    public var waitsBeforeSending: Bool { true }

    public func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        let whatsapp = message.channel == .whatsapp
        let provider = whatsapp ? "WhatsApp provider" : "SMS provider"
        let number = whatsapp ? RecipientKey.withoutWhatsAppPrefix(message.recipient) : message.recipient
        if let reason = Recipients.validatePhone(number) { throw DeliveryError.permanent(reason) }
        if let lineTypes, !whatsapp { try await checkLineType(message, lineTypes) }
        let fields = Self.fields(message, number: number, settings: settings)
        let request = HTTPRequest(
            url: endpoint, headers: ["Content-Type: application/x-www-form-urlencoded", "Accept: application/json"],
            body: Data(fields.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&").utf8),
            username: settings.accountSID, password: settings.authToken)
        let response: HTTPResponse
        do {
            response = try await transport.run(sender: SenderLimits.key(channel: message.channel.rawValue, sender: message.sender)) {
                try await $0.post(request, cancellation: $1)
            }
        } catch let error as CurlError {
            throw transient(error, what: provider)
        }
        return try Self.interpret(response, what: provider)
    }

    /// The form Twilio's Messages resource takes for `message`. SMS: `To`, `Body`, the
    /// sender. WhatsApp: both addresses as `whatsapp:+…`, and either an approved template
    /// (`ContentSid`, `ContentVariables`) or free text (`Body`).
    static func fields(_ message: RenderedMessage, number: String, settings: Settings) -> [(String, String)] {
        let whatsapp = message.channel == .whatsapp
        func address(_ text: String) -> String {
            whatsapp ? "whatsapp:" + RecipientKey.withoutWhatsAppPrefix(text) : RecipientKey.withoutWhatsAppPrefix(text)
        }
        var fields = [("To", address(number))]
        if whatsapp, let sid = message.contentSID {
            fields.append(("ContentSid", sid))
            if let variables = message.contentVariables { fields.append(("ContentVariables", variables)) }
        } else {
            fields.append(("Body", message.body))
        }
        // A rule's or location's sender (sms_from) replaces the channel's.
        if let sender = message.sender { fields.append(("From", address(sender))) }
        else if let service = settings.messagingServiceSID { fields.append(("MessagingServiceSid", service)) }
        else if let from = settings.from { fields.append(("From", address(from))) }
        if let callback = settings.statusCallback { fields.append(("StatusCallback", callback)) }
        return fields
    }

    /// Fails a message to a landline: from the answer kept for its number, else from a
    /// lookup (kept for `lookup_max_age`). A lookup that gives no answer (an error, the
    /// service down) lets the SMS go, as without lookups.
    func checkLineType(_ message: RenderedMessage, _ cache: any LineTypeCache) async throws {
        let number = RecipientKey.normalize(message.recipient, channel: .sms)
        var type: String?
        do {
            type = try await cache.cachedLineType(of: number, maxAge: settings.lookupMaxAge)
        } catch {
            logger?.warning("line type cache not readable; looking the number up", metadata: ["message": "\(message.id)", "error": "\(error)"])
        }
        if type == nil {
            var request = HTTPRequest(url: TwilioLookup.url(base: settings.lookupURL, number: number), headers: ["Accept: application/json"],
                                      body: Data(), username: settings.accountSID, password: settings.authToken)
            request.isGet = true
            let answer: TwilioLookup.Answer
            do {
                let get = request
                answer = TwilioLookup.interpret(try await transport.pool.withSession { try await $0.post(get) })
            } catch let error as CurlError {
                answer = .unknown("Twilio Lookup: \(SafeText.redactingUserinfo(error.message))")
            }
            switch answer {
            case .lineType(let found, let carrier):
                type = found
                do {
                    try await cache.recordLineType(of: number, type: found, carrier: carrier, messageID: message.id, maxAge: settings.lookupMaxAge)
                } catch {
                    logger?.warning("line type not recorded", metadata: ["message": "\(message.id)", "error": "\(error)"])
                }
            case .unknown(let why):
                logger?.notice("no line type for the number; sending as without lookups", metadata: ["message": "\(message.id)", "why": "\(why)"])
            }
        }
        if let type, TwilioLookup.isLandline(type) {
            throw DeliveryError.permanent("\(number) is a landline (Twilio Lookup): it cannot receive SMS", code: "landline")
        }
    }

    /// Turns the provider's answer into a receipt or a classified error.
    static func interpret(_ response: HTTPResponse, what: String = "SMS provider") throws -> DeliveryReceipt {
        let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
        let status = response.status
        if (200...299).contains(status) {
            guard let sid = json["sid"] as? String else {
                throw DeliveryError.transient("\(what) answered \(status) without a sid", code: String(status))
            }
            return DeliveryReceipt(providerMessageID: sid, responseCode: String(status))
        }
        let code = (json["code"] as? Int).map(String.init) ?? (json["code"] as? String)
        var reason = "\(what) answered \(status)"
        if let code { reason += ", error \(code)" }
        if let text = json["message"] as? String { reason += ": \(text)" }
        else if !response.body.isEmpty { reason += ": \(String(decoding: response.body.prefix(200), as: UTF8.self))" }
        if code == "21610" { throw DeliveryError.optedOut(reason + Self.carrierBlockAdvice, code: code) }
        throw httpFailure(response, reason: reason, code: code)
    }

    /// Added to a 21610 failure: Twilio blocks a number that replied STOP until the client
    /// replies one of its own opt-in words to that sender; an opt-in recorded in Herald (a
    /// desk, `COMMENCER`, `ALTA`) does not lift it.
    public static let carrierBlockAdvice = ". The carrier blocks this number since the client replied STOP: ask the client to reply START "
        + "to this sender (an opt-in recorded in Herald does not lift it)"

    /// `application/x-www-form-urlencoded` value encoding (space as `%20`, which every server accepts).
    static func formEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

extension TwilioDriver: ConfigurableDriver {
    public static let kind = "twilio"

    /// `account_sid`, `auth_token_file` (or the credential `twilio-auth-token`), `from` or
    /// `messaging_service_sid`, `base_url`, `status_callback`, `lookup`, `lookup_max_age`,
    /// `lookup_url`, and the shared throughput keys.
    public static func settings(from section: any DriverSection) throws -> Settings {
        let throughput = try section.throughput()
        let from = try section.string("from")
        let service = try section.string("messaging_service_sid")
        guard from != nil || service != nil else {
            throw section.invalid("from", "the twilio driver needs from (an E.164 number) or messaging_service_sid")
        }
        if let from, let reason = Recipients.validatePhone(RecipientKey.withoutWhatsAppPrefix(from)) { throw section.invalid("from", reason) }
        var settings = Settings(
            baseURL: try section.url("base_url", schemes: ["https", "http"], optional: true, for: kind) ?? "https://api.twilio.com",
            accountSID: try section.required("account_sid", for: kind),
            authToken: try section.requiredSecret("auth_token_file", credential: "twilio-auth-token", for: kind),
            from: from, messagingServiceSID: service,
            statusCallback: try section.url("status_callback", schemes: ["https", "http"], optional: true, for: kind),
            throughput: throughput)
        settings.lookup = try section.bool("lookup") ?? false
        if let age = try section.duration("lookup_max_age", positive: true) {
            guard age >= .seconds(3600), age <= .seconds(3650 * 86_400) else { throw section.invalid("lookup_max_age", "must be from 1h to 3650d") }
            settings.lookupMaxAge = age
        }
        settings.lookupURL = try section.url("lookup_url", schemes: ["https", "http"], optional: true, for: kind) ?? settings.lookupURL
        return settings
    }

    /// Without a cache (`send-test`); the daemon adds its own (``init(_:lineTypes:logger:)``).
    public static func make(_ settings: Settings, logger: Logger) -> TwilioDriver { TwilioDriver(settings, logger: logger) }
}
