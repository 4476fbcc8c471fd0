import Foundation

/// A delivery channel Herald knows. Rows may name others; those fail with a clear reason.
public enum Channel: String, Sendable, CaseIterable, Codable, Hashable {
    case sms
    case email
    case webhook
    /// WhatsApp through Twilio: a phone number (`+34…` or `whatsapp:+34…`).
    case whatsapp

    /// SMS and WhatsApp: a phone number is the address, replies carry keywords and answers.
    public var isPhone: Bool { self == .sms || self == .whatsapp }
}

/// A message claimed from the outbox, as the worker sees it.
public struct OutboxMessage: Sendable, Equatable {
    public var id: Int64
    /// The channel as written by the host; may be unknown (then the message fails).
    public var channel: String
    public var recipient: String
    public var template: String
    public var locale: String?
    public var timeZone: String?
    /// The `data` column as JSON text.
    public var data: String
    /// The attempt this claim is (1 for the first try).
    public var attempt: Int
    /// The row's own `max_attempts`, when set.
    public var maxAttempts: Int?
    /// The sender it goes out as (a rule's or location's `email_from` / `sms_from`); nil: the channel's.
    public var sender: String?
    /// What the message is about (`subject_type`, `subject_id`), when the host or a rule said.
    public var subject: Subject?
    /// When and whether to send: the inputs of the scheduling rules.
    public var schedule: Schedule
    /// WhatsApp: until when free text may go to the recipient (24 hours after their last
    /// WhatsApp message, `herald.whatsapp_window`); nil: they never wrote.
    public var whatsappWindowUntil: Date?

    /// The appointment (work order, lead, …) a message is about.
    public struct Subject: Sendable, Equatable {
        public var type: String
        public var id: String

        public init(type: String, id: String) {
            self.type = type
            self.id = id
        }
    }

    /// The columns the scheduling rules read.
    public struct Schedule: Sendable, Equatable {
        public var sendAt: Date
        public var postpone: Duration
        public var eventAt: Date?
        public var expiresAt: Date?
        public var businessHoursOnly: Bool
        public var locationID: String?
        public var urgent: Bool
        public var minimumLead: Duration?

        public init(sendAt: Date, postpone: Duration = .zero, eventAt: Date? = nil, expiresAt: Date? = nil,
                    businessHoursOnly: Bool = false, locationID: String? = nil, urgent: Bool = false, minimumLead: Duration? = nil) {
            self.sendAt = sendAt
            self.postpone = postpone
            self.eventAt = eventAt
            self.expiresAt = expiresAt
            self.businessHoursOnly = businessHoursOnly
            self.locationID = locationID
            self.urgent = urgent
            self.minimumLead = minimumLead
        }
    }

    public init(id: Int64, channel: String, recipient: String, template: String, locale: String?, timeZone: String?, data: String,
                attempt: Int, maxAttempts: Int?, schedule: Schedule = Schedule(sendAt: Date(timeIntervalSince1970: 0))) {
        self.id = id
        self.channel = channel
        self.recipient = recipient
        self.template = template
        self.locale = locale
        self.timeZone = timeZone
        self.data = data
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.schedule = schedule
    }
}

/// A message ready for a driver: recipient and rendered content.
public struct RenderedMessage: Sendable, Equatable {
    public var id: Int64
    public var channel: Channel
    public var recipient: String
    public var template: String
    /// The locale whose template was used.
    public var locale: String
    public var attempt: Int
    /// Email subject; nil for SMS and webhook.
    public var subject: String?
    /// Text body (email text part, SMS text, webhook JSON document).
    public var body: String
    /// HTML body for email, when the template has one.
    public var html: String?
    /// Billed SMS segments of `body` (SMS only).
    public var segments: Int?
    /// `herald.template.version` of the template rendered.
    public var templateVersion: Int?
    /// Email: this message's one-click unsubscribe link (RFC 8058), signed by Herald; the
    /// driver puts it in `List-Unsubscribe`.
    public var unsubscribeURL: String?
    /// The sender to use instead of the channel's configured one (`herald.message.sender`).
    public var sender: String?
    /// Email: the envelope sender (`MAIL FROM`) of this message, its own bounce address
    /// (VERP) when the channel has a `bounce_address`; nil: the driver's.
    public var returnPath: String?
    /// The instant it was rendered at (the rules' "now"): an email's `Date` header, so that
    /// a preview at that instant is the same bytes as what was sent.
    public var renderedAt: Date?
    /// WhatsApp: the approved template's Twilio Content SID; nil: `body` is sent as free text
    /// (only within the 24-hour window).
    public var contentSID: String?
    /// WhatsApp: the Content template's variables as a JSON object (`{"1":"Ana"}`), rendered.
    public var contentVariables: String?

