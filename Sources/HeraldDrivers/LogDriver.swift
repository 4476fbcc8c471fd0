import HeraldCore
import Logging

/// Logs each message instead of sending it: for trying a setup, never a silent default.
/// Bodies are left out unless `includeBody` is set (logs are no place for clients' messages).
public struct LogDriver: Driver {
    public let name = "log"
    let logger: Logger
    let includeBody: Bool

    public init(logger: Logger, includeBody: Bool = false) {
        self.logger = logger
        self.includeBody = includeBody
    }

    public func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        var metadata: Logger.Metadata = [
            "message": "\(message.id)", "channel": "\(message.channel.rawValue)", "to": "\(message.recipient)",
            "template": "\(message.template)", "locale": "\(message.locale)", "chars": "\(message.body.count)",
        ]
        if let subject = message.subject { metadata["subject"] = "\(subject)" }
        if includeBody { metadata["body"] = "\(message.body)" }
        logger.notice("log driver: message not sent anywhere, only logged", metadata: metadata)
        return DeliveryReceipt(providerMessageID: "log/\(message.id)-\(message.attempt)")
    }
}

extension LogDriver: ConfigurableDriver {
    public static let kind = "log"

    /// `include_body` (default false).
    public struct Settings: Sendable, Equatable {
        public var includeBody: Bool
        public init(includeBody: Bool = false) { self.includeBody = includeBody }
    }

    public static func settings(from section: any DriverSection) throws -> Settings {
        Settings(includeBody: try section.bool("include_body") ?? false)
    }

    public static func make(_ settings: Settings, logger: Logger) -> LogDriver { LogDriver(logger: logger, includeBody: settings.includeBody) }
}
