import Foundation
import HeraldAdminAPI

/// "The client says they never got it", as one page: find the client, see their addresses,
/// preference, consent and opt-outs with the ledger, each message with its outcome in
/// words, its receipts and its text, and the fixes the user's role allows.
extension Console {
    @Sendable func clients(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let q = v.q("q")
        var body = html.form("/console/clients", label: t("Find a client"),
                             html.field(t("Name, phone or email"), "q", q, type: "search", extra: " minlength=\"2\" required") + html.button(t("Search")),
                             get: true, cls: "inline")
        if let q {
            let hits = try Self.value(await api.searchContacts(.init(query: .init(q: q, limit: 50)))) { try $0.ok.body.json }
            body += html.table(t("Clients found"), [t("Name"), t("Phone"), t("Email"), t("Id")], hits.map {
                [html.link("/console/clients/\(ConsoleHTML.percent($0.id))", $0.name ?? $0.id), html.h($0.phone ?? ""), html.h($0.email ?? ""), html.h($0.id)]
            })
        }
        return .page(html.page(t("Clients"), body))
    }

    /// The messages whose text, receipts and reasons the client page shows in full.
    static let detailedMessages = 20

    @Sendable func client(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let id = v.path["id"] ?? ""
        let c = try Self.value(await api.getContact(.init(path: .init(id: id)))) { try $0.ok.body.json }
        let mayAct = v.principal.role >= .operator
        var details: [Int64: Components.Schemas.MessageDetail] = [:]
        for m in c.messages.prefix(Self.detailedMessages) {
            details[m.id] = try? Self.value(await api.getMessage(.init(path: .init(id: m.id)))) { try $0.ok.body.json }
        }
        let facts: [(String, String?)] = [
            (t("Id"), c.id), (t("Phone"), c.phone), (t("Email"), c.email), (t("Language"), c.locale), (t("Time zone"), c.timeZone),
            (t("Wants messages by"), t("preference " + c.preference)),
            (t("Accepts SMS"), c.smsConsent.map { $0 ? t("yes") : t("no") } ?? t("not asked")),
            (t("Accepts email"), c.emailConsent.map { $0 ? t("yes") : t("no") } ?? t("not asked")),
            (t("Accepts WhatsApp"), c.whatsappConsent.map { $0 ? t("yes") : t("no") } ?? t("not asked")),
        ]
        let factList = "<dl>" + facts.map { "<dt>\(html.h($0.0))</dt><dd>\(html.h($0.1 ?? "—"))</dd>" }.joined() + "</dl>"
        let optOuts = c.optOuts.isEmpty ? "<p class=\"ok\">\(html.h(t("No opt-out in force: Herald may write to every address above.")))</p>"
            : c.optOuts.map { o in
                var item = "<li><strong>\(html.h(t("Opted out of {0}", o.channel)))</strong> (\(html.h(o.recipient))) \(html.h(t("since"))) \(html.time(o.since)): "
                    + "\(html.h(t("source " + o.source)))\(o.reason.map { " — " + html.h($0) } ?? "")"
                if mayAct {
                    item += html.form("/console/clients/\(ConsoleHTML.percent(c.id))", label: t("Opt back in"),
                                      "<input type=\"hidden\" name=\"do\" value=\"opt_in\"><input type=\"hidden\" name=\"channel\" value=\"\(html.h(o.channel))\">"
                                      + "<input type=\"hidden\" name=\"recipient\" value=\"\(html.h(o.recipient))\">"
                                      + html.field(t("Reason (the client asked, how)"), "reason-\(o.channel)", nil, extra: " required maxlength=\"500\"")
                                      + html.button(t("Opt back in")), cls: "inline")
                }
                return item + "</li>"
            }.joined().wrapped("<ul>", "</ul>")
        let ledger = html.table(t("Consent ledger"), [t("When"), t("Channel"), t("Address"), t("Change"), t("Source"), t("Reason"), t("By")], c.ledger.map {
            [html.time($0.at), html.h($0.channel), html.h($0.recipient), html.h(t($0.action)), html.h(t("source " + $0.source)), html.h($0.reason ?? ""), html.h($0.recordedBy)]
        })
        let messages = c.messages.isEmpty ? "<p class=\"empty\">\(html.h(t("No message to this client yet.")))</p>"
            : c.messages.map { m in
                // Retrying a message to an address still opted out would be refused: the fix is to opt back in first.
                let blocked = c.optOuts.contains { $0.channel == m.channel && $0.recipient == m.recipient.filter { !$0.isWhitespace } }
                return messageCard(m, details[m.id], html: html, mayAct: mayAct, blocked: blocked, back: "/console/clients/\(ConsoleHTML.percent(c.id))")
            }.joined()
        let replies = (c.replies ?? []).isEmpty ? "" : "<section aria-labelledby=\"answers\"><h2 id=\"answers\">\(html.h(t("Their replies")))</h2><ul>"
            + (c.replies ?? []).map { r in
                "<li>\(html.time(r.receivedAt)) (\(html.h(r.channel))): <q>\(html.h(r.body))</q>"
                    + (r.inReplyTo.map { " — \(html.h(t("answering"))) " + html.link("/console/messages/\($0)", "#\($0)") } ?? "")
                    + (r.handledBy.map { " — " + html.h(t("handled by {0}", $0)) } ?? "") + "</li>"
            }.joined() + "</ul>\(html.link("/console/replies", t("Replies inbox")))</section>"
        let reach = c.unreachable.isEmpty ? "<p class=\"ok\">\(html.h(t("Herald can reach this client on every channel.")))</p>"
            : c.unreachable.map { u in
                "<li><strong>\(html.h(t("Not by {0}", u.channel)))</strong>\(u.address.map { " (\(html.h($0)))" } ?? ""): "
                    + "\(html.h(t("reach " + u.reason.rawValue))) — \(html.h(u.detail))"
                    + (u.since.map { " \(html.h(t("since"))) \(html.time($0))" } ?? "")
                    + (u.messageId.map { " — " + html.link("/console/messages/\($0)", "#\($0)") } ?? "") + "</li>"
            }.joined().wrapped("<ul>", "</ul>")
        let notice = v.q("done").flatMap { Self.notice($0, t) }
        return .page(html.page(c.name ?? c.id, notice: notice, """
            <section aria-labelledby="who"><h2 id="who">\(html.h(t("Addresses and preferences")))</h2>\(factList)</section>
            <section aria-labelledby="reachable"><h2 id="reachable">\(html.h(t("Can Herald reach them?")))</h2>\(reach)</section>
            <section aria-labelledby="reach"><h2 id="reach">\(html.h(t("Opt-outs")))</h2>\(optOuts)\(ledger)</section>
            \(replies)
            <section aria-labelledby="msgs"><h2 id="msgs">\(html.h(t("Messages")))</h2>\(messages)\
            <p>\(html.link("/console/messages?contact=\(ConsoleHTML.percent(c.id))", t("All of this client's messages")))</p></section>
            """))
    }

