import Foundation
import HeraldCore
import HeraldPostgres

/// What the admin API reads and writes beyond the other stores: its tokens, the audit log,
/// message searches and bulk actions, a contact's page, replies, template versions and rule
/// changes. One of Herald's ``Stores``; the API's login (`herald_api`) may run all of it.
public struct AdminStore: Sendable {
    public let connection: PostgresConnection
    public init(connection: PostgresConnection) { self.connection = connection }
}

/// An admin API role: each includes the ones before it.
public enum AdminRole: String, Sendable, CaseIterable, Codable, Comparable {
    /// Reads everything but tokens and the audit log.
    case viewer
    /// Also retries, cancels, changes opt-outs, marks replies handled.
    case `operator`
    /// Also changes templates and rules.
    case editor
    /// Also manages tokens and reads the audit log.
    case admin

    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: AdminRole, b: AdminRole) -> Bool { a.rank < b.rank }
}

// MARK: Tokens

extension AdminStore {
    /// A token's record (never the token itself).
    public struct TokenRecord: Sendable, Equatable {
        public var name: String
        public var role: AdminRole
        public var createdAt: Date
        public var createdBy: String
        public var expiresAt: Date?
        public var revokedAt: Date?
        public var lastUsedAt: Date?
    }

    static let tokenColumns = """
        name, role, extract(epoch FROM created_at)::float8 AS created_at, created_by,
        extract(epoch FROM expires_at)::float8 AS expires_at, extract(epoch FROM revoked_at)::float8 AS revoked_at,
        extract(epoch FROM last_used_at)::float8 AS last_used_at
        """

    static func decodeToken(_ row: NamedRow) -> TokenRecord? {
        guard let name = row["name"], let role = row["role"].flatMap(AdminRole.init(rawValue:)) else { return nil }
        return TokenRecord(name: name, role: role, createdAt: row.epoch("created_at") ?? Date(timeIntervalSince1970: 0),
                           createdBy: row["created_by"] ?? "", expiresAt: row.epoch("expires_at"),
                           revokedAt: row.epoch("revoked_at"), lastUsedAt: row.epoch("last_used_at"))
    }

    /// Stores a new token's digest. Throws ``AdminStoreError/duplicateName`` when the name is taken.
    public func createToken(name: String, role: AdminRole, digest: [UInt8], expiresIn: Duration?, createdBy: String? = nil) async throws -> TokenRecord {
        let seconds = expiresIn.map { Double($0.components.seconds) }
        do {
            let rows = try await connection.query("""
                INSERT INTO herald.api_token (name, role, token_sha256, expires_at, created_by)
                VALUES ($1, $2, decode($3, 'hex'), CASE WHEN $4::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $4::float8) END,
                        coalesce($5, session_user))
                RETURNING \(Self.tokenColumns)
                """, [name, role.rawValue, Self.hex(digest), seconds, createdBy.map { SafeText.clean($0, limit: 200) }])
            guard let record = rows.named.first.flatMap(Self.decodeToken) else { throw AdminStoreError.notFound("token \(name)") }
            return record
        } catch let error as PostgresError where error.sqlState == "23505" {
            throw AdminStoreError.duplicateName(name)
        }
    }

    /// Every token, oldest first.
    public func tokens() async throws -> [TokenRecord] {
        try await connection.query("SELECT \(Self.tokenColumns) FROM herald.api_token ORDER BY id").named.compactMap(Self.decodeToken)
    }

    /// Revokes token `name`; nil when there is none. Revoking twice keeps the first time.
    public func revokeToken(name: String) async throws -> TokenRecord? {
        try await connection.query("SELECT \(Self.tokenColumns) FROM herald.api_token_revoke($1)", [name]).named.first.flatMap(Self.decodeToken)
    }

