import Foundation
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import Hummingbird
import HummingbirdCore
import NIOCore

/// The console's routes: its files, the language switch, and every page behind a session.
extension Console {
    typealias Page = @Sendable (Visit) async throws -> Answer

    func register(on router: Router<ListenerRequestContext>) {
        router.get("/console/static/console.css") { _, _ in Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("/console/static/console.js") { _, _ in Self.asset(ConsoleAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/console/language") { request, _ in
            let query = Self.query(request)
            let to = query["to"].flatMap { ConsoleText.languages.contains($0) ? $0 : nil } ?? "en"
            return Self.redirect(Self.safeReturn(query["back"]),
                                 cookies: [ConsoleTokens.setCookie(ConsoleTokens.languageCookie, to, secure: false, maxAge: 365 * 86_400)])
        }
        registerSignIn(on: router)
        let pages: [(String, Page)] = [
            ("/console", dashboard), ("/console/clients", clients), ("/console/clients/:id", client),
            ("/console/messages", messages), ("/console/messages/:id", message), ("/console/subjects/:type/:id", feed),
            ("/console/replies", replies), ("/console/templates", templates), ("/console/templates/:key/:channel/:locale", templateEditor),
            ("/console/rules", rules), ("/console/audit", audit), ("/console/users", users),
        ]
        for (path, page) in pages { router.get(RouterPath(stringLiteral: path)) { request, context in await signedIn(request, context, page) } }
        let actions: [(String, Page)] = [
            ("/console/messages/:id", messageAction), ("/console/bulk", bulk), ("/console/clients/:id", clientAction),
            ("/console/replies/:id", replyHandled), ("/console/templates/:key/:channel/:locale", templateAction),
            ("/console/rules", rulesAction), ("/console/users", usersAction),
        ]
        for (path, action) in actions { router.post(RouterPath(stringLiteral: path)) { request, context in await signedIn(request, context, action) } }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=3600"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A page or action for a signed-in user: the session from its cookie (else to the
    /// sign-in page), a form's CSRF token checked, the user as the principal the API's
    /// operations see, a refused operation shown as a page with its status.
    func signedIn(_ request: Request, _ context: ListenerRequestContext, _ page: Page) async -> Response {
        let t = ConsoleText(Self.language(request))
        let address = clientAddress(request, context)
        let here = Self.safeReturn(request.uri.path + (request.uri.query.map { "?\($0)" } ?? ""))
        guard let token = ConsoleTokens.cookie(ConsoleTokens.sessionCookie, in: request.headers[.cookie]), ConsoleTokens.wellFormed(token) else {
            return Self.redirect("/console/sign-in" + ConsoleHTML.query([("next", request.method == .get ? here : nil)]))
        }
        let session: (user: String, role: AdminRole)?
        do {
            let digest = ConsoleTokens.digest(token), idle = service.settings.console.sessionIdle
            session = try await service.database.run { try await $0.admin.session(digest: digest, idle: idle) }
        } catch {
            return Self.html(SignInPage(t: t, csrf: "").unavailable(), status: .serviceUnavailable)
        }
        guard let session else {
            return Self.redirect("/console/sign-in" + ConsoleHTML.query([("next", request.method == .get ? here : nil), ("ended", "1")]),
                                 cookies: [ConsoleTokens.setCookie(ConsoleTokens.sessionCookie, "", secure: secureCookies(request, context), maxAge: 0)])
        }
        let principal = Principal(kind: "user", name: session.user, role: session.role)
        let html = ConsoleHTML(t: t, principal: principal, csrf: ConsoleTokens.csrf(for: token), here: here, zone: service.settings.console.timeZone)
        var form: [(String, String)] = []
        if request.method == .post {
            var request = request
            guard let body = try? await request.collectBody(upTo: service.settings.maxBodyBytes),
                  let fields = try? FormBody.parse(body.readableBytesView) else {
                return Self.html(html.page(t("Not accepted"), error: t("The form could not be read (too large, or not a form)."), ""), status: .badRequest)
            }
            guard ConsoleTokens.csrfMatches(FormBody.value(ConsoleTokens.csrfField, in: fields), token: token) else {
                await service.audit(.init(actorKind: "user", actorName: principal.name, role: principal.role.rawValue,
                                          action: "POST \(AdminAuthMiddleware.shown(request.uri.path))", result: "refused: no valid CSRF token", address: address))
                return Self.html(html.page(t("Not accepted"), error: t("This form has expired or did not come from this console. Open the page again and resend it."), ""),
                                 status: .forbidden)
            }
            form = fields
        }
        var parameters: [String: String] = [:]
        for (name, value) in context.parameters { parameters[String(name)] = String(value).removingPercentEncoding ?? String(value) }
        let visit = Visit(html: html, query: Self.query(request), form: form, path: parameters)
        let answer: Answer
        do {
            answer = try await AdminRequest.$principal.withValue(principal) {
                try await AdminRequest.$address.withValue(address) {
                    try await AdminRequest.$path.withValue(AdminAuthMiddleware.shown(request.uri.path)) { try await page(visit) }
                }
            }
        } catch let refusal as Refusal {
            return Self.html(html.page(t("Not done"), error: refusal.detail, "<p>\(html.link("/console", t("Back to the dashboard")))</p>"),
                             status: .init(code: refusal.status))
        } catch {
            service.logger.error("console: a page failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Self.html(html.page(t("Not done"), error: t("Something went wrong; it is in Herald's log."), ""), status: .internalServerError)
        }
        switch answer {
        case .page(let text, let status): return Self.html(text, status: status)
        case .redirect(let location): return Self.redirect(location)
        case .fragment(let text): return Self.html(text)
        }
    }

}
