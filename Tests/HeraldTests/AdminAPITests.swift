import Foundation
import HeraldAdmin
import HeraldOutbox
import HeraldPostgres
import Testing

/// The admin API over TCP, against a real PostgreSQL, as the `herald_api` login: tokens and
/// roles, the failure throttle, the audit log, reads and bulk actions.
@Suite struct AdminAPITests {
    /// Every operation of openapi.yaml, with a path that exists in shape.
    static let operations: [(String, String)] = [
        ("GET", "/api/v1/status"), ("GET", "/api/v1/stats"), ("GET", "/api/v1/contacts?q=ana"), ("GET", "/api/v1/messages"), ("GET", "/api/v1/messages/1"), ("POST", "/api/v1/messages/1/retry"),
        ("POST", "/api/v1/messages/1/cancel"), ("POST", "/api/v1/messages/retry"), ("POST", "/api/v1/messages/cancel"),
        ("GET", "/api/v1/subjects/appointment/A-1"), ("GET", "/api/v1/events/1"), ("GET", "/api/v1/contacts/c-1"),
        ("POST", "/api/v1/opt-outs"), ("POST", "/api/v1/opt-ins"), ("GET", "/api/v1/replies"), ("POST", "/api/v1/replies/1/handled"),
        ("GET", "/api/v1/templates"), ("GET", "/api/v1/templates/t/sms/es"), ("PUT", "/api/v1/templates/t/sms/es"),
        ("GET", "/api/v1/templates/t/sms/es/history"), ("POST", "/api/v1/templates/preview"), ("POST", "/api/v1/templates/impact"), ("POST", "/api/v1/templates/test-send"),
        ("GET", "/api/v1/rules"), ("PATCH", "/api/v1/rules/r"), ("POST", "/api/v1/rules/bulk"), ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/x"),
    ]

    @Test func everyOperationRefusesWithoutAValidTokenAndTheRefusalsAreAudited() async throws {
        try await TestDatabase.with { db in
            try await withAdminAPI(db, configure: { $0.failuresBeforeSlowing = 1000 }) { _, api, _ in
                let missing = try await api.send(Self.operations.map { AdminPeer.Call(method: $0.0, path: $0.1, raw_body: "{}") })
                for (reply, op) in zip(missing, Self.operations) {
                    #expect(reply.status == 401, "\(op)")
                    #expect(reply.type.hasPrefix("application/problem+json"), "\(op)")
                    #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true, "\(op)")
                    #expect(reply.object["status"] as? Int == 401)
                }
                // A well-formed token nobody made, and a malformed one: 401, audited as anonymous.
                let forged = try await api.get("/api/v1/status", AdminTokens.generate())
                let malformed = try await api.get("/api/v1/status", "not-a-token")
                #expect(forged.status == 401 && malformed.status == 401)
                let audited = try await db.scalar("SELECT count(*) FROM herald.audit_log WHERE actor_kind = 'anonymous' AND result LIKE 'refused%'")
                #expect(audited == String(Self.operations.count + 2))
                // Health needs no token; any other path does, however it is spelled.
                #expect(try await api.get("/healthz", nil).status == 200)
                let sideways = try await api.send([
                    .init(method: "POST", path: "//api/v1/templates/preview", json: .init(text: #"{"key":"t","channel":"sms","locale":"es"}"#)),
                    .init(path: "/api//v1/status"), .init(path: "/"), .init(path: "/API/v1/status"),
                ])
                #expect(sideways.allSatisfy { $0.status == 401 }, "\(sideways.map(\.status))")
            }
        }
    }

    @Test func rolesBoundWhatATokenMayDoAndTheTokenNeverAppears() async throws {
        try await TestDatabase.with { db in
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data, status, last_error) VALUES ('sms', '+34600000001', 't', '{}', 'failed', 'boom')")
            try await withAdminAPI(db) { _, api, tokens in
                let replies = try await api.send([
                    .init(path: "/api/v1/status", token: tokens.viewer),
                    .init(method: "POST", path: "/api/v1/messages/1/retry", token: tokens.viewer),
                    .init(method: "PUT", path: "/api/v1/templates/t/sms/es", token: tokens.operator_, json: .init(text: #"{"body":"x"}"#)),
                    .init(method: "GET", path: "/api/v1/tokens", token: tokens.editor),
                    .init(method: "GET", path: "/api/v1/audit", token: tokens.operator_),
                    .init(method: "GET", path: "/api/v1/tokens", token: tokens.admin),
                    .init(method: "POST", path: "/api/v1/messages/1/retry", token: tokens.operator_),
                ])
                #expect(replies.map(\.status) == [200, 403, 403, 403, 403, 200, 200])
                #expect(replies[1].object["detail"] as? String == "this needs the operator role; the token's is viewer")
                #expect(replies[5].array.map { $0["name"] as? String } == ["viewer-1", "operator-1", "editor-1", "admin-1"])
                for reply in replies {
                    for token in [tokens.viewer, tokens.operator_, tokens.editor, tokens.admin] { #expect(!reply.body.contains(token)) }
                }
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "pending")
                #expect(try await db.scalar("SELECT last_error FROM herald.message WHERE id = 1") == "retried by token operator-1 (was failed: boom)")
                let audit = try await db.query("SELECT actor_name, role, action, result FROM herald.audit_log ORDER BY id").rows
                    .map { $0.map { $0 ?? "" }.joined(separator: "|") }
                #expect(Set(audit) == [
                    "viewer-1|viewer|message.retry|refused: needs operator",
                    "operator-1|operator|template.write|refused: needs editor",
                    "editor-1|editor|read /api/v1/tokens|refused: needs admin",
                    "operator-1|operator|read /api/v1/audit|refused: needs admin",
                    "operator-1|operator|message.retry|ok",
                ])
                // The audit log cannot be changed by the API's login.
                let conn = try await db.connect()
                try await conn.execute("SET ROLE herald_api")
                await #expect(throws: (any Error).self) { try await conn.execute("DELETE FROM herald.audit_log") }
                await #expect(throws: (any Error).self) { try await conn.execute("UPDATE herald.audit_log SET result = 'ok'") }
                // The API's own login may not un-revoke a token, read the link key, or record
                // consent under another source than operator.
                let apiLogin = PostgresConnection(connectionString: db.apiURL)
                try await apiLogin.connect()
                await #expect(throws: (any Error).self) { try await apiLogin.execute("UPDATE herald.api_token SET revoked_at = NULL") }
                await #expect(throws: (any Error).self) { try await apiLogin.execute("SELECT value FROM herald.secret") }
                await #expect(throws: (any Error).self) {
                    try await apiLogin.execute("INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000077', 'client')")
                }
                try await apiLogin.execute("INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000077', 'operator')")
                await apiLogin.close()
                await conn.close()
            }
        }
    }

