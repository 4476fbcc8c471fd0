import HeraldCore
import Logging

/// Accepts every message at once and sends nothing: for benchmarks and drills that
/// measure the database path (claim, rules, render, record), never a default.
public struct AcceptDriver: Driver {
    public let name = "accept"

    public init() {}

    public func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        DeliveryReceipt(providerMessageID: "accept/\(message.id)-\(message.attempt)")
    }
}

extension AcceptDriver: ConfigurableDriver {
    public static let kind = "accept"

    /// The accept driver has no settings.
    public struct Settings: Sendable, Equatable {
        public init() {}
    }

    public static func settings(from section: any DriverSection) throws -> Settings { Settings() }
    public static func make(_ settings: Settings, logger: Logger) -> AcceptDriver { AcceptDriver() }
}
