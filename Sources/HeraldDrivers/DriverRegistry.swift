import HeraldCore
import Logging

/// A driver's section of the configuration (`[channels.<name>]`) as the loader hands it
/// over: typed reads of its keys, each remembered (any key never read is reported as
/// unknown), and errors that name the key and the file.
public protocol DriverSection {
    /// The section's name, `channels.<channel>`.
    var path: String { get }
    func string(_ key: String) throws -> String?
    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int?
    func number(_ key: String) throws -> Double?
    func bool(_ key: String) throws -> Bool?
    func duration(_ key: String, positive: Bool) throws -> Duration?
    /// The trimmed contents of the file `key` names or, without `key`, of the systemd
    /// credential `credential` (`$CREDENTIALS_DIRECTORY`); secrets never sit in the file itself.
    func secret(_ key: String, credential: String) throws -> String?
    /// A configuration error naming `key` in this section and the file.
    func invalid(_ key: String, _ reason: String) -> any Error
    /// The tables inside the table `key` (`[channels.sms.senders."+34911234567"]`), by name;
    /// empty when `key` is absent.
    func tables(_ key: String) throws -> [(name: String, section: any DriverSection)]
    /// Fails naming the first key of this section that was never read.
    func rejectUnread() throws
}

extension DriverSection {
    public func tables(_ key: String) throws -> [(name: String, section: any DriverSection)] { [] }
    public func rejectUnread() throws {}
}

/// A kind of driver: the name written as `driver = "…"`, how it reads its own section,
/// and how it is built from what it read (in the style of swift-jobs' drivers: options
/// are a plain `Sendable` struct).
public protocol ConfigurableDriver: Driver {
    associatedtype Settings: Sendable & Equatable
    /// The value of `driver` that selects this kind.
    static var kind: String { get }
    /// Reads and checks the section; a bad value throws ``DriverSection/invalid(_:_:)``.
    static func settings(from section: any DriverSection) throws -> Settings
    /// Builds the driver (once, when the daemon or `send-test` starts).
    static func make(_ settings: Settings, logger: Logger) throws -> Self
}

/// Every driver Herald knows, by the name written in `driver = "…"`. Adding a driver is
/// one file in this module (a type conforming to ``ConfigurableDriver``) and its line here.
public enum DriverRegistry {
    public static let all: [any ConfigurableDriver.Type] = [
        SMTPDriver.self, TwilioDriver.self, WebhookDriver.self, FileDriver.self, LogDriver.self, AcceptDriver.self,
    ]

    /// The names, for messages: "smtp, twilio, webhook, file, log or accept".
    public static var names: String {
        let kinds = all.map { $0.kind }
        return kinds.dropLast().joined(separator: ", ") + " or " + (kinds.last ?? "")
    }

    /// Reads a section for the driver named `kind`; nil when no driver has that name.
    public static func configure(_ kind: String, section: any DriverSection) throws -> DriverConfiguration? {
        guard let type = all.first(where: { $0.kind == kind }) else { return nil }
        return try DriverConfiguration(type, section: section)
    }
}

/// A channel's configured driver: its kind and checked settings, built into a ``Driver``
/// by ``make(logger:)``.
public struct DriverConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// The driver's name (`smtp`, `file`, …).
    public let name: String
    /// The driver's own `Settings` value (read it with ``settings(as:)``).
    public let settings: any Sendable
    private let build: @Sendable (Logger) throws -> any Driver
    private let equal: @Sendable (any Sendable) -> Bool

    /// The channel's rate limits (`rate`, `burst`, `ceiling`, `senders`), whatever the
    /// driver: the claim honours them; libcurl drivers also pace their own transfers.
    public let limits: SenderLimits

    init<D: ConfigurableDriver>(_ type: D.Type, section: any DriverSection) throws {
        let settings = try type.settings(from: section)
        self.init(type, settings: settings, limits: try section.senderLimits())
    }

    /// A configuration for driver type `type` with `settings` (tests, embedding); the limits
    /// default to those in the settings' ``Throughput``.
    public init<D: ConfigurableDriver>(_ type: D.Type, settings: D.Settings, limits: SenderLimits? = nil) {
        self.name = type.kind
        self.settings = settings
        var limits = limits ?? (settings as? any TransferSettings)?.throughput.limits ?? SenderLimits()
        limits.defaultSender = Self.ownSender(settings)
        self.limits = limits
        self.build = { try type.make(settings, logger: $0) }
        self.equal = { ($0 as? D.Settings) == settings }
    }

    /// The settings, if this is a driver whose settings are `S`.
    public func settings<S>(as type: S.Type) -> S? { settings as? S }

    /// Builds the driver.
    public func make(logger: Logger) throws -> any Driver { try build(logger) }

    public static func == (a: DriverConfiguration, b: DriverConfiguration) -> Bool {
        a.name == b.name && a.limits == b.limits && a.equal(b.settings)
    }

    public var description: String { name }
}

extension DriverSection {
    /// A string that must be present and not empty.
    public func required(_ key: String, for driver: String) throws -> String {
        guard let value = try string(key), !value.isEmpty else { throw invalid(key, "required for the \(driver) driver") }
        return value
    }

