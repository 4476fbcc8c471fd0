import Foundation
import HeraldCore
import HeraldRender
import Testing

/// Rendering is bounded: a work budget stops runaway templates while they render, and each
/// rendered part has a size limit per channel.
@Suite struct RenderBudgetTests {
    func render(_ body: String, channel: Channel = .webhook, data: String, subject: String? = nil) -> Result<RenderedMessage, RenderError> {
        let record = TemplateRecord(key: "t", channel: channel.rawValue, locale: "en", subject: subject, body: body, html: nil)
        let message = OutboxMessage(id: 1, channel: channel.rawValue, recipient: "x", template: "t", locale: "en", timeZone: nil,
                                    data: data, attempt: 1, maxAttempts: nil)
        return Renderer().render(message, channel: channel, catalog: TemplateCatalog(records: [record], defaultLocale: "en"), context: testContext())
    }

    func items(_ n: Int) -> String {
        #"{"items":["# + (1...n).map { #"{"name":"item \#($0)"}"# }.joined(separator: ",") + "]}"
    }

    @Test func sectionsNestedOverTheSameListStopAtTheBudget() {
        let started = ContinuousClock.now
        let result = render(#"{"x":"{{#items}}{{name}}{{#items}}{{name}}{{/items}}{{/items}}"}"#, channel: .email, data: items(3000))
        #expect(ContinuousClock.now - started < .seconds(10), "rendering was not stopped while it ran")
        guard case .failure(.tooMuchWork(let template, _, let part, let budget)) = result else {
            Issue.record("expected tooMuchWork, got \(result)")
            return
        }
        #expect(template == "t" && part == "body" && budget == 200_000)
        #expect(RenderError.tooMuchWork(template: "t", locale: "en", part: "body", budget: 200_000).description
            == "template t (en) body takes more than 200000 lookups, list items and 16-byte pieces of printed text to render (sections nested over the same list, or a huge value printed many times?); rendering stopped")
    }

    @Test func constantTextRepeatedByNestedListsIsStoppedToo() {
        // Few lookups, but each inner item visited counts.
        let result = render("{{#items}}{{#items}}xxxxxxxxxx{{/items}}{{/items}}", channel: .email, data: items(3000))
        guard case .failure(.tooMuchWork) = result else { Issue.record("\(result)"); return }
    }

    @Test(arguments: [(Channel.webhook, 64 * 1024), (.sms, 64 * 1024), (.email, 1_000_000)])
    func eachChannelHasASizeLimit(channel: Channel, limit: Int) {
        let filler = String(repeating: "y", count: 1000)
        let n = limit / 1000 + 1
        let body = channel == .webhook ? #"{"x":"{{#items}}\#(filler){{/items}}"}"# : "{{#items}}\(filler){{/items}}"
        guard case .failure(.tooLarge(_, _, "body", let bytes, let max)) = render(body, channel: channel, data: items(n)) else {
            Issue.record("\(channel) over \(limit) bytes was accepted")
            return
        }
        #expect(max == limit && bytes > limit)
        // Just under the limit is fine.
        let under = render(body, channel: channel, data: items(n - 2))
        if channel == .sms, case .success(let r) = under { #expect(r.body.utf8.count < limit) }
        else if case .failure(let error) = under { Issue.record("\(channel) under the limit failed: \(error)") }
    }

    @Test func aLongSubjectFails() {
        let result = render("hi", channel: .email, data: items(200), subject: "{{#items}}{{name}}{{/items}}")
        guard case .failure(.tooLarge(_, _, "subject", _, 998)) = result else { Issue.record("\(result)"); return }
    }

    @Test func listsKeepTheirTransforms() throws {
        let r = try render("{{count(items)}} {{#first(items)}}{{name}}{{/first(items)}} {{#reversed(items)}}{{name}};{{/reversed(items)}}{{^items}}none{{/items}}",
                           channel: .sms, data: items(3)).get()
        #expect(r.body == "3 item 1 item 3;item 2;item 1;")
    }

    @Test func lintWarnsAboutSectionsNestedOverTheSameList() {
        #expect(TemplateLint.sectionsNestedOverThemselves("{{#items}}{{#items}}{{/items}}{{/items}}") == ["items"])
        #expect(TemplateLint.sectionsNestedOverThemselves("{{#a}}{{#b}}{{#a}}{{/a}}{{/b}}{{/a}}{{#a}}{{/a}}") == ["a"])
        #expect(TemplateLint.sectionsNestedOverThemselves("{{#items}}{{name}}{{/items}}{{#items}}{{/items}}{{^items}}{{/items}}").isEmpty)
        let record = TemplateRecord(key: "k", channel: "sms", locale: "en", subject: nil,
                                    body: "{{#items}}{{name}}{{#items}}{{name}}{{/items}}{{/items}}", html: nil, sampleData: items(2))
        let problems = TemplateLint(records: [record], partials: [], defaultLocale: "en", context: testContext()).run()
        #expect(problems.map(\.description) == [
            "k sms en: warning: body nests sections over the same list (items): each item renders the whole list again, so the text grows with the square of its length",
        ])
    }
}
