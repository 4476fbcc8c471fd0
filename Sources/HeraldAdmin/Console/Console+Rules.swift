import Foundation
import HeraldAdminAPI
import HeraldCore

/// Rules in the seeds' words (when, for which status, how long before or after, by which
/// channels, with which template), edited one at a time or several together (seed 004),
/// always through the re-plan preview first.
extension Console {
    @Sendable func rules(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let list = try Self.value(await api.listRules(.init())) { try $0.ok.body.json }
        let editor = v.principal.role >= .editor
        let rows = list.map { r -> [String] in
            var row = editor ? ["<input type=\"checkbox\" name=\"rule\" value=\"\(html.h(r.name))\" id=\"r-\(html.h(r.name))\" aria-label=\"\(html.h(t("Select {0}", r.name)))\">"] : []
            row += [html.h(r.name), html.h(Self.trigger(r, t)), html.h(r.toStatus.map { t($0) } ?? "—"), html.h(Self.offset(r, t)),
                    html.h(r.channels.joined(separator: ", ")), html.link("/console/templates/\(ConsoleHTML.percent(r.template))/\(r.channels.first ?? "sms")/es", r.template),
                    r.enabled ? html.h(t("on")) : "<strong>\(html.h(t("off")))</strong>"]
            return row
        }
        let headers = (editor ? [t("Select")] : []) + [t("Rule"), t("When"), t("Status"), t("Timing"), t("Channels"), t("Template"), t("State")]
        var body = html.table(t("Notification rules"), headers, rows)
        if editor {
            let channels = Channel.allCases.map(\.rawValue).map {
                "<input type=\"checkbox\" name=\"channel\" value=\"\($0)\" id=\"ch-\($0)\"><label for=\"ch-\($0)\" class=\"inline\">\($0)</label>"
            }.joined()
            var change = "<fieldset><legend>\(html.h(t("Change the selected rules")))</legend>"
            change += html.field(t("Template"), "template", nil, extra: " maxlength=\"128\"")
            change += "<p>\(html.h(t("Channels (leave all unticked to keep them)")))</p>\(channels)"
            change += html.select(t("State"), "enabled", [("true", t("on")), ("false", t("off"))], selected: nil, any: t("unchanged"))
            let timing: [String] = Self.timingFields(t).map { name, label in "<div>" + html.field(label, name, nil, extra: " maxlength=\"100\"") + "</div>" }
            change += "<div class=\"filters\">" + timing.joined()
            change += "<div>" + html.select(t("Business hours only"), "business_hours_only", [("true", t("yes")), ("false", t("no"))], selected: nil, any: t("unchanged"))
            change += "</div></div></fieldset>" + html.button(t("Preview the change"), name: "do", value: "preview")
            body = html.form("/console/rules", label: t("Change rules"), body + change)
        }
        return .page(html.page(t("Rules"), notice: v.q("done").flatMap { Self.notice($0, t) }, body))
    }

    /// The timing a change may set, as intervals (`24 hours`, `1 hour 30 minutes`; empty: unchanged).
    static func timingFields(_ t: ConsoleText) -> [(String, String)] {
        [("send_before", t("Send before the appointment (e.g. 24 hours)")), ("send_after", t("Send after (e.g. 1 hour)")),
         ("postpone", t("Postpone by (e.g. 1 hour)"))]
    }

    /// "When an appointment is created", in words.
    static func trigger(_ r: Components.Schemas.Rule, _ t: ConsoleText) -> String {
        t("{0}: {1}", t(r.subjectType), t(r.onEvent))
    }

    /// "24 hours before", "1 hour after", "at once".
    static func offset(_ r: Components.Schemas.Rule, _ t: ConsoleText) -> String {
        var parts: [String] = []
        if let before = r.sendBefore { parts.append(t("{0} before", before)) }
        if let after = r.sendAfter { parts.append(t("{0} after", after)) }
        if r.postpone != "00:00:00", !r.postpone.isEmpty, r.postpone != "0" { parts.append(t("postponed {0}", r.postpone)) }
        if r.businessHoursOnly { parts.append(t("business hours only")) }
        return parts.isEmpty ? t("at once") : parts.joined(separator: ", ")
    }

