/// The daemon's last look at a message before it leaves: may it still go to its recipient?
///
/// The daemon sets it around a driver call. A driver that may wait before it sends (for a
/// rate limit or a free connection to its provider, see ``Driver/waitsBeforeSending``)
/// takes it itself once it no longer waits, so that an opt-out that arrives during the wait
/// still stops the message; for any other driver the daemon takes it just before the call.
/// Outside the daemon (`herald send-test`, tests of a driver) nothing is set and taking it
/// does nothing.
public struct LastLook: Sendable {
    /// The look for the message this task is delivering, if any.
    @TaskLocal public static var current: LastLook?

    private let look: @Sendable () async throws -> Void

    /// `look` throws when the message may no longer go (the error is the daemon's own and
    /// passes through the driver unchanged).
    public init(_ look: @escaping @Sendable () async throws -> Void) {
        self.look = look
    }

    /// Takes the look set for this task; throws when the message may no longer go.
    public static func take() async throws {
        try await current?.look()
    }

    /// Takes this look.
    public func take() async throws {
        try await look()
    }
}
