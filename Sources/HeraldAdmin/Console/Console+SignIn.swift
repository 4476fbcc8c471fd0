import Foundation
import HeraldCore
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import Hummingbird
import HummingbirdCore

/// The sign-in page (before any session: its form's CSRF token is bound to a cookie of its
/// own) and sign-out. Wrong names and passwords count as the API's failed tokens do: the
/// address is slowed down, and each try is in the audit log.
struct SignInPage: Sendable {
    let t: ConsoleText
    let csrf: String

    func page(name: String? = nil, next: String? = nil, error: String? = nil, notice: String? = nil) -> String {
        let h = ConsoleHTML.h
        let status = (notice.map { "<p class=\"notice\" role=\"status\">\(h($0))</p>" } ?? "") + (error.map { "<p class=\"error\" role=\"alert\">\(h($0))</p>" } ?? "")
        return """
            <!DOCTYPE html>
            <html lang="\(t.language)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
            <meta name="robots" content="noindex"><title>\(h(t("Sign in"))) · Herald</title><link rel="stylesheet" href="/console/static/console.css"></head>
            <body><header><nav aria-label="\(h(t("Language")))"><strong>Herald</strong>\
            \(ConsoleText.languages.map { "<a href=\"/console/language?to=\($0)&amp;back=/console/sign-in\" lang=\"\($0)\">\(ConsoleText.names[$0] ?? $0)</a>" }.joined())\
            </nav></header>
            <main id="main"><h1>\(h(t("Sign in")))</h1>\(status)
            <form method="post" action="/console/sign-in" aria-label="\(h(t("Sign in")))">\
            <input type="hidden" name="\(ConsoleTokens.csrfField)" value="\(csrf)"><input type="hidden" name="next" value="\(h(next ?? "/console"))">\
            <label for="f-name">\(h(t("Name")))</label><input id="f-name" name="name" autocomplete="username" required value="\(h(name ?? ""))">\
            <label for="f-password">\(h(t("Password")))</label><input id="f-password" name="password" type="password" autocomplete="current-password" required>\
            <p><button type="submit">\(h(t("Sign in")))</button></p></form></main></body></html>
            """
    }

    func unavailable() -> String { page(error: t("The database does not answer just now; try again in a moment.")) }
}

extension Console {
    func registerSignIn(on router: Router<ListenerRequestContext>) {
        router.get("/console/sign-in") { request, context in
            let t = ConsoleText(Self.language(request))
            let query = Self.query(request)
            let pre = ConsoleTokens.generate()
            let notice = query["ended"] == "1" ? t("Your session has ended; sign in again.") : query["out"] == "1" ? t("You are signed out.") : nil
            return Self.html(SignInPage(t: t, csrf: ConsoleTokens.csrf(for: pre)).page(next: Self.safeReturn(query["next"]), notice: notice),
                             cookies: [ConsoleTokens.setCookie(ConsoleTokens.signInCookie, pre, secure: secureCookies(request, context), maxAge: 3600)])
        }
        router.post("/console/sign-in") { request, context in await signIn(request, context) }
        router.post("/console/sign-out") { request, context in await signOut(request, context) }
    }

