import HeraldCore
import HeraldPostgres

/// The last look before a driver is called.
extension MessageStore {
    /// What the look just before sending found for one claim.
    public enum Clearance: Sendable, Equatable {
        /// Still ours, and nothing stands in the way: hand it to the driver.
        case clear
        /// Its recipient opted out (or its contact's preference or consent changed) since it
        /// was claimed: it is now `suppressed` with this reason, uncounted.
        case blocked(String)
        /// No longer ours (the lease was taken over, or ran out: then it is back to pending,
        /// uncounted): not to be sent by this worker.
        case lost
    }

    /// Checks claims just before their drivers are called, with the same rule as the claim
    /// (``blockSQL(_:)``), and suppresses in the same statement those that may no longer go.
    /// An opt-out committed after the claim, while the message waited for a delivery slot or
    /// a rate limit, is seen here. One statement for all the claims given.
    public func clearForSending(_ claims: [ClaimKey]) async throws -> [ClaimKey: Clearance] {
        guard !claims.isEmpty else { return [:] }
        let result = try await connection.query(Self.clearSQL, [
            PostgresArray(claims.map(\.id)), PostgresArray(claims.map(\.attempt)), worker,
        ])
        var found: [Int64: String?] = [:]
        for row in result.named {
            guard let id = row.int64("id") else { continue }
            found[id] = row["blocked"]
        }
        var out: [ClaimKey: Clearance] = [:]
        for claim in claims {
            switch found[claim.id] {
            case .none: out[claim] = .lost
            case .some(.none): out[claim] = .clear
            case .some(.some(let reason)): out[claim] = .blocked(reason)
            }
        }
        return out
    }

    /// Rows found by primary key (`(SELECT 'sending'::text)`: never by scanning the lease
    /// index, as in the completion); a claim whose lease has run out by the database's
    /// clock is no longer ours and is given back to pending, uncounted; a blocked one is
    /// suppressed only while still ours.
    static let clearSQL = """
        WITH k AS (
            SELECT * FROM unnest($1::bigint[], $2::int[]) AS k(id, attempt)
        ), chk AS (
            SELECT m.id, \(blockSQL("m")) AS blocked
              FROM k JOIN herald.message m ON m.id = k.id
             WHERE m.attempts = k.attempt AND m.locked_by = $3 AND m.status = (SELECT 'sending'::text) AND m.locked_until > now()
        ), sup AS (
            UPDATE herald.message m
               SET status = 'suppressed', attempts = greatest(m.attempts - 1, 0), last_error = chk.blocked,
                   locked_by = NULL, locked_until = NULL, updated_at = now()
              FROM chk
             WHERE m.id = chk.id AND chk.blocked IS NOT NULL AND m.locked_by = $3 AND m.status = (SELECT 'sending'::text)
            RETURNING m.id
        ), back AS (
            -- Still ours but its lease ran out (the database was unreachable for a while):
            -- given back uncounted, as a lapsed claim is, rather than left to lease recovery.
            UPDATE herald.message m
               SET status = 'pending', attempts = greatest(m.attempts - 1, 0), next_attempt_at = now(),
                   locked_by = NULL, locked_until = NULL, updated_at = now()
              FROM k
             WHERE m.id = k.id AND m.attempts = k.attempt AND m.locked_by = $3 AND m.status = (SELECT 'sending'::text)
               AND m.locked_until <= now()
            RETURNING m.id
        )
        SELECT chk.id, chk.blocked FROM chk
         WHERE chk.blocked IS NULL OR chk.id IN (SELECT id FROM sup)
        """
}
