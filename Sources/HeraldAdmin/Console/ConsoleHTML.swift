import Foundation
import HeraldHTTP

/// What every console page is made with: the shell (navigation, the signed-in user,
/// sign-out, the language switch), forms that carry their CSRF token, tables, links.
/// Every text that comes from data goes through ``h(_:)``. Pure.
struct ConsoleHTML: Sendable {
    let t: ConsoleText
    let principal: Principal
    /// The CSRF token of this session's forms.
    let csrf: String
    /// The path and query shown (for the language switch to come back to).
    let here: String
    let zone: TimeZone

    /// Escapes text for HTML (elements and double-quoted attributes).
    static func h(_ text: String) -> String { HTMLPage.escape(text) }
    func h(_ text: String) -> String { HTMLPage.escape(text) }

    /// A whole page. `script`: load the console's script (an enhancement only).
    func page(_ title: String, notice: String? = nil, error: String? = nil, script: Bool = false, _ body: String) -> String {
        var nav: [(String, String)] = [("/console", t("Dashboard")), ("/console/clients", t("Clients")), ("/console/messages", t("Messages")),
                                       ("/console/replies", t("Replies")), ("/console/templates", t("Templates")), ("/console/rules", t("Rules"))]
        if principal.role >= .admin { nav += [("/console/audit", t("Audit log")), ("/console/users", t("Users"))] }
        let links = nav.map { href, label in
            let current = here == href || (href != "/console" && here.hasPrefix(href))
            return "<a href=\"\(href)\"\(current ? " aria-current=\"page\"" : "")>\(h(label))</a>"
        }.joined()
        let languages = ConsoleText.languages.map { code in
            "<a href=\"/console/language?to=\(code)&amp;back=\(Self.percent(here))\" lang=\"\(code)\" hreflang=\"\(code)\"\(code == t.language ? " aria-current=\"true\"" : "")>\(ConsoleText.names[code] ?? code)</a>"
        }.joined()
        let status = (notice.map { "<p class=\"notice\" role=\"status\">\(h($0))</p>" } ?? "") + (error.map { "<p class=\"error\" role=\"alert\">\(h($0))</p>" } ?? "")
        return """
            <!DOCTYPE html>
            <html lang="\(t.language)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
            <meta name="robots" content="noindex"><title>\(h(title)) · Herald</title>\
            <link rel="stylesheet" href="/console/static/console.css">\(script ? "<script src=\"/console/static/console.js\" defer></script>" : "")</head>
            <body><a class="skip" href="#main">\(h(t("Skip to the content")))</a>
            <header><nav aria-label="\(h(t("Sections")))"><strong>Herald</strong>\(links)</nav>
            <div class="who"><span>\(h(principal.name)) (\(h(t(principal.role.rawValue))))</span>\
            <form method="post" action="/console/sign-out" aria-label="\(h(t("Sign out")))">\(hidden)<button type="submit" class="quiet">\(h(t("Sign out")))</button></form>\
            <nav class="languages" aria-label="\(h(t("Language")))">\(languages)</nav></div></header>
            <main id="main"><h1>\(h(title))</h1>\(status)
            \(body)
            </main></body></html>
            """
    }

    /// The hidden field every form carries.
    var hidden: String { "<input type=\"hidden\" name=\"\(ConsoleTokens.csrfField)\" value=\"\(csrf)\">" }

    /// A form posting to `action` with its CSRF token; `label` names it for screen readers.
    func form(_ action: String, label: String, _ content: String, get: Bool = false, cls: String = "") -> String {
        let c = cls.isEmpty ? "" : " class=\"\(cls)\""
        return get ? "<form method=\"get\" action=\"\(action)\" aria-label=\"\(h(label))\"\(c)>\(content)</form>"
            : "<form method=\"post\" action=\"\(action)\" aria-label=\"\(h(label))\"\(c)>\(hidden)\(content)</form>"
    }

    /// A labelled input.
    func field(_ label: String, _ name: String, _ value: String? = nil, type: String = "text", extra: String = "") -> String {
        let id = "f-\(name)"
        return "<label for=\"\(id)\">\(h(label))</label><input id=\"\(id)\" name=\"\(name)\" type=\"\(type)\" value=\"\(h(value ?? ""))\"\(extra)>"
    }

    /// A labelled select; the first option is "any" when `any` is given.
    func select(_ label: String, _ name: String, _ options: [(String, String)], selected: String?, any: String? = nil) -> String {
        let id = "f-\(name)"
        var list = any.map { "<option value=\"\">\(h($0))</option>" } ?? ""
        for (value, text) in options {
            list += "<option value=\"\(h(value))\"\(value == selected ? " selected" : "")>\(h(text))</option>"
        }
        return "<label for=\"\(id)\">\(h(label))</label><select id=\"\(id)\" name=\"\(name)\">\(list)</select>"
    }

    /// A submit button; `danger` for what cannot be undone.
    func button(_ label: String, name: String? = nil, value: String? = nil, danger: Bool = false) -> String {
        let field = name.map { " name=\"\($0)\" value=\"\(h(value ?? ""))\"" } ?? ""
        return "<button type=\"submit\"\(field)\(danger ? " class=\"danger\"" : "")>\(h(label))</button>"
    }

    /// A table; `rows` are already HTML.
    func table(_ caption: String, _ headers: [String], _ rows: [[String]]) -> String {
        guard !rows.isEmpty else { return "<p class=\"empty\">\(h(t("Nothing to show.")))</p>" }
        let head = headers.map { "<th scope=\"col\">\(h($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined()
        return "<div class=\"scroll\"><table><caption>\(h(caption))</caption><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>"
    }

    func link(_ href: String, _ text: String) -> String { "<a href=\"\(h(href))\">\(h(text))</a>" }

    func time(_ date: Date?) -> String { t.time(date, zone) }

    /// A status as a coloured word (the colour is not the only sign: the word is there).
    func status(_ status: String) -> String { "<span class=\"status s-\(h(status))\">\(h(t(status)))</span>" }

    /// Percent-encodes a query value or a path segment (`/` included: an id may hold one).
    static func percent(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A query string from pairs, empty values left out.
    static func query(_ pairs: [(String, String?)]) -> String {
        let parts = pairs.compactMap { name, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return "\(name)=\(percent(value))"
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}
