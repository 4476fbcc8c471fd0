import Foundation
import HeraldAdminAPI

/// A booking's feed (seed 004's event feed) and the replies inbox.
extension Console {
    @Sendable func feed(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let type = v.path["type"] ?? "", id = v.path["id"] ?? ""
        let f = try Self.value(await api.getSubjectFeed(.init(path: .init(_type: type, id: id)))) { try $0.ok.body.json }
        let rows = f.entries.map { e in
            [html.time(e.at), html.h(t(e.kind.rawValue)),
             e.kind == .message ? html.link("/console/messages/\(e.id)", "#\(e.id)") : "#\(e.id)",
             html.h(e.summary), e.status.map { html.status($0) } ?? ""]
        }
        return .page(html.page(t("{0} {1}", t(type), id),
                               html.table(t("Events and messages, in order"), [t("When"), t("What"), "#", t("Summary"), t("Status")], rows)))
    }

    @Sendable func replies(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let handled = v.q("handled") == "1"
        let page = try Self.value(await api.listReplies(.init(query: .init(handled: handled, limit: 50, cursor: v.q("cursor"))))) { try $0.ok.body.json }
        let mayAct = v.principal.role >= .operator
        let rows = page.items.map { r -> [String] in
            var row = [html.time(r.receivedAt), html.h(r.channel), r.contactId.map { html.link("/console/clients/\(ConsoleHTML.percent($0))", $0) } ?? html.h(r.from),
                       "<q>\(html.h(r.body))</q>", r.inReplyTo.map { html.link("/console/messages/\($0)", "#\($0)") } ?? "—"]
            if let by = r.handledBy {
                row.append(html.h(t("handled by {0}", by)) + " " + html.time(r.handledAt))
            } else if mayAct {
                row.append(html.form("/console/replies/\(r.id)", label: t("Mark reply {0} handled", String(r.id)), html.button(t("Mark handled"))))
            } else {
                row.append(html.h(t("waiting")))
            }
            return row
        }
        var body = "<p>" + (handled ? html.link("/console/replies", t("Show the replies waiting")) : html.link("/console/replies?handled=1", t("Show the handled replies"))) + "</p>"
        body += html.table(handled ? t("Handled replies, newest first") : t("Replies waiting, newest first"),
                           [t("Received"), t("Channel"), t("Client"), t("Reply"), t("Answering"), t("Handled")], rows)
        if let next = page.nextCursor {
            body += "<p>\(html.link("/console/replies" + ConsoleHTML.query([("handled", handled ? "1" : nil), ("cursor", next)]), t("Older replies")))</p>"
        }
        return .page(html.page(t("Replies"), notice: v.q("done").flatMap { Self.notice($0, t) }, body))
    }

    @Sendable func replyHandled(_ v: Visit) async throws -> Answer {
        guard let id = Int64(v.path["id"] ?? ""), id > 0 else { throw Refusal(status: 404, detail: v.t("No such reply.")) }
        _ = try Self.value(await api.markReplyHandled(.init(path: .init(id: id)))) { try $0.ok.body.json }
        return .redirect("/console/replies?done=handled")
    }
}
