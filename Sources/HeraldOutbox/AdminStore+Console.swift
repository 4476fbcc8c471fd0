import Foundation
import HeraldCore
import HeraldPostgres

/// The console's users and sessions, its search for a client and its dashboard's figures.
extension AdminStore {
    /// A console user (never the password's hash, but to check a sign-in).
    public struct UserRecord: Sendable, Equatable {
        public var name: String
        public var role: AdminRole
        public var createdAt: Date
        public var createdBy: String
        public var lastSignInAt: Date?
    }

    static let userColumns = """
        name, role, extract(epoch FROM created_at)::float8 AS created_at, created_by,
        extract(epoch FROM last_sign_in_at)::float8 AS last_sign_in_at
        """

    static func decodeUser(_ row: NamedRow) -> UserRecord? {
        guard let name = row["name"], let role = row["role"].flatMap(AdminRole.init(rawValue:)) else { return nil }
        return UserRecord(name: name, role: role, createdAt: Self.date(row, "created_at"), createdBy: row["created_by"] ?? "",
                          lastSignInAt: row.epoch("last_sign_in_at"))
    }

    /// Adds a user with a bcrypt hash. Throws ``AdminStoreError/duplicateUser`` when the name is taken.
    public func createUser(name: String, role: AdminRole, passwordHash: String, createdBy: String? = nil) async throws -> UserRecord {
        do {
            let rows = try await connection.query("""
                INSERT INTO herald.console_user (name, role, password_hash, created_by) VALUES ($1, $2, $3, coalesce($4, session_user))
                RETURNING \(Self.userColumns)
                """, [name, role.rawValue, passwordHash, createdBy.map { SafeText.clean($0, limit: 200) }])
            guard let user = rows.named.first.flatMap(Self.decodeUser) else { throw AdminStoreError.notFound("user \(name)") }
            return user
        } catch let error as PostgresError where error.sqlState == "23505" {
            throw AdminStoreError.duplicateUser(name)
        }
    }

    /// Every user, by name.
    public func users() async throws -> [UserRecord] {
        try await connection.query("SELECT \(Self.userColumns) FROM herald.console_user ORDER BY name").named.compactMap(Self.decodeUser)
    }

    /// A user's role and password hash, to check a sign-in; nil when there is no such user.
    public func credentials(name: String) async throws -> (role: AdminRole, hash: String)? {
        guard let row = try await connection.query("SELECT role, password_hash FROM herald.console_user WHERE name = $1", [name]).named.first,
              let role = row["role"].flatMap(AdminRole.init(rawValue:)), let hash = row["password_hash"] else { return nil }
        return (role, hash)
    }

    /// Changes a user's role or password (either nil: unchanged); their sessions end.
    /// Nil when there is no such user.
    public func changeUser(name: String, role: AdminRole?, passwordHash: String?) async throws -> UserRecord? {
        try await connection.query("""
            UPDATE herald.console_user SET role = coalesce($2, role), password_hash = coalesce($3, password_hash)
             WHERE name = $1 RETURNING \(Self.userColumns)
            """, [name, role?.rawValue, passwordHash]).named.first.flatMap(Self.decodeUser)
    }

    /// Removes a user and their sessions; false when there was none.
    public func removeUser(name: String) async throws -> Bool {
        try await connection.query("DELETE FROM herald.console_user WHERE name = $1 RETURNING name", [name]).named.isEmpty == false
    }

    /// Opens a session for `user` with the role and password hash read when the password
    /// was checked, and forgets expired ones. False (no session) when the user's role or
    /// password changed, or the user went, while the password was being checked.
    public func startSession(digest: [UInt8], user: String, role: AdminRole, passwordHash: String, lifetime: Duration, address: String?) async throws -> Bool {
        try await connection.query("DELETE FROM herald.console_session WHERE expires_at < now()")
        let opened = try await connection.query("""
            INSERT INTO herald.console_session (token_sha256, user_name, role, expires_at, address)
            SELECT decode($1, 'hex'), u.name, u.role, now() + make_interval(secs => $4::float8), $5
              FROM herald.console_user u WHERE u.name = $2 AND u.role = $3 AND u.password_hash = $6
            RETURNING user_name
            """, [Self.hex(digest), user, role.rawValue, Double(lifetime.components.seconds), address.map { SafeText.clean($0, limit: 100) }, passwordHash]).named
        guard !opened.isEmpty else { return false }
        try await connection.query("UPDATE herald.console_user SET last_sign_in_at = now() WHERE name = $1", [user])
        return true
    }

