import Foundation
import HeraldAdminAPI
import HeraldCore

/// Messages: the API's filters as a form, a page of results, one message's timeline, and
/// retry or cancel of everything a filter matches, with the count confirmed first.
extension Console {
    /// The filter's fields, as the form names them (the API's names).
    static let filterFields = ["status", "channel", "template", "rule", "recipient", "contact", "subject_type", "subject_id", "location",
                               "created_after", "created_before", "sent_after", "sent_before", "error"]

    /// The filter a query or form gives; a date is a local time in the console's zone.
    func filter(_ value: (String) -> String?, zone: TimeZone, t: ConsoleText) throws -> Components.Schemas.MessageFilter {
        func date(_ name: String) throws -> Date? {
            guard let text = value(name) else { return nil }
            guard let d = Self.localDate(text, zone) else { throw Refusal(status: 400, detail: t("{0}: a date and time such as 2026-12-03T09:00", name)) }
            return d
        }
        var status: Components.Schemas.MessageStatus?
        if let s = value("status") {
            guard let known = Components.Schemas.MessageStatus(rawValue: s) else { throw Refusal(status: 400, detail: t("Unknown status.")) }
            status = known
        }
        var channel: Components.Schemas.Channel?
        if let c = value("channel") {
            guard let known = Components.Schemas.Channel(rawValue: c) else { throw Refusal(status: 400, detail: t("Unknown channel.")) }
            channel = known
        }
        return .init(status: status, channel: channel, template: value("template"), rule: value("rule"), recipient: value("recipient"),
                     contact: value("contact"), subjectType: value("subject_type"), subjectId: value("subject_id"), location: value("location"),
                     createdAfter: try date("created_after"), createdBefore: try date("created_before"), sentAfter: try date("sent_after"),
                     sentBefore: try date("sent_before"), error: value("error"))
    }

