import Foundation
import HeraldAdminAPI
import HeraldOutbox
import Logging

/// The admin API's operations (`APIProtocol`, generated from `openapi.yaml`). Each checks
/// the caller's role, runs on the API's own database connections, and answers errors as
/// problem details; each action (anything but a read) is written to the audit log,
/// successful or refused, and so is every refusal.
struct AdminHandler: APIProtocol {
    let service: AdminService

    /// What an action tells the audit log besides its name.
    struct AuditNote: Sendable {
        var target: String?
        var filter: String?
        var count: Int?
    }

    /// Runs an operation for a caller with at least `role`. `action` names an action for the
    /// audit log (nil: a read, audited only when refused). `problem` builds the operation's
    /// error output.
    func serve<Output>(_ role: AdminRole, action: String?, target: String? = nil,
                       problem: (Int, Components.Schemas.Problem) -> Output,
                       _ body: (Principal, inout AuditNote) async throws -> Output) async -> Output {
        var note = AuditNote(target: target)
        guard let principal = AdminRequest.principal else {
            // The middleware lets no /api/ request through without one.
            let p = APIProblem.unauthorized("no token")
            return problem(p.status, p.schema)
        }
        let name = action ?? "read \(AdminRequest.path ?? "")"
        guard principal.role >= role else {
            let p = APIProblem.forbidden(principal.role, needs: role, kind: principal.kind)
            await record(principal, name, note, result: "refused: needs \(role.rawValue)")
            return problem(p.status, p.schema)
        }
        do {
            let output = try await body(principal, &note)
            if action != nil { await record(principal, name, note, result: "ok") }
            return output
        } catch {
            let p = APIProblem.from(error)
            if p.status >= 500 {
                service.logger.error("admin API: \(name) failed", metadata: ["error": "\(error)", "token": "\(principal.name)"])
            }
            if action != nil || p.status == 403 {
                await record(principal, name, note, result: "\(p.status >= 500 ? "failed" : "refused"): \(p.detail ?? p.title)")
            }
            return problem(p.status, p.schema)
        }
    }

    private func record(_ principal: Principal, _ action: String, _ note: AuditNote, result: String) async {
        await service.audit(.init(actorKind: principal.kind, actorName: principal.name, role: principal.role.rawValue, action: action,
                                  target: note.target, filter: note.filter, count: note.count, result: result,
                                  address: AdminRequest.address))
    }

    /// Runs `operation` on one of the API's connections.
    func db<T: Sendable>(_ operation: @escaping @Sendable (Stores) async throws -> T) async throws -> T {
        try await service.database.run(operation)
    }

    /// A page size: 1…500, 50 when not given.
    static func pageSize(_ limit: Int?) throws -> Int {
        guard let limit else { return 50 }
        guard (1...500).contains(limit) else { throw APIProblem.badRequest("limit must be from 1 to 500") }
        return limit
    }

    /// A cursor: the id the next page starts below.
    static func cursor(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        guard let id = Int64(text), id > 0 else { throw APIProblem.badRequest("cursor: not one a previous page returned") }
        return id
    }

    /// Text from a path or query, checked for length.
    static func short(_ text: String, _ name: String, max: Int = 200) throws -> String {
        guard !text.isEmpty, text.utf8.count <= max, !text.contains("\u{0}") else {
            throw APIProblem.badRequest("\(name): 1 to \(max) bytes")
        }
        return text
    }

    // MARK: Status, audit log, tokens

    func getStatus(_ input: Operations.GetStatus.Input) async throws -> Operations.GetStatus.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let s = try await db { try await $0.messages.status() }
            return .ok(.init(body: .json(.init(
                counts: s.counts.map { .init(channel: $0.channel, status: $0.status, count: $0.count) },
                oldestDueAgeSeconds: s.oldestDueAgeSeconds, failedLastHour: s.failedLastHour, schemaVersion: s.schemaVersion,
                optedOut: .init(additionalProperties: s.optedOut), inboundWaiting: s.inboundWaiting,
                eventsWaiting: s.eventsWaiting, eventsFailedLastHour: s.eventsFailedLastHour))))
        }
    }

    func listAudit(_ input: Operations.ListAudit.Input) async throws -> Operations.ListAudit.Output {
        await serve(.admin, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let limit = try Self.pageSize(input.query.limit)
            let before = try Self.cursor(input.query.cursor)
            let entries = try await db { try await $0.admin.auditLog(limit: limit, before: before) }
            return .ok(.init(body: .json(.init(
                items: entries.map {
                    .init(id: $0.id, at: $0.at, actorKind: $0.actorKind, actorName: $0.actorName, role: $0.role, action: $0.action,
                          target: $0.target, filter: $0.filter, count: $0.count, result: $0.result, address: $0.address)
                },
                nextCursor: entries.count == limit ? entries.last.map { String($0.id) } : nil))))
        }
    }

    static func tokenInfo(_ t: AdminStore.TokenRecord) -> Components.Schemas.TokenInfo {
        .init(name: t.name, role: .init(rawValue: t.role.rawValue) ?? .viewer, createdAt: t.createdAt, createdBy: t.createdBy,
              expiresAt: t.expiresAt, revokedAt: t.revokedAt, lastUsedAt: t.lastUsedAt)
    }

    func listTokens(_ input: Operations.ListTokens.Input) async throws -> Operations.ListTokens.Output {
        await serve(.admin, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            .ok(.init(body: .json(try await db { try await $0.admin.tokens() }.map(Self.tokenInfo))))
        }
    }

    func createToken(_ input: Operations.CreateToken.Input) async throws -> Operations.CreateToken.Output {
        let request = switch input.body { case .json(let body): body }
        return await serve(.admin, action: "token.create", target: request.name,
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { principal, _ in
            guard request.name.range(of: "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$", options: .regularExpression) != nil else {
                throw APIProblem(422, "Unprocessable Content", detail: "name: letters, digits and _ . @ -, 64 at most")
            }
            guard let role = AdminRole(rawValue: request.role.rawValue) else { throw APIProblem.badRequest("role") }
            var lifetime: Duration?
            if let days = request.expiresInDays {
                guard (1...3650).contains(days) else { throw APIProblem(422, "Unprocessable Content", detail: "expires_in_days: 1 to 3650") }
                lifetime = .seconds(days * 86_400)
            }
            let token = AdminTokens.generate()
            let digest = AdminTokens.digest(token)
            let expiresIn = lifetime
            let record = try await db {
                try await $0.admin.createToken(name: request.name, role: role, digest: digest, expiresIn: expiresIn, createdBy: principal.actor)
            }
            return .created(.init(body: .json(.init(token: token, info: Self.tokenInfo(record)))))
        }
    }

    func revokeToken(_ input: Operations.RevokeToken.Input) async throws -> Operations.RevokeToken.Output {
        await serve(.admin, action: "token.revoke", target: input.path.name,
                    problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let name = try Self.short(input.path.name, "name")
            guard let record = try await db({ try await $0.admin.revokeToken(name: name) }) else { throw APIProblem.notFound("token \(name)") }
            return .ok(.init(body: .json(Self.tokenInfo(record))))
        }
    }
}
