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
    /// True when ``deliver(_:)`` may wait before it sends (a rate limit, a free connection):
    /// it then calls `LastLook.take()` itself once it no longer waits (``Transport`` does),
    /// and lets the error that throws pass unchanged.
    var waitsBeforeSending: Bool { get }
}

extension Driver {
    /// Drivers send at once unless they say otherwise.
    public var waitsBeforeSending: Bool { false }
}