    public init(id: Int64, channel: Channel, recipient: String, template: String, locale: String, attempt: Int, subject: String?, body: String, html: String?,
                segments: Int? = nil, templateVersion: Int? = nil) {
        self.id = id
        self.channel = channel
        self.recipient = recipient
        self.template = template
        self.locale = locale
        self.attempt = attempt
        self.subject = subject
        self.body = body
        self.html = html
        self.segments = segments
        self.templateVersion = templateVersion
    }
}

/// What a driver reports for a successful hand-over.
public struct DeliveryReceipt: Sendable, Equatable {
    /// The provider's id for the message (SMTP Message-ID, SMS sid, file name).
    public var providerMessageID: String?
    /// The provider's response code, e.g. `250` or `201`.
    public var responseCode: String?

    public init(providerMessageID: String?, responseCode: String? = nil) {
        self.providerMessageID = providerMessageID
        self.responseCode = responseCode
    }
}

/// Why a delivery did not succeed, and whether trying again may help.
public enum DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Worth retrying later (network error, 4xx SMTP, HTTP 429/5xx).
    /// `retryAfter` is the provider's own hint, honoured as a minimum delay.
    case transient(String, code: String? = nil, retryAfter: Duration? = nil)
    /// Retrying cannot help (bad address, rejected content, unknown template).
    case permanent(String, code: String? = nil)
    /// The provider says the recipient opted out (Twilio 21610, STOP): permanent, and the
    /// recipient is recorded in `herald.opt_out` so that nothing more is attempted to it.
    case optedOut(String, code: String? = nil)

    public var reason: String {
        switch self {
        case .transient(let reason, _, _), .permanent(let reason, _), .optedOut(let reason, _): return reason
        }
    }

    public var code: String? {
        switch self {
        case .transient(_, let code, _), .permanent(_, let code), .optedOut(_, let code): return code
        }
    }

    public var isTransient: Bool {
        if case .transient = self { return true }
        return false
    }

    public var description: String { reason }
}

/// A row of `herald.template`.
public struct TemplateRecord: Sendable, Equatable {
    public var key: String
    public var channel: String
    public var locale: String
    public var subject: String?
    public var body: String
    public var html: String?
    /// `herald.template.version`: bumped by every edit.
    public var version: Int
    /// Variables `herald templates lint` and `preview` render with (a JSON object), if any.
    public var sampleData: String?
    /// WhatsApp: the Twilio Content SID of the approved template (`HX…`), if any.
    public var contentSID: String?
    /// WhatsApp: the Content template's variables, a JSON object of small templates
    /// (`{"1": "{{client.name}}"}`).
    public var contentVariables: String?

    public init(key: String, channel: String, locale: String, subject: String?, body: String, html: String?,
                version: Int = 1, sampleData: String? = nil) {
        self.key = key
        self.channel = channel
        self.locale = locale
        self.subject = subject
        self.body = body
        self.html = html
        self.version = version
        self.sampleData = sampleData
    }
}

/// A row of `herald.template_partial`: a shared piece used as `{{> name}}`.
public struct PartialRecord: Sendable, Equatable {
    public var name: String
    public var locale: String
    public var body: String

    public init(name: String, locale: String, body: String) {
        self.name = name
        self.locale = locale
        self.body = body
    }
}