    /// One message on the client page: when, what, its outcome in words, its receipts, its
    /// text, and a retry button when that would help and the role allows it.
    func messageCard(_ m: Components.Schemas.MessageSummary, _ d: Components.Schemas.MessageDetail?, html: ConsoleHTML, mayAct: Bool, blocked: Bool, back: String) -> String {
        let t = html.t
        var card = "<article class=\"card\" aria-labelledby=\"m\(m.id)\"><h3 id=\"m\(m.id)\">\(html.link("/console/messages/\(m.id)", "#\(m.id)")) "
            + "\(html.h(m.ruleName ?? m.template)) · \(html.h(m.channel)) · \(html.time(m.sentAt ?? m.createdAt)) \(html.status(m.status))</h3>"
        card += "<p>\(html.h(Self.outcome(m, explanation: d?.explanation, t)))</p>"
        if let d {
            if !d.receipts.isEmpty {
                card += "<ul>" + d.receipts.map { "<li>\(html.h(t("Receipt"))): \(html.status($0.status)) \(html.time($0.receivedAt))\($0.errorCode.map { " — " + html.h(t("error {0}", $0)) } ?? "")</li>" }.joined() + "</ul>"
            }
            if let r = d.rendered {
                let label = m.sentAt != nil ? t("What the client was sent") : t("What the client will get")
                card += "<details><summary>\(html.h(label))</summary>\(r.subject.map { "<p><strong>\(html.h($0))</strong></p>" } ?? "")<pre>\(html.h(r.body))</pre></details>"
            }
        }
        if blocked, ["failed", "undelivered", "expired", "suppressed"].contains(m.status) {
            card += "<p>\(html.h(t("To send it again, opt the client back in first (above), then retry it.")))</p>"
        }
        if mayAct, !blocked, ["failed", "undelivered", "expired", "suppressed"].contains(m.status) {
            card += html.form("/console/messages/\(m.id)", label: t("Retry message {0}", String(m.id)),
                              "<input type=\"hidden\" name=\"do\" value=\"retry\"><input type=\"hidden\" name=\"back\" value=\"\(html.h(back))\">"
                              + html.button(t("Retry")))
        }
        return card + "</article>"
    }

