import Foundation
import HeraldCore
import HeraldPostgres

/// The result of one delivery attempt, to be written back to the outbox.
public struct Completion: Sendable, Equatable {
    /// What the attempt decided for the message.
    public enum Result: String, Sendable {
        /// Handed to the provider: `sent`.
        case sent
        /// Transient failure with attempts left: back to `pending` after `retryIn`.
        case retry
        /// Permanent failure or attempts exhausted: `failed`.
        case failed
    }

    public var messageID: Int64
    public var attempt: Int
    public var result: Result
    public var driver: String
    public var startedAt: Date
    public var finishedAt: Date
    public var error: String?
    public var responseCode: String?
    public var providerMessageID: String?
    /// Delay before the next attempt, for `.retry`.
    public var retryIn: Duration?
    /// What was rendered, stored with the message so a DBA sees exactly what was sent.
    public var rendered: RenderedMessage?

    public init(messageID: Int64, attempt: Int, result: Result, driver: String, startedAt: Date, finishedAt: Date,
                error: String? = nil, responseCode: String? = nil, providerMessageID: String? = nil,
                retryIn: Duration? = nil, rendered: RenderedMessage? = nil) {
        self.messageID = messageID
        self.attempt = attempt
        self.result = result
        self.driver = driver
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
        self.responseCode = responseCode
        self.providerMessageID = providerMessageID
        self.retryIn = retryIn
        self.rendered = rendered
    }
}

/// A message to insert (what `herald enqueue` and tests write; hosts may INSERT directly).
public struct NewMessage: Sendable {
    public var channel: String
    public var recipient: String
    public var template: String
    public var locale: String?
    public var timeZone: String?
    public var data: String
    public var dedupeKey: String?
    public var maxAttempts: Int?
    /// When and under which rules it may be sent: the same ``OutboxMessage/Schedule`` the
    /// claimed message and the scheduling rules use.
    public var schedule: OutboxMessage.Schedule
    /// True when no `sendAt` was given: `send_at` is the database's `now()`, never the
    /// caller's clock.
    public var sendsNow: Bool

    public init(channel: String, recipient: String, template: String, locale: String? = nil, timeZone: String? = nil,
                data: String = "{}", sendAt: Date? = nil, postpone: Duration? = nil, eventAt: Date? = nil,
                expiresAt: Date? = nil, dedupeKey: String? = nil, maxAttempts: Int? = nil, locationID: String? = nil,
                businessHoursOnly: Bool = false, urgent: Bool = false, minimumLead: Duration? = nil) {
        self.channel = channel
        self.recipient = recipient
        self.template = template
        self.locale = locale
        self.timeZone = timeZone
        self.data = data
        self.dedupeKey = dedupeKey
        self.maxAttempts = maxAttempts
        self.sendsNow = sendAt == nil
        self.schedule = OutboxMessage.Schedule(
            sendAt: sendAt ?? Date(timeIntervalSince1970: 0), postpone: postpone ?? .zero, eventAt: eventAt, expiresAt: expiresAt,
            businessHoursOnly: businessHoursOnly, locationID: locationID, urgent: urgent, minimumLead: minimumLead)
    }
}