    private func signIn(_ request: Request, _ context: ListenerRequestContext) async -> Response {
        var request = request
        let t = ConsoleText(Self.language(request))
        let address = clientAddress(request, context)
        let secure = secureCookies(request, context)
        // A fresh form (and cookie) with every answer.
        let pre = ConsoleTokens.generate()
        let preCookie = ConsoleTokens.setCookie(ConsoleTokens.signInCookie, pre, secure: secure, maxAge: 3600)
        let page = SignInPage(t: t, csrf: ConsoleTokens.csrf(for: pre))
        if let until = service.throttle.blockedUntil(address) {
            let wait = max(1, Int(clampingRounded: until.timeIntervalSinceNow.rounded(.up)))
            var response = Self.html(page.page(error: t("Too many failed sign-ins from this address; try again in {0} s.", String(wait))),
                                     status: .tooManyRequests, cookies: [preCookie])
            response.headers[.retryAfter] = String(wait)
            return response
        }
        guard let body = try? await request.collectBody(upTo: 16 << 10), let form = try? FormBody.parse(body.readableBytesView) else {
            return Self.html(page.page(error: t("The form could not be read (too large, or not a form).")), status: .badRequest, cookies: [preCookie])
        }
        let next = Self.safeReturn(FormBody.value("next", in: form))
        guard let cookie = ConsoleTokens.cookie(ConsoleTokens.signInCookie, in: request.headers[.cookie]),
              ConsoleTokens.csrfMatches(FormBody.value(ConsoleTokens.csrfField, in: form), token: cookie) else {
            return Self.html(page.page(next: next, error: t("This form has expired or did not come from this console. Open the page again and resend it.")),
                             status: .forbidden, cookies: [preCookie])
        }
        let name = String((FormBody.value("name", in: form) ?? "").trimmingCharacters(in: .whitespaces).prefix(64))
        let password = FormBody.value("password", in: form) ?? ""
        let credentials: (role: AdminRole, hash: String)?
        let ok: Bool
        do {
            credentials = name.isEmpty ? nil : try await service.database.run { try await $0.admin.credentials(name: name) }
            ok = try await service.hasher.verify(password, hash: credentials?.hash)
        } catch is PasswordHasher.Busy {
            return Self.html(page.page(name: name, next: next, error: t("Too many sign-ins at once; try again in a moment.")),
                             status: .serviceUnavailable, cookies: [preCookie])
        } catch {
            return Self.html(page.unavailable(), status: .serviceUnavailable, cookies: [preCookie])
        }
        guard ok, let credentials else {
            _ = service.throttle.failed(address)
            await service.audit(.init(actorKind: "anonymous", actorName: SafeText.clean(name.isEmpty ? "-" : name, limit: 64), role: nil, action: "console.sign_in",
                                      result: "refused: wrong name or password", address: address))
            return Self.html(page.page(name: name, next: next, error: t("Wrong name or password.")), status: .unauthorized, cookies: [preCookie])
        }
        let token = ConsoleTokens.generate()
        let digest = ConsoleTokens.digest(token), lifetime = service.settings.console.sessionLifetime
        let opened: Bool
        do {
            opened = try await service.database.run {
                try await $0.admin.startSession(digest: digest, user: name, role: credentials.role, passwordHash: credentials.hash,
                                                lifetime: lifetime, address: address)
            }
        } catch {
            return Self.html(page.unavailable(), status: .serviceUnavailable, cookies: [preCookie])
        }
        guard opened else {
            // The role or password changed while the password was being checked.
            return Self.html(page.page(name: name, next: next, error: t("Wrong name or password.")), status: .unauthorized, cookies: [preCookie])
        }
        await service.audit(.init(actorKind: "user", actorName: name, role: credentials.role.rawValue, action: "console.sign_in", result: "ok", address: address))
        return Self.redirect(next, cookies: [
            ConsoleTokens.setCookie(ConsoleTokens.sessionCookie, token, secure: secure, maxAge: Int(lifetime.components.seconds)),
            ConsoleTokens.setCookie(ConsoleTokens.signInCookie, "", secure: secure, maxAge: 0),
        ])
    }

    private func signOut(_ request: Request, _ context: ListenerRequestContext) async -> Response {
        var request = request
        let secure = secureCookies(request, context)
        let cleared = ConsoleTokens.setCookie(ConsoleTokens.sessionCookie, "", secure: secure, maxAge: 0)
        guard let token = ConsoleTokens.cookie(ConsoleTokens.sessionCookie, in: request.headers[.cookie]), ConsoleTokens.wellFormed(token) else {
            return Self.redirect("/console/sign-in", cookies: [cleared])
        }
        guard let body = try? await request.collectBody(upTo: 16 << 10), let form = try? FormBody.parse(body.readableBytesView),
              ConsoleTokens.csrfMatches(FormBody.value(ConsoleTokens.csrfField, in: form), token: token) else {
            let t = ConsoleText(Self.language(request))
            return Self.html(SignInPage(t: t, csrf: "").page(error: t("This form has expired or did not come from this console. Open the page again and resend it.")),
                             status: .forbidden)
        }
        let digest = ConsoleTokens.digest(token)
        let session = try? await service.database.run { s in
            let who = try await s.admin.session(digest: digest, idle: .seconds(365 * 86_400))
            try await s.admin.endSession(digest: digest)
            return who
        }
        if let who = session ?? nil {
            await service.audit(.init(actorKind: "user", actorName: who.user, role: who.role.rawValue, action: "console.sign_out", result: "ok",
                                      address: AdminAuthMiddleware.address(context.remoteAddress)))
        }
        return Self.redirect("/console/sign-in?out=1", cookies: [cleared])
    }
}
