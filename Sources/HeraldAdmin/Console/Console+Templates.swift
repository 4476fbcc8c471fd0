import Foundation
import HeraldAdminAPI
import HeraldCore

/// Templates: the list, and an editor per key, channel and locale with a preview (a button;
/// with the script, as one types), lint errors inline, the impact on pending messages
/// shown before saving, a test send, and the version history with authors.
extension Console {
    @Sendable func templates(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        if let key = v.q("key"), let channel = v.q("channel"), let locale = v.q("locale") {
            return .redirect("/console/templates/\(ConsoleHTML.percent(key))/\(ConsoleHTML.percent(channel))/\(ConsoleHTML.percent(locale))")
        }
        let list = try Self.value(await api.listTemplates(.init())) { try $0.ok.body.json }
        let rows = list.map { s in
            [html.link("/console/templates/\(ConsoleHTML.percent(s.key))/\(s.channel)/\(ConsoleHTML.percent(s.locale))", s.key),
             html.h(s.channel), html.h(s.locale), String(s.version), html.h(s.updatedAt)]
        }
        let open = html.form("/console/templates", label: t("Open a template"),
                             html.field(t("Key"), "key", nil, extra: " required") + html.select(t("Channel"), "channel", Channel.allCases.map(\.rawValue).map { ($0, $0) }, selected: "sms")
                             + html.field(t("Language"), "locale", "es", extra: " required") + html.button(t("Open")), get: true, cls: "inline")
        return .page(html.page(t("Templates"), "<p>\(html.h(t("A template not listed here is Herald's built-in text; open it by its key to change it.")))</p>"
                               + open + html.table(t("Stored templates"), [t("Key"), t("Channel"), t("Language"), t("Version"), t("Changed")], rows)))
    }

    /// The editor's path parts, checked by the API's own operations.
    private func templatePath(_ v: Visit) throws -> (key: String, channel: Components.Schemas.Channel, locale: String) {
        guard let channel = Components.Schemas.Channel(rawValue: v.path["channel"] ?? "") else { throw Refusal(status: 404, detail: v.t("Unknown channel.")) }
        return (v.path["key"] ?? "", channel, v.path["locale"] ?? "")
    }

    @Sendable func templateEditor(_ v: Visit) async throws -> Answer {
        let p = try templatePath(v)
        let template = try Self.value(await api.getTemplate(.init(path: .init(key: p.key, channel: p.channel, locale: p.locale)))) { try $0.ok.body.json }
        let text = Components.Schemas.TemplateText(subject: template.subject, body: template.body, html: template.html)
        let preview = await previewHTML(v, p, text: nil)
        return .page(try await editorPage(v, p, text: text, version: template.version, stored: template.stored, preview: preview,
                                          notice: v.q("done").flatMap { Self.notice($0, v.t) }))
    }

    /// The rendered preview, or the lint errors that stop it, as HTML (also the fragment the script asks for).
    private func previewHTML(_ v: Visit, _ p: (key: String, channel: Components.Schemas.Channel, locale: String), text: Components.Schemas.TemplateText?) async -> String {
        do {
            let r = try Self.value(await api.previewTemplate(.init(body: .json(.init(key: p.key, channel: p.channel, locale: p.locale, text: text))))) {
                try $0.ok.body.json
            }
            return renderedHTML(r, v.html)
        } catch let refusal as Refusal {
            return lintHTML(refusal, v.html)
        } catch {
            return "<p class=\"error\">\(v.html.h(v.t("Something went wrong; it is in Herald's log.")))</p>"
        }
    }

    private func lintHTML(_ refusal: Refusal, _ html: ConsoleHTML) -> String {
        "<div class=\"lint\" role=\"alert\"><p><strong>\(html.h(refusal.detail))</strong></p>"
            + (refusal.errors.isEmpty ? "" : "<ul>" + refusal.errors.map { "<li>\(html.h($0))</li>" }.joined() + "</ul>") + "</div>"
    }

    private func editorPage(_ v: Visit, _ p: (key: String, channel: Components.Schemas.Channel, locale: String), text: Components.Schemas.TemplateText,
                            version: Int?, stored: Bool, preview: String, extra: String = "", notice: String? = nil,
                            error: String? = nil) async throws -> String {
        let t = v.t, html = v.html
        let action = "/console/templates/\(ConsoleHTML.percent(p.key))/\(p.channel.rawValue)/\(ConsoleHTML.percent(p.locale))"
        let editor = v.principal.role >= .editor
        let readOnly = editor ? "" : " readonly"
        var fields = ""
        if p.channel == .email {
            fields += html.field(t("Subject"), "subject", text.subject, extra: readOnly + " maxlength=\"1000\" size=\"60\"")
        }
        fields += "<label for=\"f-body\">\(html.h(t("Text")))</label><textarea id=\"f-body\" name=\"body\" rows=\"8\"\(readOnly)>\n\(html.h(text.body))</textarea>"
        if p.channel == .email {
            fields += "<label for=\"f-html\">\(html.h(t("HTML version (optional)")))</label><textarea id=\"f-html\" name=\"html\" rows=\"6\"\(readOnly)>\n\(html.h(text.html ?? ""))</textarea>"
        }
        var buttons = html.button(t("Preview"), name: "do", value: "preview")
        if editor {
            buttons += html.button(t("Check the impact and save"), name: "do", value: "save")
            buttons += "<div class=\"inline\">" + html.field(t("Send a test to"), "to", v.field("to"), extra: " maxlength=\"200\"")
                + html.button(t("Send a test"), name: "do", value: "test") + "</div>"
        }
        let form = "<form id=\"template-editor\" method=\"post\" action=\"\(action)\" aria-label=\"\(html.h(t("Edit the template")))\">\(html.hidden)\(fields)<p>\(buttons)</p></form>"
        let history = try Self.value(await api.getTemplateHistory(.init(path: .init(key: p.key, channel: p.channel, locale: p.locale)))) { try $0.ok.body.json }
        let versions = html.table(t("Versions"), [t("Version"), t("When"), t("Who"), t("Text")], history.map {
            [String($0.version), html.time($0.createdAt), html.h($0.author), "<pre>\(html.h(String($0.body.prefix(300))))</pre>"]
        })
        let state = stored ? t("Version {0}, stored.", String(version ?? 0)) : t("Herald's built-in text (not stored yet).")
        return html.page("\(p.key) · \(p.channel.rawValue) · \(p.locale)", notice: notice, error: error, script: editor, """
            <p>\(html.h(state))</p>\(form)
            <section aria-labelledby="pv"><h2 id="pv">\(html.h(t("Preview")))</h2><div id="preview" aria-live="polite">\(preview)</div></section>
            \(extra)
            <section aria-labelledby="hist"><h2 id="hist">\(html.h(t("History")))</h2>\(versions)</section>
            """)
    }