    /// A secret that must be present (in the file `key` names or the credential).
    public func requiredSecret(_ key: String, credential: String, for driver: String) throws -> String {
        guard let value = try secret(key, credential: credential) else {
            throw invalid(key, "required for the \(driver) driver (or a systemd credential named \(credential))")
        }
        return value
    }

    /// A URL with one of `schemes`; nil when absent and `optional`.
    public func url(_ key: String, schemes: [String], optional: Bool = false, for driver: String) throws -> String? {
        guard let value = optional ? try string(key) : try required(key, for: driver) else { return nil }
        guard let scheme = value.split(separator: ":").first.map(String.init), schemes.contains(scheme.lowercased()) else {
            throw invalid(key, "must be a \(schemes.joined(separator: " or ")) URL, got \"\(value)\"")
        }
        return value
    }

    /// `bounce_address` of an email driver, checked (``BounceAddressRule``); nil when absent.
    public func bounceAddress() throws -> String? {
        guard let value = try string("bounce_address") else { return nil }
        guard BounceAddressRule.split(value) != nil else { throw invalid("bounce_address", BounceAddressRule.expected) }
        return value
    }

    /// The keys every libcurl driver shares: `max_concurrent`, the rate limits
    /// (``senderLimits()``), `connect_timeout`, `timeout`, `ca_file`.
    public func throughput() throws -> Throughput {
        var throughput = Throughput()
        throughput.maxConcurrent = try int("max_concurrent", in: 1...256) ?? 4
        throughput.limits = try senderLimits()
        throughput.connectTimeout = try duration("connect_timeout", positive: true) ?? .seconds(10)
        throughput.timeout = try duration("timeout", positive: true) ?? .seconds(30)
        throughput.caFile = try string("ca_file")
        return throughput
    }
}

extension DriverSection {
    /// The rate limits every driver honours: `rate` and `burst` per sender, `ceiling` and
    /// `ceiling_burst` for the whole channel, and `[<section>.senders."<sender>"]` tables
    /// with a `rate` and `burst` of their own (an email sender is named by its domain).
    public func senderLimits() throws -> SenderLimits {
        var limits = SenderLimits()
        func pace(_ section: any DriverSection, rate key: String, burst burstKey: String, defaultBurst: (Double) -> Int) throws -> Pace? {
            let burst = try section.int(burstKey, in: 1...10_000)
            guard let rate = try section.number(key) else {
                if burst != nil { throw section.invalid(burstKey, "needs \(key) beside it") }
                return nil
            }
            // The range first: a default burst is worked out from a rate known to be sane
            // (a ceiling of 1e300 or inf must not reach an integer conversion).
            guard let checked = Pace(perSecond: rate), let pace = Pace(perSecond: rate, burst: burst ?? defaultBurst(checked.perSecond)) else {
                throw section.invalid(key, "must be a number of messages per second from 0.001 to 100000")
            }
            return pace
        }
        limits.perSender = try pace(self, rate: "rate", burst: "burst") { _ in 1 }
        // A channel ceiling spends its tokens a tenth of a second at a time by default: one
        // claim round takes that many, not one message per round.
        limits.ceiling = try pace(self, rate: "ceiling", burst: "ceiling_burst") { max(1, min(10_000, Int(($0 / 10).rounded(.up)))) }
        for (name, section) in try tables("senders") {
            guard !name.isEmpty, name.count <= 200, !name.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw invalid("senders", "a sender's name must be 1 to 200 characters on one line")
            }
            guard let own = try pace(section, rate: "rate", burst: "burst", defaultBurst: { _ in 1 }) else {
                throw section.invalid("rate", "required for a sender")
            }
            try section.rejectUnread()
            limits.senders[path.hasSuffix(".email") ? SenderLimits.key(channel: "email", sender: name) : name] = own
        }
        return limits
    }
}

extension DriverConfiguration {
    /// The key of the sender a message without one goes out as (Twilio's `from` or
    /// messaging service, an email driver's `from` domain), or nil.
    static func ownSender(_ settings: any Sendable) -> String? {
        if let twilio = settings as? TwilioDriver.Settings { return twilio.from ?? twilio.messagingServiceSID }
        if let smtp = settings as? SMTPDriver.Settings { return SenderLimits.key(channel: "email", sender: smtp.from) }
        if let file = settings as? FileDriver.Settings { return SenderLimits.key(channel: "email", sender: file.from) }
        return nil
    }

    /// The sender side of the channel's emails (`from`, and SMTP's `reply_to` and
    /// `unsubscribe_url`), or nil for a driver that does not write email.
    public var emailSender: EmailFormat.Sender? {
        if let smtp = settings(as: SMTPDriver.Settings.self) {
            return EmailFormat.Sender(from: smtp.from, replyTo: smtp.replyTo, unsubscribeURL: smtp.unsubscribeURL, bounceAddress: smtp.bounceAddress)
        }
        if let file = settings(as: FileDriver.Settings.self) { return EmailFormat.Sender(from: file.from, bounceAddress: file.bounceAddress) }
        return nil
    }
}