    /// The user and role of a live session (not expired, not idle longer than `idle`, its
    /// user's role unchanged since), noting its use; nil otherwise.
    public func session(digest: [UInt8], idle: Duration) async throws -> (user: String, role: AdminRole)? {
        guard let row = try await connection.query("""
            UPDATE herald.console_session s SET last_seen_at = now()
              FROM herald.console_user u
             WHERE s.token_sha256 = decode($1, 'hex') AND u.name = s.user_name AND u.role = s.role
               AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => $2::float8)
            RETURNING s.user_name, s.role
            """, [Self.hex(digest), Double(idle.components.seconds)]).named.first,
              let user = row["user_name"], let role = row["role"].flatMap(AdminRole.init(rawValue:)) else { return nil }
        return (user, role)
    }

    /// Ends a session (sign-out).
    public func endSession(digest: [UInt8]) async throws {
        try await connection.query("DELETE FROM herald.console_session WHERE token_sha256 = decode($1, 'hex')", [Self.hex(digest)])
    }

    // MARK: Finding a client

    /// A client found by a search.
    public struct ContactHit: Sendable, Equatable {
        public var id: String
        public var name, email, phone: String?
    }

    /// Clients whose name contains `text` (any case), whose email starts with it, or whose
    /// phone ends with its digits (6 at least), or whose id is it; at most `limit`, by name.
    public func searchContacts(_ text: String, limit: Int) async throws -> [ContactHit] {
        let digits = text.filter(\.isASCII).filter(\.isNumber)
        return try await connection.query("""
            SELECT id, name, email, phone FROM (
                SELECT * FROM herald.contact WHERE id = $1
                UNION SELECT * FROM herald.contact WHERE name IS NOT NULL AND lower(name) LIKE '%' || $2 || '%'
                UNION SELECT * FROM herald.contact WHERE email IS NOT NULL AND lower(email) LIKE $2 || '%'
                UNION SELECT * FROM herald.contact WHERE $3::text IS NOT NULL AND phone IS NOT NULL
                         AND reverse(regexp_replace(phone, '[^0-9]', '', 'g')) LIKE reverse($3::text) || '%'
            ) c ORDER BY lower(coalesce(name, id)), id LIMIT $4
            """, [text, Self.likeEscaped(text.lowercased()), digits.count >= 6 ? String(digits) : nil, limit]).named.map {
            ContactHit(id: $0["id"] ?? "", name: $0["name"], email: $0["email"], phone: $0["phone"])
        }
    }

    /// `text` with LIKE's wildcards taken literally.
    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    // MARK: The dashboard

    /// Messages finished in one hour.
    public struct HourCounts: Sendable, Equatable {
        public var hour: Date
        public var sent = 0, failed = 0, undelivered = 0
    }

    /// Sent (or delivered), failed and undelivered messages per hour over the last `hours`,
    /// every hour present (zeros included), oldest first.
    public func finishedPerHour(hours: Int) async throws -> [HourCounts] {
        let rows = try await connection.query("""
            WITH hours AS (
                SELECT generate_series(date_trunc('hour', now()) - make_interval(hours => $1::int - 1), date_trunc('hour', now()), interval '1 hour') AS hour
            ), finished AS (
                SELECT date_trunc('hour', updated_at) AS hour, status, count(*) AS n FROM herald.message
                 WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'expired', 'suppressed')
                   AND status IN ('sent', 'delivered', 'undelivered', 'failed')
                   AND updated_at >= date_trunc('hour', now()) - make_interval(hours => $1::int - 1)
                 GROUP BY 1, 2
            )
            SELECT extract(epoch FROM h.hour)::float8 AS hour,
                   coalesce(sum(n) FILTER (WHERE status IN ('sent', 'delivered')), 0) AS sent,
                   coalesce(sum(n) FILTER (WHERE status = 'failed'), 0) AS failed,
                   coalesce(sum(n) FILTER (WHERE status = 'undelivered'), 0) AS undelivered
              FROM hours h LEFT JOIN finished f ON f.hour = h.hour GROUP BY h.hour ORDER BY h.hour
            """, [max(1, min(hours, 24 * 31))]).named
        return rows.map {
            HourCounts(hour: Self.date($0, "hour"), sent: $0.int("sent") ?? 0, failed: $0.int("failed") ?? 0, undelivered: $0.int("undelivered") ?? 0)
        }
    }

    /// The commonest reasons messages failed or went undelivered in the last `hours`
    /// (numbers folded, so "attempt 3" and "attempt 4" count as one), at most `limit`.
    public func topFailureReasons(hours: Int, limit: Int) async throws -> [(reason: String, count: Int)] {
        try await connection.query("""
            SELECT left(regexp_replace(coalesce(last_error, status), '[0-9]+', 'N', 'g'), 160) AS reason, count(*) AS n
              FROM herald.message
             WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'expired', 'suppressed')
               AND status IN ('failed', 'undelivered')
               AND updated_at >= now() - make_interval(hours => $1::int)
             GROUP BY 1 ORDER BY n DESC, reason LIMIT $2
            """, [max(1, min(hours, 24 * 31)), max(1, min(limit, 50))]).named.map { ($0["reason"] ?? "", $0.int("n") ?? 0) }
    }
}