    @Sendable func templateAction(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let p = try templatePath(v)
        // Browsers send line breaks as CRLF: a template's are LF (an SMS would pay for each CR).
        func lf(_ text: String?) -> String? { text?.replacingOccurrences(of: "\r\n", with: "\n") }
        let text = Components.Schemas.TemplateText(subject: v.field("subject"), body: lf(v.raw("body")) ?? "", html: lf(v.field("html")))
        let current = try Self.value(await api.getTemplate(.init(path: .init(key: p.key, channel: p.channel, locale: p.locale)))) { try $0.ok.body.json }
        func page(_ preview: String, extra: String = "", notice: String? = nil, error: String? = nil, status: Int = 200) async throws -> Answer {
            .page(try await editorPage(v, p, text: text, version: current.version, stored: current.stored, preview: preview, extra: extra,
                                       notice: notice, error: error), status: .init(code: status))
        }
        switch v.field("do") {
        case "preview":
            // Below editor, only the stored text may be previewed (the API's rule).
            let preview = await previewHTML(v, p, text: v.principal.role >= .editor ? text : nil)
            return v.field("fragment") == "1" ? .fragment(preview) : try await page(preview)
        case "save" where v.field("confirmed") == "1":
            do {
                _ = try Self.value(await api.putTemplate(.init(path: .init(key: p.key, channel: p.channel, locale: p.locale), body: .json(text)))) { try $0.ok.body.json }
            } catch let refusal as Refusal where refusal.status == 422 {
                return try await page(lintHTML(refusal, html), error: refusal.detail, status: 422)
            }
            return .redirect("/console/templates/\(ConsoleHTML.percent(p.key))/\(p.channel.rawValue)/\(ConsoleHTML.percent(p.locale))?done=saved")
        case "save":
            let preview = await previewHTML(v, p, text: text)
            let impact: Components.Schemas.Impact
            do {
                impact = try Self.value(await api.templateImpact(.init(body: .json(.init(key: p.key, channel: p.channel, locale: p.locale, text: text))))) {
                    try $0.ok.body.json
                }
            } catch let refusal as Refusal where refusal.status == 422 {
                return try await page(lintHTML(refusal, html), error: refusal.detail, status: 422)
            }
            var summary = t("{0} pending messages use this template; {1} were rendered with the new text.", t.number(impact.pending), t.number(impact.rendered))
            if !impact.complete { summary += " " + t("(Not all: the rest were not tried.)") }
            let failures = html.table(t("Would fail"), ["#", t("Error")], impact.failures.map { [html.link("/console/messages/\($0.messageId)", "#\($0.messageId)"), html.h($0.error ?? "")] })
            let segments = html.table(t("SMS segments would change"), ["#", t("Before"), t("After")], impact.segmentChanges.map {
                [html.link("/console/messages/\($0.messageId)", "#\($0.messageId)"), String($0.segmentsBefore ?? 0), String($0.segmentsAfter ?? 0)]
            })
            let keep = (text.subject.map { "<input type=\"hidden\" name=\"subject\" value=\"\(html.h($0))\">" } ?? "")
                + "<input type=\"hidden\" name=\"body\" value=\"\(html.h(text.body))\">"
                + (text.html.map { "<input type=\"hidden\" name=\"html\" value=\"\(html.h($0))\">" } ?? "")
            let confirm = html.form("/console/templates/\(ConsoleHTML.percent(p.key))/\(p.channel.rawValue)/\(ConsoleHTML.percent(p.locale))", label: t("Save the template"),
                                    keep + "<input type=\"hidden\" name=\"do\" value=\"save\"><input type=\"hidden\" name=\"confirmed\" value=\"1\">" + html.button(t("Save now")))
            let extra = "<section aria-labelledby=\"impact\"><h2 id=\"impact\">\(html.h(t("Impact on pending messages")))</h2><p id=\"impact-summary\">\(html.h(summary))</p>"
                + failures + segments + confirm + "</section>"
            return try await page(preview, extra: extra)
        case "test":
            guard let to = v.field("to") else { throw Refusal(status: 422, detail: t("Give an address to send the test to.")) }
            let result = try Self.value(await api.testSendTemplate(.init(body: .json(.init(key: p.key, channel: p.channel, locale: p.locale, to: to, text: text))))) {
                try $0.ok.body.json
            }
            let said = result.sent ? t("The test message was sent.") + " (\(result.driver))" : t("The test message was not sent:") + " " + (result.error ?? result.response ?? "")
            return try await page(renderedHTML(result.rendered, html), notice: result.sent ? said : nil, error: result.sent ? nil : said)
        default:
            throw Refusal(status: 400, detail: t("Unknown action."))
        }
    }
}