    /// The token whose SHA-256 is `digest`, if it is valid now (not expired, not revoked);
    /// notes its use at most once a minute (`herald.api_token_check`).
    public func validToken(digest: [UInt8]) async throws -> TokenRecord? {
        try await connection.query("""
            SELECT name, role, extract(epoch FROM created_at)::float8 AS created_at, created_by,
                   extract(epoch FROM expires_at)::float8 AS expires_at, extract(epoch FROM revoked_at)::float8 AS revoked_at,
                   extract(epoch FROM last_used_at)::float8 AS last_used_at
              FROM herald.api_token_check(decode($1, 'hex'))
            """, [Self.hex(digest)]).named.first.flatMap(Self.decodeToken)
    }

    /// The key bulk confirmations are signed with (`herald.admin_confirm_key`: made by the first to ask).
    public func confirmKey(generated: String) async throws -> String {
        guard let key = try await connection.query("SELECT herald.admin_confirm_key($1)", [generated]).scalar else {
            throw AdminStoreError.notFound("confirmation key")
        }
        return key
    }

    /// Records a bulk confirmation as used; false when it was used before.
    public func useConfirmation(_ signature: String) async throws -> Bool {
        try await connection.query("DELETE FROM herald.api_confirmation WHERE used_at < now() - interval '1 day'")
        return try await connection.query(
            "INSERT INTO herald.api_confirmation (signature) VALUES ($1) ON CONFLICT DO NOTHING", [signature]).affectedRows == 1
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.hexString }
}

// MARK: Audit

extension AdminStore {
    /// One row of `herald.audit_log`.
    public struct AuditEntry: Sendable, Equatable {
        public var id: Int64 = 0
        public var at: Date = Date()
        /// `token`, `user` or `anonymous` (a request without a valid token).
        public var actorKind: String
        public var actorName: String
        public var role: String?
        public var action: String
        public var target: String?
        /// The filter of a bulk action, as JSON text.
        public var filter: String?
        public var count: Int?
        /// `ok`, `refused: …` or `failed: …`.
        public var result: String
        public var address: String?

        public init(actorKind: String, actorName: String, role: String?, action: String, target: String? = nil,
                    filter: String? = nil, count: Int? = nil, result: String, address: String? = nil) {
            self.actorKind = actorKind
            self.actorName = actorName
            self.role = role
            self.action = action
            self.target = target
            self.filter = filter
            self.count = count
            self.result = result
            self.address = address
        }
    }

    /// Appends an entry (texts capped, so that no input makes the write fail).
    public func audit(_ e: AuditEntry) async throws {
        func cap(_ s: String?, _ n: Int) -> String? { s.map { SafeText.clean($0, limit: n) } }
        try await connection.query("""
            INSERT INTO herald.audit_log (actor_kind, actor_name, role, action, target, filter, count, result, address)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)
            """, [e.actorKind, cap(e.actorName, 200) ?? "", e.role, cap(e.action, 100) ?? "", cap(e.target, 500),
                  e.filter, e.count, cap(e.result, 1000) ?? "", cap(e.address, 100)])
    }

    /// The newest entries before id `before` (nil: the newest).
    public func auditLog(limit: Int, before: Int64?) async throws -> [AuditEntry] {
        try await connection.query("""
            SELECT id, extract(epoch FROM at)::float8 AS at, actor_kind, actor_name, role, action, target, filter::text AS filter,
                   count, result, address
              FROM herald.audit_log WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2
            """, [before, limit]).named.map { r in
            var e = AuditEntry(actorKind: r["actor_kind"] ?? "", actorName: r["actor_name"] ?? "", role: r["role"], action: r["action"] ?? "",
                               target: r["target"], filter: r["filter"], count: r.int("count"), result: r["result"] ?? "", address: r["address"])
            e.id = r.int64("id") ?? 0
            e.at = r.epoch("at") ?? Date(timeIntervalSince1970: 0)
            return e
        }
    }
}

/// Why an admin statement was refused, in words an API client can show.
public enum AdminStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case duplicateName(String)
    case duplicateUser(String)
    case notFound(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .duplicateName(let name): return "a token named \(name) exists already"
        case .duplicateUser(let name): return "a console user named \(name) exists already"
        case .notFound(let what): return "no \(what)"
        case .invalid(let why): return why
        }
    }
}
