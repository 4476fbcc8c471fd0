import Foundation
import HeraldAdminAPI
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore

/// The browser console at `/console`, served by the admin listener. Each page is rendered
/// on the server from the answer of the admin API's own operation (``AdminHandler``), so
/// the console has the API's role checks, validation, confirmations and audit log, and no
/// query or rule of its own. A signed-in user acts as the principal `user NAME`.
struct Console: Sendable {
    let service: AdminService
    var api: AdminHandler { AdminHandler(service: service) }

    /// What a console route answers.
    enum Answer: Sendable {
        case page(String, status: HTTPResponse.Status = .ok)
        /// After a form: Post/Redirect/Get.
        case redirect(String)
        /// A part of a page (the live template preview).
        case fragment(String)
    }

    /// One signed-in request, as its handler sees it.
    struct Visit: Sendable {
        var html: ConsoleHTML
        var query: [String: String]
        /// The posted form's fields (empty for a GET).
        var form: [(String, String)]
        /// The path's parameters (`:id`), decoded.
        var path: [String: String] = [:]
        var principal: Principal { html.principal }
        var t: ConsoleText { html.t }

        func field(_ name: String) -> String? {
            FormBody.value(name, in: form).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        /// A field as it came (a template's text keeps its spaces).
        func raw(_ name: String) -> String? { FormBody.value(name, in: form) }
        func fields(_ name: String) -> [String] { form.filter { $0.0 == name }.map(\.1) }
        func q(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }
    }

    /// What an operation refused, as the page shows it.
    struct Refusal: Error, Sendable {
        var status: Int
        var detail: String
        /// Each problem found (a template's lint errors).
        var errors: [String] = []
    }

    /// The value of an operation's answer, or its problem thrown as a ``Refusal``.
    static func value<Output, T>(_ output: Output, _ ok: (Output) throws -> T) throws -> T {
        if let child = Mirror(reflecting: output).children.first, child.label == "default",
           let (status, problem) = child.value as? (statusCode: Int, Components.Responses.Problem) {
            let p = switch problem.body { case .applicationProblemJson(let p): p }
            throw Refusal(status: status, detail: p.detail ?? p.title, errors: p.errors ?? [])
        }
        return try ok(output)
    }

    /// Whether a path is the console's (the API's bearer tokens do not apply to it).
    static func owns(_ path: String) -> Bool { path == "/console" || path.hasPrefix("/console/") }

    /// A path the console sends a browser back to after sign-in or a language change: its
    /// own, never another site's.
    static func safeReturn(_ path: String?) -> String {
        guard let path, owns(path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""), !path.contains("//"),
              !path.contains("\\"), !path.contains("/.."), !path.lowercased().contains("%2e"), path.utf8.count <= 1000,
              !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return "/console" }
        return path
    }

    /// The headers every console response carries.
    static func secure(_ response: Response) -> Response {
        var response = response
        response.headers[.contentSecurityPolicy] = ConsoleAssets.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
        for cookie in cookies { headers.append(.init(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location]
        for cookie in cookies { headers.append(.init(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// The language: the console's cookie, else the browser's.
    static func language(_ request: Request) -> String {
        let cookie = ConsoleTokens.cookie(ConsoleTokens.languageCookie, in: request.headers[.cookie])
        if let cookie, ConsoleText.languages.contains(cookie) { return cookie }
        return HTMLPage.language(acceptLanguage: request.headers[.acceptLanguage])
    }

    /// Whether cookies must be `Secure`: the console's address is https, or a trusted proxy says so.
    func secureCookies(_ request: Request, _ context: ListenerRequestContext) -> Bool {
        if service.settings.console.secureCookies { return true }
        guard let address = context.remoteAddress?.ipAddress, service.settings.console.trustedProxies.contains(address) else { return false }
        return request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// The query's parameters (the last of a repeated name).
    static func query(_ request: Request) -> [String: String] {
        // As a form is decoded (`+` is a space: what browsers send for a GET form), not as
        // the router's query parameters (which keep `+`).
        var values: [String: String] = [:]
        let pairs = (try? FormBody.parse(Array((request.uri.query ?? "").utf8.prefix(16_384)))) ?? []
        for (name, value) in pairs { values[name] = String(value.prefix(2000)) }
        return values
    }

    /// The client's address: the connection's, or, from a proxy in `trusted_proxies`, the
    /// last address of `X-Forwarded-For` (so that failures behind a proxy are counted per
    /// client, not for everyone at once).
    func clientAddress(_ request: Request, _ context: ListenerRequestContext) -> String {
        let peer = AdminAuthMiddleware.address(context.remoteAddress)
        guard service.settings.console.trustedProxies.contains(peer),
              let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!]?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
              !forwarded.isEmpty, forwarded.utf8.count <= 64,
              forwarded.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else { return peer }
        return forwarded
    }
}
