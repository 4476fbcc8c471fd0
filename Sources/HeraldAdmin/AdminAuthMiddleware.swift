import Foundation
import HeraldCore
import HeraldHTTP
import HeraldOutbox
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime

/// In front of every route but `/healthz` (however the path is spelled: `//api/…` is not a
/// way around it): finds the bearer token's role before any body is read, slows down
/// addresses that keep failing, caps the body and its JSON nesting, and answers what the
/// generated server throws (a query or body that does not match `openapi.yaml`) as a 400
/// problem. Refusals are audited. The token itself is never logged nor echoed: only its
/// name is.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = ListenerRequestContext
    let service: AdminService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path != "/healthz" else { return try await next(request, context) }
        if Console.owns(request.uri.path) { return await console(request, context, next) }
        let address = Self.address(context.remoteAddress)
        if let until = service.throttle.blockedUntil(address) {
            // Checked: a Date far off (or not finite) must not trap the conversion.
            let wait = max(1, Int(clampingRounded: until.timeIntervalSinceNow.rounded(.up)))
            return APIProblem(429, "Too Many Requests", detail: "too many failed attempts from this address; try again in \(wait) s")
                .response(headers: [.retryAfter: String(wait)])
        }
        let token = AdminTokens.bearer(request.headers[.authorization])
        let record: AdminStore.TokenRecord?
        if let token, AdminTokens.wellFormed(token) {
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
            // Only a token that was tried counts towards slowing the address down: a request
            // with none guesses nothing (a browser on the console asks for /favicon.ico).
            if token != nil { _ = service.throttle.failed(address) }
            let why = token == nil ? "no Authorization: Bearer header" : "unknown, expired or revoked token"
            await service.audit(.init(actorKind: "anonymous", actorName: "-", role: nil, action: "\(request.method) \(Self.shown(request.uri.path))",
                                      result: "refused: \(why)", address: address))
            if token == nil {
                return APIProblem.unauthorized("an Authorization: Bearer header with a token from herald tokens create is required")
                    .response(headers: [.wwwAuthenticate: "Bearer realm=\"herald\""])
            }
            return APIProblem.unauthorized("the token is unknown, expired or revoked")
                .response(headers: [.wwwAuthenticate: "Bearer realm=\"herald\", error=\"invalid_token\""])
        }
        let principal = Principal(kind: "token", name: record.name, role: record.role)
        let response = try await AdminRequest.$principal.withValue(principal) {
            try await AdminRequest.$address.withValue(address) {
                try await AdminRequest.$path.withValue(Self.shown(request.uri.path)) { try await pass(request, context, next) }
            }
        }
        // An action refused before its handler ran (a body that does not match the API, too
        // large) is audited too.
        if request.method != .get, [400, 404, 405, 413].contains(response.status.code) {
            await service.audit(.init(actorKind: principal.kind, actorName: principal.name, role: principal.role.rawValue,
                                      action: "\(request.method) \(Self.shown(request.uri.path))",
                                      result: "refused: \(response.status.code) before the operation ran", address: address))
        }
        return response
    }

    /// A console path: its own sessions instead of tokens (``Console``), its security
    /// headers on every answer, and paths spelled to reach elsewhere refused.
    private func console(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response) async -> Response {
        let path = request.uri.path
        if path.contains("//") || path.contains("/./") || path.contains("/../") || path.hasSuffix("/.") || path.hasSuffix("/..") {
            return Console.secure(Console.html("bad path\n", status: .badRequest))
        }
        do {
            return Console.secure(try await next(request, context))
        } catch let error as HTTPError {
            return Console.secure(Console.html("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(error.status.code)</title></head>"
                                               + "<body><main><h1>\(error.status.code) \(error.status.reasonPhrase)</h1><p><a href=\"/console\">Herald</a></p></main></body></html>",
                                               status: error.status))
        } catch {
            return Console.secure(Console.html("error\n", status: .internalServerError))
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
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch {
            return APIProblem(413, "Content Too Large", detail: "the body is over \(limit) bytes").response()
        }
        if body.readableBytes == 0, request.method != .get, request.headers[.contentType] == nil {
            // No body at all: an operation whose body is optional reads it as empty JSON
            // (the transport always hands the generated code a body, never none).
            var head = request.head
            head.headerFields[.contentType] = "application/json"
            request = Request(head: head, body: .init(buffer: ByteBuffer(string: "{}")))
        } else if JSONDepth.exceeds(body.readableBytesView, limit: JSONDepth.limit) {
            // Deeply nested JSON costs the decoder seconds before any check runs.
            return APIProblem.badRequest("the JSON is nested more than \(JSONDepth.limit) levels deep").response()
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

    /// A path as the audit log shows it (capped).
    static func shown(_ path: String) -> String { String(path.prefix(200)) }

    /// The client's address as text (`-` when unknown).
    static func address(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "-"
    }
}

/// How deep a JSON document nests, by a scan of its bytes (strings skipped).
enum JSONDepth {
    /// Deeper than any request of the API needs (template data is a few levels).
    static let limit = 32

    static func exceeds<Bytes: Sequence>(_ bytes: Bytes, limit: Int) -> Bool where Bytes.Element == UInt8 {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return false
    }
}
