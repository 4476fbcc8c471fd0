import HeraldCore
import HeraldInbound
import HeraldOutbox
import Hummingbird

/// `GET|POST /unsubscribe/{token}`: one-click unsubscribe (RFC 8058). `POST` (what a mail
/// client sends with `List-Unsubscribe=One-Click`, and what the page's button sends) opts
/// the address out at once; `GET` only shows a page with that button, because mail
/// scanners fetch links. A token that does not verify is refused with a page saying so.
struct UnsubscribeRoutes: Sendable {
    let listener: HTTPListener

    func add(to router: Router<ListenerRequestContext>) {
        let path = RouterPath(stringLiteral: ListenerSettings.Path.unsubscribe + "/:token")
        router.get(path) { request, context in try await handle(request, token: context.parameters.get("token"), act: false) }
        router.post(path) { request, context in try await handle(request, token: context.parameters.get("token"), act: true) }
    }

    private func handle(_ request: Request, token: String?, act: Bool) async throws -> Response {
        let page = UnsubscribePage(language: UnsubscribePage.language(acceptLanguage: request.headers[.acceptLanguage]))
        if act, try await listener.body(of: request) == nil {
            listener.count("unsubscribe", "too_large")
            return HTTPListener.respond(.contentTooLarge, "request body too large\n")
        }
        guard let key = listener.unsubscribeKey, let token,
              let content = UnsubscribeToken.verify(token, key: key) else {
            listener.count("unsubscribe", "invalid")
            return HTTPListener.respond(.badRequest, page.invalid(), type: UnsubscribePage.contentType)
        }
        guard act else {
            listener.count("unsubscribe", "page")
            return HTTPListener.respond(.ok, page.confirm(address: content.recipient), type: UnsubscribePage.contentType)
        }
        do {
            let new = try await listener.database.run {
                try await $0.inbound.unsubscribe(channel: content.channel, recipient: content.recipient, messageID: content.messageID)
            }
            listener.count("unsubscribe", new ? "opted_out" : "already")
            if new {
                listener.logger.notice("unsubscribed by link", metadata: ["message": "\(content.messageID)", "channel": "\(content.channel)"])
            }
        } catch {
            listener.logger.error("could not record an unsubscribe; answering 503", metadata: ["error": "\(error)"])
            listener.count("unsubscribe", "unavailable")
            return HTTPListener.respond(.serviceUnavailable, page.unavailable(), type: UnsubscribePage.contentType)
        }
        return HTTPListener.respond(.ok, page.done(address: content.recipient), type: UnsubscribePage.contentType)
    }
}

/// The unsubscribe pages, in Spanish, French or English (by `Accept-Language`): small,
/// no script, readable without styles.
struct UnsubscribePage: Sendable {
    static let contentType = HTMLPage.contentType
    let language: String

    /// The first of es, fr, en the browser asks for; English otherwise.
    static func language(acceptLanguage: String?) -> String { HTMLPage.language(acceptLanguage: acceptLanguage) }

    private var text: [String: String] {
        switch language {
        case "es": return [
            "title": "Darse de baja", "ask": "¿Dejar de recibir nuestros correos en %@?", "button": "Darme de baja",
            "done": "Listo: %@ no recibirá más correos nuestros.", "invalid": "Este enlace no es válido o está incompleto. Copia el enlace completo del correo, o responde al correo para pedir la baja.",
            "unavailable": "No hemos podido registrar tu baja ahora mismo. Vuelve a intentarlo en unos minutos."]
        case "fr": return [
            "title": "Se désinscrire", "ask": "Ne plus recevoir nos e-mails à l’adresse %@ ?", "button": "Me désinscrire",
            "done": "C’est fait : %@ ne recevra plus nos e-mails.", "invalid": "Ce lien n’est pas valide ou est incomplet. Copiez le lien entier depuis l’e-mail, ou répondez à l’e-mail pour demander la désinscription.",
            "unavailable": "Votre désinscription n’a pas pu être enregistrée pour l’instant. Réessayez dans quelques minutes."]
        default: return [
            "title": "Unsubscribe", "ask": "Stop receiving our emails at %@?", "button": "Unsubscribe",
            "done": "Done: %@ will get no more emails from us.", "invalid": "This link is not valid or is incomplete. Copy the whole link from the email, or reply to the email to ask to be removed.",
            "unavailable": "We could not record your request just now. Please try again in a few minutes."]
        }
    }

    func confirm(address: String) -> String {
        let ask = (text["ask"] ?? "").replacingOccurrences(of: "%@", with: "<strong>\(Self.escape(address))</strong>")
        return document("""
            <p>\(ask)</p>
            <form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">\
            \(HTMLPage.button(text["button"] ?? "", colour: "#1a56db"))</form>
            """)
    }

    func done(address: String) -> String {
        document("<p role=\"status\">\((text["done"] ?? "").replacingOccurrences(of: "%@", with: "<strong>\(Self.escape(address))</strong>"))</p>")
    }

    func invalid() -> String { document("<p role=\"alert\">\(text["invalid"] ?? "")</p>") }
    func unavailable() -> String { document("<p role=\"alert\">\(text["unavailable"] ?? "")</p>") }

    private func document(_ body: String) -> String {
        HTMLPage(language: language, title: text["title"] ?? "").document(body)
    }

    static func escape(_ text: String) -> String { HTMLPage.escape(text) }
}