    @Sendable func rulesAction(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let names = v.fields("rule")
        guard !names.isEmpty else { throw Refusal(status: 422, detail: t("Select at least one rule.")) }
        let channels = v.fields("channel").compactMap(Components.Schemas.Channel.init(rawValue:))
        let apply = v.field("apply") == "1"
        let change = Components.Schemas.RuleChange(enabled: v.field("enabled").map { $0 == "true" }, template: v.field("template"),
                                                   channels: channels.isEmpty ? nil : channels, sendBefore: v.field("send_before"),
                                                   sendAfter: v.field("send_after"), postpone: v.field("postpone"),
                                                   businessHoursOnly: v.field("business_hours_only").map { $0 == "true" }, preview: !apply)
        guard change.enabled != nil || change.template != nil || change.channels != nil || change.sendBefore != nil || change.sendAfter != nil
                || change.postpone != nil || change.businessHoursOnly != nil else {
            throw Refusal(status: 422, detail: t("Say what to change: a template, channels, the state or the timing."))
        }
        let results: [Components.Schemas.RuleChangeResult]
        if names.count == 1 {
            results = [try Self.value(await api.changeRule(.init(path: .init(name: names[0]), body: .json(change)))) { try $0.ok.body.json }]
        } else {
            results = try Self.value(await api.bulkChangeRules(.init(body: .json(.init(names: names, change: change))))) { try $0.ok.body.json }
        }
        if apply { return .redirect("/console/rules?done=rules") }
        let rows = results.flatMap { r in
            r.actions.isEmpty ? [[html.h(r.name), html.h(t("nothing to re-plan")), "", ""]]
                : r.actions.map { a in [html.h(r.name), html.h(t(a.kind)), a.messageId.map { html.link("/console/messages/\($0)", "#\($0)") } ?? html.h(a.channel), html.h(a.detail ?? "")] }
        }
        let keep = names.map { "<input type=\"hidden\" name=\"rule\" value=\"\(html.h($0))\">" }.joined()
            + channels.map { "<input type=\"hidden\" name=\"channel\" value=\"\($0.rawValue)\">" }.joined()
            + (change.template.map { "<input type=\"hidden\" name=\"template\" value=\"\(html.h($0))\">" } ?? "")
            + (v.field("enabled").map { "<input type=\"hidden\" name=\"enabled\" value=\"\(html.h($0))\">" } ?? "")
            + (["send_before", "send_after", "postpone", "business_hours_only"].compactMap { name in
                v.field(name).map { "<input type=\"hidden\" name=\"\(name)\" value=\"\(html.h($0))\">" } }.joined())
            + "<input type=\"hidden\" name=\"apply\" value=\"1\">"
        var what: [String] = []
        if let template = change.template { what.append(t("template {0}", template)) }
        if !channels.isEmpty { what.append(t("channels {0}", channels.map(\.rawValue).joined(separator: ", "))) }
        if let enabled = change.enabled { what.append(enabled ? t("turn on") : t("turn off")) }
        if let before = change.sendBefore { what.append(t("{0} before", before)) }
        if let after = change.sendAfter { what.append(t("{0} after", after)) }
        if let postpone = change.postpone { what.append(t("postponed {0}", postpone)) }
        if let hours = change.businessHoursOnly { what.append(hours ? t("business hours only") : t("at any hour")) }
        let body = "<p id=\"change\">\(html.h(t("Change {0}: {1}.", names.joined(separator: ", "), what.joined(separator: "; "))))</p>"
            + html.table(t("What the change would re-plan"), [t("Rule"), t("Action"), t("Message"), t("Detail")], rows)
            + html.form("/console/rules", label: t("Apply the change"), keep + html.button(t("Apply the change")))
            + "<p>\(html.link("/console/rules", t("No, go back")))</p>"
        return .page(html.page(t("Preview of the change"), body))
    }
}
