import Foundation

/// A fixed set of ``CurlSession``s: at most `size` transfers at once for one
/// channel, each session keeping its connection open for the next message.
public actor CurlPool {
    private let sessions: [CurlSession]
    private var free: [Int]
    private var waiters: [CheckedContinuation<Int, Never>] = []

    /// `size` sessions (threads), named `name-1`, `name-2`, …
    public init(name: String, size: Int, options: TransferOptions) {
        let count = max(1, size)
        sessions = (1...count).map { CurlSession(name: "\(name)-\($0)", options: options) }
        free = Array(0..<count)
    }

    /// The number of sessions.
    public var size: Int { sessions.count }

    /// Runs `body` with a session of its own, waiting for one to be free.
    public func withSession<T: Sendable>(_ body: @Sendable (CurlSession) async throws -> T) async throws -> T {
        let index = await acquire()
        defer { release(index) }
        return try await body(sessions[index])
    }

    private func acquire() async -> Int {
        if let index = free.popLast() { return index }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func release(_ index: Int) {
        if waiters.isEmpty {
            free.append(index)
        } else {
            waiters.removeFirst().resume(returning: index)
        }
    }
}

/// Spaces messages at a fixed rate (a provider's messages-per-second limit).
///
/// Each call reserves the next free slot, at least `1 / perSecond` after the
/// previous one, then sleeps until it; a burst is spread evenly, an idle period
/// does not bank credit.
public actor RateLimiter {
    private let interval: Duration
    private var next: ContinuousClock.Instant?

    /// `perSecond` > 0.
    public init(perSecond: Double) {
        // Rates are checked when configured (0.001 to 100000 a second); clamp anyway, so the
        // conversion can never see infinity.
        let rate = perSecond.isFinite ? min(max(perSecond, 0.001), 1_000_000) : 1
        interval = .nanoseconds(Int64(1_000_000_000 / rate))
    }

    /// Waits for this call's slot.
    public func acquire() async throws {
        let slot = Self.reserve(now: .now, next: &next, interval: interval)
        if slot > .now { try await Task.sleep(until: slot, clock: .continuous) }
    }

    /// The slot for a call at `now` given the next free one (pure; updates `next`).
    public static func reserve(now: ContinuousClock.Instant, next: inout ContinuousClock.Instant?, interval: Duration) -> ContinuousClock.Instant {
        let slot = max(now, next ?? now)
        next = slot + interval
        return slot
    }
}