    /// A message's outcome as a sentence.
    static func outcome(_ m: Components.Schemas.MessageSummary, explanation: String?, _ t: ConsoleText) -> String {
        let why = m.lastError ?? explanation ?? ""
        switch m.status {
        case "delivered": return t("Delivered: the provider confirmed it reached the phone or mailbox.")
        case "sent": return t("Sent: the provider accepted it; it has not reported delivery (yet).")
        case "undelivered": return t("Not delivered: the provider could not deliver it.") + " " + why
        case "failed": return t("Failed: Herald could not send it.") + " " + why
        case "suppressed": return t("Not sent, on purpose:") + " " + why
        case "cancelled": return t("Cancelled:") + " " + why
        case "expired": return t("Not sent: it was too late to be useful.") + " " + why
        case "sending": return t("Being sent now.")
        default: return t("Waiting:") + " " + (explanation ?? why)
        }
    }

    /// What a finished action says on the page it returns to.
    static func notice(_ code: String, _ t: ConsoleText) -> String? {
        switch code {
        case "retried": return t("The message will be sent again.")
        case "cancelled": return t("The message is cancelled.")
        case "opted_in": return t("The client is opted back in; messages to them can be retried.")
        case "handled": return t("The reply is marked handled.")
        case "saved": return t("The template is saved.")
        case "sent": return t("The test message was sent.")
        case "rules": return t("The rules are changed.")
        case "bulk": return t("Done.")
        case "user": return t("The user is saved.")
        default: return nil
        }
    }

    @Sendable func clientAction(_ v: Visit) async throws -> Answer {
        let id = v.path["id"] ?? ""
        guard v.field("do") == "opt_in", let channel = v.field("channel").flatMap(Components.Schemas.Channel.init(rawValue:)),
              let recipient = v.field("recipient") else { throw Refusal(status: 400, detail: v.t("Unknown action.")) }
        guard let reason = v.field("reason-\(channel.rawValue)") ?? v.field("reason") else {
            throw Refusal(status: 422, detail: v.t("Say why the client is opted back in."))
        }
        _ = try Self.value(await api.optIn(.init(body: .json(.init(channel: channel, recipient: recipient, reason: reason))))) { try $0.ok.body.json }
        return .redirect("/console/clients/\(ConsoleHTML.percent(id))?done=opted_in")
    }
}

extension String {
    /// The text between `open` and `close`.
    func wrapped(_ open: String, _ close: String) -> String { open + self + close }
}
