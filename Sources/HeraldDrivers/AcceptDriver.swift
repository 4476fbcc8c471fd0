import HeraldCore

/// Accepts every message at once and sends nothing: for benchmarks and drills that
/// measure the database path (claim, rules, render, record), never a default.
public struct AcceptDriver: Driver {
    public let name = "accept"

    public init() {}

    public func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        DeliveryReceipt(providerMessageID: "accept/\(message.id)-\(message.attempt)")
    }
}