    @Test func expiredAndRevokedTokensAreRefused() async throws {
        try await TestDatabase.with { db in
            try await withAdminAPI(db) { _, api, tokens in
                let made = try await api.post("/api/v1/tokens", tokens.admin, #"{"name":"script","role":"viewer","expires_in_days":1}"#)
                #expect(made.status == 201)
                let token = try #require(made.object["token"] as? String)
                #expect(AdminTokens.wellFormed(token))
                #expect(try await db.scalar("SELECT count(*) FROM herald.api_token WHERE encode(token_sha256, 'hex') LIKE '%' || $1 || '%'", [String(token.dropFirst(5))]) == "0")
                #expect(try await api.get("/api/v1/status", token).status == 200)
                #expect(try await api.send(.init(method: "DELETE", path: "/api/v1/tokens/script", token: tokens.admin)).status == 200)
                #expect(try await api.get("/api/v1/status", token).status == 401)
                try await db.query("UPDATE herald.api_token SET expires_at = now() - interval '1 second' WHERE name = 'viewer-1'")
                #expect(try await api.get("/api/v1/status", tokens.viewer).status == 401)
                #expect(try await api.post("/api/v1/tokens", tokens.admin, #"{"name":"script","role":"admin"}"#).status == 409)
            }
        }
    }

    @Test func repeatedFailuresFromOneAddressAreSlowedDown() async throws {
        try await TestDatabase.with { db in
            try await withAdminAPI(db) { _, api, tokens in
                // Eight wrong tokens, then a valid one at once (one client, one burst).
                let replies = try await api.send((0..<8).map { _ in AdminPeer.Call(path: "/api/v1/status", token: AdminTokens.generate()) }
                                                 + [AdminPeer.Call(path: "/api/v1/status", token: tokens.viewer)])
                #expect(replies.prefix(5).allSatisfy { $0.status == 401 })
                #expect(replies[6...7].allSatisfy { $0.status == 429 && $0.headers["retry-after"] != nil })
                // While blocked, even a valid token waits: the address is slowed, not the token.
                #expect(replies[8].status == 429)
            }
        }
    }
}
