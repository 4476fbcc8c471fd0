import HeraldCore

/// Delivers rendered messages of one channel to a provider.
///
/// A driver hands one message over and reports the provider's id, or throws a
/// ``DeliveryError``: `.transient` when trying again later may succeed,
/// `.permanent` when it cannot. Any other error thrown is treated as transient.
/// Drivers must honour task cancellation (graceful shutdown past its grace period).
public protocol Driver: Sendable {
    /// The driver's name as written in configuration (`file`, `log`, `smtp`, …), recorded on attempts.
    var name: String { get }
    /// Hands one message to the provider.
    func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt
}
