import Foundation
import HeraldHTTP
import HeraldOutbox
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime

/// In front of every `/api/` route: caps the body, finds the bearer token's role, slows
/// down addresses that keep failing, and answers what the generated server throws (a query
/// or body that does not match `openapi.yaml`) as a 400 problem. The token itself is never
/// logged nor echoed: only its name is.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = ListenerRequestContext
    let service: AdminService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/") else { return try await pass(request, context, next) }
        let address = Self.address(context.remoteAddress)
        if let until = service.throttle.blockedUntil(address) {
            let wait = max(1, Int(until.timeIntervalSinceNow.rounded(.up)))
            return APIProblem(429, "Too Many Requests", detail: "too many failed attempts from this address; try again in \(wait) s")
                .response(headers: [.retryAfter: String(wait)])
        }
        guard let token = AdminTokens.bearer(request.headers[.authorization]) else {
            return APIProblem.unauthorized("an Authorization: Bearer header with a token from herald tokens create is required")
                .response(headers: [.wwwAuthenticate: "Bearer realm=\"herald\""])
        }
        let record: AdminStore.TokenRecord?
        if AdminTokens.wellFormed(token) {
            let digest = AdminTokens.digest(token)
            do {
                record = try await service.database.run { try await $0.admin.validToken(digest: digest) }
            } catch {
                return APIProblem.from(error).response()
            }
        } else {
            record = nil
        }
        guard let record else {
            _ = service.throttle.failed(address)
            await service.audit(.init(actorKind: "anonymous", actorName: "-", role: nil, action: "\(request.method) \(request.uri.path)",
                                      result: "refused: unknown, expired or revoked token", address: address))
            return APIProblem.unauthorized("the token is unknown, expired or revoked")
                .response(headers: [.wwwAuthenticate: "Bearer realm=\"herald\", error=\"invalid_token\""])
        }
        let principal = Principal(kind: "token", name: record.name, role: record.role)
        return try await AdminRequest.$principal.withValue(principal) {
            try await AdminRequest.$address.withValue(address) { try await pass(request, context, next) }
        }
    }

    /// Calls the route with the body collected up to the limit; maps what the routing and
    /// the generated code throw to problems.
    private func pass(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let limit = service.settings.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            return APIProblem(413, "Content Too Large", detail: "the body is over \(limit) bytes").response()
        }
        do {
            _ = try await request.collectBody(upTo: limit)
        } catch {
            return APIProblem(413, "Content Too Large", detail: "the body is over \(limit) bytes").response()
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let title = error.status.reasonPhrase
            return APIProblem(Int(error.status.code), title.isEmpty ? "Error" : title,
                              detail: error.status.code == 404 ? "no such path in the admin API (see openapi.yaml)" : nil).response()
        } catch let error as ServerError {
            // The generated code could not decode the request: it does not match the API.
            return APIProblem.badRequest("the request does not match the API: \(Self.reason(error))").response()
        }
    }

    /// The decoding error in words, without echoing request values at length.
    static func reason(_ error: ServerError) -> String {
        String(describing: error.underlyingError).prefix(300).description
    }

    /// The client's address as text (`-` when unknown).
    static func address(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "-"
    }
}
