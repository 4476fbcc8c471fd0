import Foundation
import HeraldCore
import HeraldPostgres

/// A claim this worker holds: the message and the attempt the claim made.
///
/// Every lease-checked statement names both: a worker whose lease lapsed and whose
/// message was claimed again (by anyone, itself included) must not touch the newer claim.
public struct ClaimKey: Hashable, Sendable, CustomStringConvertible {
    public var id: Int64
    public var attempt: Int

    public init(id: Int64, attempt: Int) {
        self.id = id
        self.attempt = attempt
    }

    public var description: String { "\(id)#\(attempt)" }
}

extension OutboxMessage {
    /// The claim this message is.
    public var claimKey: ClaimKey { ClaimKey(id: id, attempt: attempt) }
}

/// Lease statements: renew, release, defer, expire and recover. Each checks the lease
/// (`locked_by = worker AND status = 'sending'`) and the attempt number.
extension MessageStore {
    // MARK: Scheduling outcomes (not attempts)

    /// Puts a claimed message back to `pending` until `until`, uncounted, with the reason in `last_error`.
    @discardableResult
    public func deferMessage(_ claim: ClaimKey, until: Date, reason: String) async throws -> Bool {
        let result = try await connection.query("""
            UPDATE herald.message
               SET status = 'pending', attempts = greatest(attempts - 1, 0), next_attempt_at = to_timestamp($3::float8),
                   last_error = $4, locked_by = NULL, locked_until = NULL, updated_at = now()
             WHERE id = $1::bigint AND locked_by = $2 AND status = 'sending' AND attempts = $5::int
            """, [claim.id, worker, until.timeIntervalSince1970, SafeText.clean(reason), claim.attempt])
        return result.affectedRows == 1
    }

    /// Marks a claimed message `expired` (too late to send), uncounted, with the reason.
    @discardableResult
    public func expireMessage(_ claim: ClaimKey, reason: String) async throws -> Bool {
        let result = try await connection.query("""
            UPDATE herald.message
               SET status = 'expired', attempts = greatest(attempts - 1, 0), last_error = $3,
                   locked_by = NULL, locked_until = NULL, updated_at = now()
             WHERE id = $1::bigint AND locked_by = $2 AND status = 'sending' AND attempts = $4::int
            """, [claim.id, worker, SafeText.clean(reason), claim.attempt])
        return result.affectedRows == 1
    }

    // MARK: Leases

    /// Extends the lease of claims still being worked on. Returns the claims still ours.
    public func renew(_ claims: [ClaimKey], lease: Duration) async throws -> Set<ClaimKey> {
        guard !claims.isEmpty else { return [] }
        let result = try await connection.query("""
            UPDATE herald.message m SET locked_until = now() + $3::float8 * interval '1 second'
              FROM unnest($1::bigint[], $4::int[]) AS k(id, attempt)
             WHERE m.id = k.id AND m.attempts = k.attempt AND m.locked_by = $2 AND m.status = 'sending'
            RETURNING m.id, m.attempts
            """, [PostgresArray(claims.map(\.id)), worker, lease.seconds, PostgresArray(claims.map(\.attempt))])
        return Self.claimKeys(result)
    }

    /// Returns claims to `pending` without counting the attempt (graceful shutdown, or a
    /// claim whose lease may have lapsed before it started). Returns how many were ours.
    @discardableResult
    public func release(_ claims: [ClaimKey]) async throws -> Int {
        guard !claims.isEmpty else { return 0 }
        let result = try await connection.query("""
            UPDATE herald.message m
               SET status = 'pending', attempts = greatest(m.attempts - 1, 0), next_attempt_at = now(),
                   locked_by = NULL, locked_until = NULL, updated_at = now()
              FROM unnest($1::bigint[], $3::int[]) AS k(id, attempt)
             WHERE m.id = k.id AND m.attempts = k.attempt AND m.locked_by = $2 AND m.status = 'sending'
            """, [PostgresArray(claims.map(\.id)), worker, PostgresArray(claims.map(\.attempt))])
        return result.affectedRows
    }

    static func claimKeys(_ result: PostgresResult) -> Set<ClaimKey> {
        Set(result.named.compactMap { row in
            guard let id = row.int64("id"), let attempt = row.int("attempts") else { return nil }
            return ClaimKey(id: id, attempt: attempt)
        })
    }

    /// A message whose lease expired, as recovered by ``recoverExpiredLeases(defaultMaxAttempts:limit:includeOwn:holding:)``.
    public struct Recovered: Sendable, Equatable {
        public var id: Int64
        public var previousWorker: String
        public var status: String
    }

    /// Puts back rows whose worker died (lease expired): `pending` with the attempt
    /// counted, or `failed` when that was the last attempt.
    ///
    /// A worker never takes over a lease it still tracks itself (`holding`): after an
    /// outage its rows may look expired while it still holds them in memory, and taking
    /// them back would send them twice. With `includeOwn` (startup, under the worker-id
    /// lock), every row leased to this worker id is taken back at once: a previous run
    /// with the same id left it.
    public func recoverExpiredLeases(defaultMaxAttempts: Int, limit: Int = 1000, includeOwn: Bool = false,
                                     holding: [Int64] = []) async throws -> [Recovered] {
        let result = try await connection.query("""
            WITH expired AS (
                SELECT id, locked_by AS worker, claimed_at FROM herald.message
                 WHERE status = 'sending'
                   AND ((locked_until < now() AND NOT (locked_by = $4 AND id = ANY($5::bigint[])))
                        OR ($3 AND locked_by = $4))
                 ORDER BY locked_until
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED
            ), upd AS (
                UPDATE herald.message m
                   SET status = CASE WHEN m.attempts >= coalesce(m.max_attempts, $1) THEN 'failed' ELSE 'pending' END,
                       last_error = format('lease of worker %s expired during attempt %s (worker stopped or lost its database connection)',
                                           expired.worker, m.attempts),
                       next_attempt_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now()
                  FROM expired
                 WHERE m.id = expired.id
                RETURNING m.id, m.attempts, m.status, m.last_error, expired.worker, expired.claimed_at
            ), att AS (
                INSERT INTO herald.attempt (message_id, number, started_at, finished_at, worker, outcome, error)
                SELECT id, attempts, coalesce(claimed_at, now()), now(), worker, 'lease_expired', last_error FROM upd
            )
            SELECT id, worker, status FROM upd
            """, [defaultMaxAttempts, limit, includeOwn, worker, PostgresArray(holding)])
        return result.named.compactMap { row in
            guard let id = row.int64("id") else { return nil }
            return Recovered(id: id, previousWorker: row["worker"] ?? "?", status: row["status"] ?? "?")
        }
    }

    // MARK: Worker identity

    /// Takes the session-level advisory lock on this worker id; false when another
    /// session (a daemon configured with the same `worker.id`) holds it.
    public func lockWorkerID() async throws -> Bool {
        let result = try await connection.query(
            "SELECT pg_try_advisory_lock(hashtextextended('herald.worker:' || $1, 0))", [worker])
        return result.scalarBool
    }
}
