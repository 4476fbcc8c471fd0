import Foundation
import HeraldAdminAPI

/// The dashboard: what waits, sends, failed and was suppressed now; messages per hour over
/// a day and a week; the commonest failures; events waiting; the daemon's health.
extension Console {
    @Sendable func dashboard(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let day = try Self.value(await api.getStats(.init(query: .init(hours: 24)))) { try $0.ok.body.json }
        // The status as the figures above were read with it (`herald status`'s statement,
        // shared and cached with them): a dashboard left open does not count the outbox
        // on every refresh.
        let status = try await service.stats(hours: 24).status
        let week = try Self.value(await api.getStats(.init(query: .init(hours: 168)))) { try $0.ok.body.json }
        func total(_ s: String) -> Int { status.counts.filter { $0.status == s }.reduce(0) { $0 + $1.count } }
        var cards: [(String, String, String?)] = [
            (t("Waiting to be sent"), t.number(total("pending")), "/console/messages?status=pending"),
            (t("Sending"), t.number(total("sending")), "/console/messages?status=sending"),
            (t("Failed"), t.number(total("failed")), "/console/messages?status=failed"),
            (t("Suppressed"), t.number(total("suppressed")), "/console/messages?status=suppressed"),
            (t("Failed in the last hour"), t.number(status.failedLastHour), nil),
            (t("Events waiting"), t.number(status.eventsWaiting), nil),
            (t("Replies waiting"), t.number(status.inboundWaiting), "/console/replies"),
        ]
        if let age = status.oldestDueAgeSeconds {
            cards.insert((t("Oldest due message waits"), t("{0} min", t.number(Int(clampingRounded: age / 60))), nil), at: 1)
        }
        let cardHTML = cards.map { label, value, href in
            let inner = "<b>\(html.h(value))</b>\(html.h(label))"
            return "<div class=\"card\">\(href.map { "<a href=\"\($0)\">\(inner)</a>" } ?? inner)</div>"
        }.joined()
        let names = (sent: t("sent"), failed: t("failed"), undelivered: t("undelivered"))
        let legend = "<p class=\"legend\"><span class=\"k-sent\">■ \(html.h(names.sent))</span><span class=\"k-failed\">■ \(html.h(names.failed))</span>"
            + "<span class=\"k-undelivered\">■ \(html.h(names.undelivered))</span></p>"
        let dayBars = day.series.map { SVGChart.Bar(label: hourLabel($0.hour, html), sent: $0.sent, failed: $0.failed, undelivered: $0.undelivered) }
        let weekBars = week.series.map { SVGChart.Bar(label: dayLabel($0.hour, html), sent: $0.sent, failed: $0.failed, undelivered: $0.undelivered) }
        let reasons = html.table(t("Commonest failures in the last 24 hours"), [t("Reason"), t("Messages")], day.topFailures.map {
            [html.h($0.reason),
             t.number($0.count)]
        })
        let health = day.health.map {
            "<li class=\"\($0.ok ? "ok" : "bad")\"><strong>\(html.h(t($0.part.rawValue))):</strong> \(html.h($0.ok ? t("working") : t("needs attention"))). \(html.h($0.detail))</li>"
        }.joined()
        return .page(html.page(t("Dashboard"), """
            <section aria-labelledby="now"><h2 id="now">\(html.h(t("Now")))</h2><div class="cards">\(cardHTML)</div></section>
            <section aria-labelledby="health"><h2 id="health">\(html.h(t("Health")))</h2><ul>\(health)</ul></section>
            <section aria-labelledby="day"><h2 id="day">\(html.h(t("The last 24 hours")))</h2>\(legend)\
            \(SVGChart.render(dayBars, id: "day-chart", title: t("Messages per hour, the last 24 hours"), names: names, every: 3))</section>
            <section aria-labelledby="week"><h2 id="week">\(html.h(t("The last 7 days")))</h2>\
            \(SVGChart.render(weekBars, id: "week-chart", title: t("Messages per hour, the last 7 days"), names: names, every: 24))</section>
            <section aria-labelledby="reasons"><h2 id="reasons">\(html.h(t("Failures")))</h2>\(reasons)</section>
            """))
    }

    private func hourLabel(_ date: Date, _ html: ConsoleHTML) -> String { String(html.time(date).suffix(5)) }
    private func dayLabel(_ date: Date, _ html: ConsoleHTML) -> String { String(html.time(date).dropFirst(5).prefix(5)) }
}
