import HeraldOutbox
import Synchronization

/// Every claim the daemon holds and has not recorded yet (waiting to start, being
/// delivered, or having its outcome written), with its lease deadline by the daemon's own
/// clock; the claims given back at shutdown; and the day's counters.
///
/// Shared by the claim loop (which adds claims), the outcome writer (which finishes them)
/// and the lease service (which renews them), behind one lock.
public final class ClaimLedger: Sendable {
    private struct State {
        var leases = LeaseBook()
        /// Returned to pending at shutdown: an outcome arriving for one is not recorded.
        var released: Set<ClaimKey> = []
        var counters = Counters()
    }

    /// What the daemon did since it started (logged at exit, shown in the systemd status).
    public struct Counters: Sendable, Equatable {
        public var sent = 0
        public var retried = 0
        public var failed = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var count: Int { state.withLock { $0.leases.count } }
    public var isEmpty: Bool { state.withLock { $0.leases.isEmpty } }
    public var claims: [ClaimKey] { state.withLock { $0.leases.claims } }
    /// The ids held (recovery of expired leases leaves these alone).
    public var ids: [Int64] { state.withLock { $0.leases.ids } }
    public var counters: Counters { state.withLock { $0.counters } }

    public func contains(_ claim: ClaimKey) -> Bool { state.withLock { $0.leases.contains(claim) } }

    /// Claims (or renewals) made by a statement sent at `sentAt`, for `lease`.
    public func hold(_ claims: [ClaimKey], sentAt: ContinuousClock.Instant, lease: Duration) {
        state.withLock { $0.leases.hold(claims, sentAt: sentAt, lease: lease) }
    }

    /// Renewals the database confirmed: only claims still held are extended.
    func renewed(_ claims: [ClaimKey], sentAt: ContinuousClock.Instant, lease: Duration) {
        state.withLock { $0.leases.renewed(claims, sentAt: sentAt, lease: lease) }
    }

    /// True when `claim` is held with at least `margin` of its lease left at `now`.
    func mayStart(_ claim: ClaimKey, now: ContinuousClock.Instant, margin: Duration) -> Bool {
        state.withLock { $0.leases.mayStart(claim, now: now, margin: margin) }
    }

    /// Marks claims as given back to pending (shutdown): their outcomes are not recorded.
    func release(_ claims: [ClaimKey]) { state.withLock { $0.released.formUnion(claims) } }

    func isReleased(_ claim: ClaimKey) -> Bool { state.withLock { $0.released.contains(claim) } }

    /// A claim is done with; `result` counts it (nil: given back or rescheduled, uncounted).
    func finish(_ claim: ClaimKey, result: Completion.Result?) {
        state.withLock {
            $0.leases.remove(claim)
            $0.released.remove(claim)
            switch result {
            case .sent: $0.counters.sent += 1
            case .retry: $0.counters.retried += 1
            case .failed: $0.counters.failed += 1
            case nil: break
            }
        }
    }
}