    /// `2026-12-03T09:00` (what a datetime-local field sends) in `zone`.
    static func localDate(_ text: String, _ zone: TimeZone) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"] {
            formatter.dateFormat = format
            if let d = formatter.date(from: text) { return d }
        }
        return nil
    }

    func filterForm(_ v: Visit, action: String) -> String {
        let t = v.t, html = v.html
        let statuses = ["pending", "sending", "sent", "delivered", "undelivered", "failed", "cancelled", "expired", "suppressed"].map { ($0, t($0)) }
        var fields = html.select(t("Status"), "status", statuses, selected: v.q("status"), any: t("any"))
            + html.select(t("Channel"), "channel", Channel.allCases.map(\.rawValue).map { ($0, $0) }, selected: v.q("channel"), any: t("any"))
        let labels = ["template": t("Template"), "rule": t("Rule"), "recipient": t("Recipient"), "contact": t("Client id"),
                      "subject_type": t("Subject type"), "subject_id": t("Subject id"), "location": t("Location"), "error": t("Error contains"),
                      "created_after": t("Created after"), "created_before": t("Created before"), "sent_after": t("Sent after"), "sent_before": t("Sent before")]
        for name in Self.filterFields.dropFirst(2) {
            fields += "<div>" + html.field(labels[name] ?? name, name, v.q(name), type: name.hasSuffix("_after") || name.hasSuffix("_before") ? "datetime-local" : "text") + "</div>"
        }
        return html.form(action, label: t("Filter messages"), "<div class=\"filters\">\(fields)</div>" + html.button(t("Search")), get: true)
    }

    @Sendable func messages(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let f = try filter(v.q, zone: html.zone, t: t)
        let query = Operations.SearchMessages.Input.Query(
            status: f.status, channel: f.channel, template: f.template, rule: f.rule, recipient: f.recipient, contact: f.contact,
            subjectType: f.subjectType, subjectId: f.subjectId, location: f.location, createdAfter: f.createdAfter, createdBefore: f.createdBefore,
            sentAfter: f.sentAfter, sentBefore: f.sentBefore, error: f.error, limit: 50, cursor: v.q("cursor"))
        let page = try Self.value(await api.searchMessages(.init(query: query))) { try $0.ok.body.json }
        let rows = page.items.map { m in
            [html.link("/console/messages/\(m.id)", "#\(m.id)"), html.time(m.createdAt), html.h(m.channel), html.h(m.recipient),
             html.h(m.ruleName ?? m.template), html.status(m.status), html.h(m.lastError ?? "")]
        }
        let keep = Self.filterFields.map { ($0, v.q($0)) }
        var body = filterForm(v, action: "/console/messages")
        body += html.table(t("Messages, newest first"), ["#", t("Created"), t("Channel"), t("Recipient"), t("Rule or template"), t("Status"), t("Last error")], rows)
        if let next = page.nextCursor {
            body += "<p>\(html.link("/console/messages" + ConsoleHTML.query(keep + [("cursor", next)]), t("Older messages")))</p>"
        }
        if v.principal.role >= .operator, !page.items.isEmpty {
            let hidden = keep.compactMap { name, value in value.map { "<input type=\"hidden\" name=\"\(name)\" value=\"\(html.h($0))\">" } }.joined()
            body += "<h2>\(html.h(t("Everything this filter matches")))</h2>"
                + html.form("/console/bulk", label: t("Act on every matching message"), hidden
                            + html.button(t("Retry the failed and undelivered"), name: "do", value: "retry")
                            + html.button(t("Cancel the pending"), name: "do", value: "cancel", danger: true), cls: "inline")
        }
        let notice = v.q("done") == "bulk" ? t("Done: {0} messages.", String(v.q("n").flatMap { Int($0) } ?? 0)) : nil
        return .page(html.page(t("Messages"), notice: notice, body))
    }

    /// A bulk retry or cancel: first the count and a confirmation, then the action.
    @Sendable func bulk(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let retry = v.field("do") == "retry"
        let f = try filter(v.field, zone: html.zone, t: t)
        let request = Components.Schemas.BulkRequest(filter: f, dryRun: v.field("confirmation") == nil, confirmation: v.field("confirmation"),
                                                     reason: v.field("reason"))
        let result = try retry ? Self.value(await api.bulkRetry(.init(body: .json(request)))) { try $0.ok.body.json }
                               : Self.value(await api.bulkCancel(.init(body: .json(request)))) { try $0.ok.body.json }
        let keep = Self.filterFields.map { ($0, v.field($0)) }
        guard result.dryRun, let confirmation = result.confirmation else {
            return .redirect("/console/messages" + ConsoleHTML.query(keep + [("done", "bulk"), ("n", String(result.done ?? 0))]))
        }
        let hidden = keep.compactMap { name, value in value.map { "<input type=\"hidden\" name=\"\(name)\" value=\"\(html.h($0))\">" } }.joined()
            + "<input type=\"hidden\" name=\"do\" value=\"\(retry ? "retry" : "cancel")\"><input type=\"hidden\" name=\"confirmation\" value=\"\(html.h(confirmation))\">"
        let question = retry ? t("Retry {0} messages?", t.number(result.matched)) : t("Cancel {0} messages?", t.number(result.matched))
        let body = "<p><strong id=\"count\">\(html.h(question))</strong> \(html.h(t("This confirmation holds until {0}.", html.time(result.expiresAt))))</p>"
            + html.form("/console/bulk", label: question, hidden
                        + (retry ? "" : html.field(t("Reason"), "reason", nil, extra: " maxlength=\"500\""))
                        + html.button(retry ? t("Yes, retry them") : t("Yes, cancel them"), danger: !retry))
            + "<p>\(html.link("/console/messages" + ConsoleHTML.query(keep), t("No, go back")))</p>"
        return .page(html.page(t("Confirm"), body))
    }

    @Sendable func message(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        guard let id = Int64(v.path["id"] ?? ""), id > 0 else { throw Refusal(status: 404, detail: t("No such message.")) }
        let d = try Self.value(await api.getMessage(.init(path: .init(id: id)))) { try $0.ok.body.json }
        let m = d.message
        var steps = ["<li>\(html.time(m.createdAt)) — \(html.h(t("created")))\(d.origin.map { ": " + html.h($0) } ?? "")</li>",
                     "<li>\(html.h(t("Planned for"))) \(html.time(m.nextAttemptAt))</li>"]
        if m.status == "pending" { steps.append("<li>\(html.h(t("Waiting:"))) \(html.h(d.explanation))</li>") }
        for a in d.attempts {
            steps.append("<li>\(html.time(a.startedAt)) — \(html.h(t("attempt {0}", String(a.number)))): \(html.h(t(a.outcome)))"
                         + "\(a.responseCode.map { " (\(html.h($0)))" } ?? "")\(a.error.map { " — " + html.h($0) } ?? "")</li>")
        }
        for r in d.receipts {
            steps.append("<li>\(html.time(r.receivedAt)) — \(html.h(t("Receipt"))): \(html.status(r.status))\(r.errorCode.map { " — " + html.h(t("error {0}", $0)) } ?? "")</li>")
        }
        if let fallback = d.fallback { steps.append("<li>\(html.h(t("WhatsApp fallback:"))) \(html.h(fallback))</li>") }
        steps.append("<li>\(html.h(t("Now:"))) \(html.status(m.status)) — \(html.h(Self.outcome(m, explanation: d.explanation, t)))</li>")
        var body = "<dl><dt>\(html.h(t("Recipient")))</dt><dd>\(html.h(m.recipient)) (\(html.h(d.recipientSource)))</dd>"
            + "<dt>\(html.h(t("Rule or template")))</dt><dd>\(html.h(m.ruleName ?? "—")) · \(html.h(m.template)) · \(html.h(m.locale))</dd>"
        if let cid = m.contactId { body += "<dt>\(html.h(t("Client")))</dt><dd>\(html.link("/console/clients/\(ConsoleHTML.percent(cid))", cid))</dd>" }
        if let st = m.subjectType, let sid = m.subjectId {
            body += "<dt>\(html.h(t("Booking")))</dt><dd>\(html.link("/console/subjects/\(ConsoleHTML.percent(st))/\(ConsoleHTML.percent(sid))", "\(st) \(sid)"))</dd>"
        }
        body += "</dl><h2>\(html.h(t("Timeline")))</h2><ol class=\"timeline\">\(steps.joined())</ol>"
        if let r = d.rendered { body += "<h2>\(html.h(t("Text")))</h2>" + renderedHTML(r, html) }
        if v.principal.role >= .operator {
            if ["pending"].contains(m.status) {
                body += html.form("/console/messages/\(id)", label: t("Cancel message {0}", String(id)),
                                  "<input type=\"hidden\" name=\"do\" value=\"cancel\">" + html.field(t("Reason"), "reason", nil, extra: " maxlength=\"500\"")
                                  + html.button(t("Cancel"), danger: true))
            } else if m.status != "sending" {
                body += html.form("/console/messages/\(id)", label: t("Retry message {0}", String(id)),
                                  "<input type=\"hidden\" name=\"do\" value=\"retry\">" + html.button(t("Retry")))
            }
        }
        return .page(html.page(t("Message {0}", "#\(id)"), notice: v.q("done").flatMap { Self.notice($0, t) }, body))
    }

    /// A rendered text: subject, body, and for SMS its segments and the character forcing UCS-2.
    func renderedHTML(_ r: Components.Schemas.Rendered, _ html: ConsoleHTML) -> String {
        let t = html.t
        var text = r.subject.map { "<p><strong>\(html.h(t("Subject"))):</strong> \(html.h($0))</p>" } ?? ""
        text += "<pre>\(html.h(r.body))</pre>"
        if let segments = r.smsSegments {
            text += "<p>\(html.h(t("SMS segments: {0}", String(segments)))) · \(html.h(r.smsEncoding == .ucs2 ? "UCS-2" : "GSM-7"))"
            if let c = r.ucs2Character { text += " — \(html.h(t("the character that forces UCS-2:"))) <mark>\(html.h(c))</mark>" }
            text += "</p>"
        }
        return text
    }

    @Sendable func messageAction(_ v: Visit) async throws -> Answer {
        guard let id = Int64(v.path["id"] ?? ""), id > 0 else { throw Refusal(status: 404, detail: v.t("No such message.")) }
        switch v.field("do") {
        case "retry":
            _ = try Self.value(await api.retryMessage(.init(path: .init(id: id)))) { try $0.ok.body.json }
            let back = v.field("back").map { Self.safeReturn($0) } ?? "/console/messages/\(id)"
            return .redirect(back + (back.contains("?") ? "&" : "?") + "done=retried")
        case "cancel":
            _ = try Self.value(await api.cancelMessage(.init(path: .init(id: id), body: .json(.init(reason: v.field("reason")))))) { try $0.ok.body.json }
            return .redirect("/console/messages/\(id)?done=cancelled")
        default:
            throw Refusal(status: 400, detail: v.t("Unknown action."))
        }
    }
}
