import HeraldOutbox

/// The worker's own record of the leases it holds: each claim (message and attempt) with
/// the latest instant its lease is sure to last, by the worker's clock.
///
/// The deadline is measured from just before the statement that set the lease (claim or
/// renew), so it is never later than the database's `locked_until`. A claim whose deadline
/// is near is not started: during a database outage renewals fail, and a message started
/// after its lease lapsed could be taken over and sent twice.
struct LeaseBook {
    private var deadlines: [ClaimKey: ContinuousClock.Instant] = [:]

    var count: Int { deadlines.count }
    var isEmpty: Bool { deadlines.isEmpty }
    var claims: [ClaimKey] { Array(deadlines.keys) }
    var ids: [Int64] { deadlines.keys.map(\.id) }

    func contains(_ claim: ClaimKey) -> Bool { deadlines[claim] != nil }

    /// Claims (or renewals) made by a statement sent at `sentAt`, for `lease`.
    mutating func hold(_ claims: some Sequence<ClaimKey>, sentAt: ContinuousClock.Instant, lease: Duration) {
        for claim in claims { deadlines[claim] = sentAt + lease }
    }

    /// Renewals that succeeded: only claims still held are extended (one finished meanwhile stays gone).
    mutating func renewed(_ claims: some Sequence<ClaimKey>, sentAt: ContinuousClock.Instant, lease: Duration) {
        for claim in claims where deadlines[claim] != nil { deadlines[claim] = sentAt + lease }
    }

    mutating func remove(_ claim: ClaimKey) { deadlines[claim] = nil }

    /// True when `claim` is held with at least `margin` of its lease left at `now`.
    func mayStart(_ claim: ClaimKey, now: ContinuousClock.Instant, margin: Duration) -> Bool {
        guard let deadline = deadlines[claim] else { return false }
        return deadline - now >= margin
    }
}
