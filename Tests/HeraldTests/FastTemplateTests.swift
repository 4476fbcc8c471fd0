import Foundation
import HeraldCore
import HeraldRender
import Testing

/// Herald's own template renderer against swift-mustache: the same text, the same
/// missing-variable and size errors, for every built-in template and for templates
/// written to hit the corners of Mustache's whitespace and lookup rules.
@Suite struct FastTemplateTests {
    /// The outcome of one render, as a comparable string (text of every part, or the error).
    static func outcome(_ engine: Renderer.Engine, _ record: TemplateRecord, data: String, context: RenderContext) -> String {
        let catalog = TemplateCatalog(records: [record], defaultLocale: record.locale)
        let channel = Channel(rawValue: record.channel) ?? .sms
        let message = OutboxMessage(id: 41, channel: record.channel, recipient: "+34600000001", template: record.key, locale: record.locale,
                                    timeZone: context.timeZone, data: data, attempt: 1, maxAttempts: nil)
        switch Renderer(engine: engine).render(message, channel: channel, catalog: catalog, context: context) {
        case .success(let r): return "subject=\(r.subject ?? "-")|body=\(r.body)|html=\(r.html ?? "-")|segments=\(r.segments ?? -1)"
        case .failure(let e): return "error: \(e)"
        }
    }

    static func context(answers: Bool) -> RenderContext {
        var context = RenderContext(timeZone: "Europe/Madrid", now: Date(timeIntervalSince1970: 1_778_400_000),
                                    location: LocationDetails(id: "sol", name: "Peluquería Sol & Co", address: "Calle <Mayor> 1", phone: "+34 910 000 000"),
                                    smsMaxSegments: 4)
        if answers {
            context.defaults["answer_by_reply"] = .bool(true)
            for name in ["confirm_url", "cancel_url", "manage_url"] {
                context.lazyDefaults[name] = { "https://h.example/answer/a1.x?y=1&z=\"2\"" }
            }
        }
        return context
    }

    /// The sample data and variations of it: every top-level key removed in turn (missing
    /// variables), strings holding HTML and JSON specials, strings emptied and booleans flipped
    /// (sections taken the other way).
    static func variants(of sample: String) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(sample.utf8)) as? [String: Any] else { return [sample] }
        func json(_ value: Any) -> String {
            (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        }
        func mapStrings(_ value: Any, _ f: (String) -> Any) -> Any {
            switch value {
            case let s as String: return f(s)
            case let d as [String: Any]: return d.mapValues { mapStrings($0, f) }
            case let a as [Any]: return a.map { mapStrings($0, f) }
            default: return value
            }
        }
        var out = [sample]
        for key in object.keys.sorted() {
            var fewer = object
            fewer.removeValue(forKey: key)
            out.append(json(fewer))
        }
        out.append(json(mapStrings(object) { $0.first?.isNumber == true ? $0 : $0 + " <b>\"&'\\\n\t</b>" }))
        // Strings emptied, and booleans flipped in the serialised document.
        out.append(json(mapStrings(object) { $0.first?.isNumber == true ? $0 : "" })
            .replacingOccurrences(of: ":true", with: ":\u{1}").replacingOccurrences(of: ":false", with: ":true").replacingOccurrences(of: ":\u{1}", with: ":false"))
        return out
    }

    @Test func everyBuiltinTemplateCompilesNatively() {
        let catalog = TemplateCatalog(records: BuiltinTemplates.withReplies(BuiltinTemplates.records), partials: BuiltinTemplates.partials, defaultLocale: "en")
        #expect(catalog.count >= 207)
        let foreign = catalog.templates.filter { !$0.compiledNatively }.map { "\($0.record.key) \($0.record.channel) \($0.record.locale)" }
        #expect(foreign.isEmpty, "needs swift-mustache: \(foreign)")
    }

    @Test(arguments: ["sms", "email", "webhook"])
    func builtinsRenderTheSameAsMustache(channel: String) {
        let catalog = TemplateCatalog(records: BuiltinTemplates.withReplies(BuiltinTemplates.records), partials: BuiltinTemplates.partials, defaultLocale: "en")
        var compared = 0
        for template in catalog.templates where template.record.channel == channel {
            let record = template.expanded
            for data in Self.variants(of: template.record.sampleData ?? "{}") {
                for answers in [false, true] {
                    let context = Self.context(answers: answers)
                    let mustache = Self.outcome(.mustache, record, data: data, context: context)
                    let native = Self.outcome(.fastOnly, record, data: data, context: context)
                    #expect(native == mustache, "\(record.key) \(record.channel) \(record.locale) with \(data)")
                    compared += 1
                }
            }
        }
        #expect(compared > 500)
    }

    static let data = """
    {"name": "Ana", "a": true, "b": {"x": 1}, "list": [1, "two", {"name": "n"}], "raw": "<b>\\"x\\" & 'y'</b>",
     "people": [{"name": "P", "total": {"amount": 12.5, "currency": "EUR"}}, {"name": "Q"}],
     "flag": false, "yes": "x", "zero": 0, "empty": "", "event_at": "2026-05-10T13:00:00+02:00", "day": "2026-05-11",
     "matrix": [[1, 2], [3]], "empty_list": [], "spaced": {"name": "S"}, "text": "he said \\"hi\\"\\nbye", "n": null}
    """

    /// Corners: standalone lines (and swift-mustache's own quirks with them), the pragma
    /// before a leading line break, comments, nested and inverted sections, lists of lists,
    /// lookups up the context stack and into scalars, escaping per content type.
    static let corners = [
        "Hola {{name}}", "\n{{#a}}\nX\n{{/a}}\n", "  {{#a}}  \n  x {{b.x}}\n  {{/a}}  \nend", "{{#a}}{{/a}}\n{{#b}}\nY\n{{/b}}",
        "A {{#a}}\nX\n{{/a}}\n  {{#b}}\nY\n{{/b}}\n", "{{#a}}\nX {{/a}}{{#b}}\nY{{/b}}", "  {{! comment }}  \nafter", "x {{! c }} y\n  {{!c}}",
        "{{^a}}none{{/a}}{{#list}}[{{.}}]{{/list}}", "{{#list}}{{name}}{{/list}}", "{{#people}}{{name}}: {{total}} {{total.amount}}|{{/people}}",
        "{{#people}}{{name}}{{#total}} {{formatted}} {{currency}}{{/total}};{{/people}}", "{{event_at.weekday}} {{event_at.nope}}", "{{name.first}}",
        "{{{raw}}} {{&raw}} {{raw}}", "{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}{{#yes}}Y{{/yes}}{{#zero}}Z{{/zero}}{{#empty}}E{{/empty}}{{^empty}}e{{/empty}}",
        "{{#event_at}}{{date}} {{time}}{{/event_at}}", "{{#event_at.date}}[{{x}}]{{/event_at.date}}", "{{day}} {{day.date_long}} {{event_at.relative}}",
        "{{herald.message_id}} {{herald.now.iso}} {{herald.locale}}", "{{ spaced.name }} {{#spaced}}{{ name }}{{/spaced}}", "{a} { {{name}} } {",
        "{{#empty_list}}x{{/empty_list}}{{^empty_list}}empty{{/empty_list}}", "{{#matrix}}{{#.}}{{.}}{{/.}};{{/matrix}}", "{{#a}}x{{/a}}   ",
        "{{location.name}} {{location.address}} {{#location.website}}{{location.website}}{{/location.website}}", "{{n}}", "{{#n}}x{{/n}}{{^n}}no n{{/n}}",
        "{{#list}}{{#name}}<{{name}}>{{/name}}{{/list}}", "{{uppercased(name)}}", "{{#a}}\n  {{#b}}\n    {{x}}\n  {{/b}}\n{{/a}}", "{{text}}",
        "{{#people}}{{#first()}}first {{/first()}}{{name}}{{/people}}", "\t{{#a}}\t\n\t{{name}}\n\t{{/a}}\t", "{{#a}}\r\nX\r\n{{/a}}",
        "{{=<% %>=}}<% name %>", "{{> part}}", "{{#b}}{{x}} {{name}} {{b.x}}{{/b}}", "{{#list}}{{.}}{{/list}}{{#list}}{{x}}{{/list}}", "",
    ]

    @Test(arguments: ["sms", "email", "webhook"])
    func cornersRenderTheSameAsMustache(channel: String) {
        var native = 0
        for (i, source) in Self.corners.enumerated() {
            let body = channel == "webhook" ? "{\"t\": \"\(source.replacingOccurrences(of: "\n", with: " "))\"}" : source
            let record = TemplateRecord(key: "corner.\(i)", channel: channel, locale: "es", subject: channel == "email" ? source : nil,
                                        body: body, html: channel == "email" ? "<p>\(source)</p>" : nil)
            for answers in [false, true] {
                let context = Self.context(answers: answers)
                let mustache = Self.outcome(.mustache, record, data: Self.data, context: context)
                #expect(Self.outcome(.automatic, record, data: Self.data, context: context) == mustache, "\(channel) corner \(i): \(source.debugDescription)")
                let fast = Self.outcome(.fastOnly, record, data: Self.data, context: context)
                if !fast.contains("needs swift-mustache") {
                    #expect(fast == mustache, "\(channel) corner \(i): \(source.debugDescription)")
                    native += 1
                }
            }
        }
        // Most corners are Herald's own; transforms, delimiters, partials and CR LF are swift-mustache's.
        #expect(native >= 2 * (Self.corners.count - 6), "\(native) of \(2 * Self.corners.count) rendered natively")
    }

    @Test func unsupportedTagsAndValuesFallBackToMustache() {
        let context = Self.context(answers: false)
        for source in ["{{uppercased(name)}}", "{{=<% %>=}}<% name %>", "{{#a}}\r\nX\r\n{{/a}}", "{{^empty_list}}{{items}}{{/empty_list}}"] {
            let record = TemplateRecord(key: "t", channel: "sms", locale: "es", subject: nil, body: source, html: nil)
            let fast = Self.outcome(.fastOnly, record, data: Self.data, context: context)
            #expect(fast.contains("needs swift-mustache"), "\(source.debugDescription): \(fast)")
            #expect(Self.outcome(.automatic, record, data: Self.data, context: context) == Self.outcome(.mustache, record, data: Self.data, context: context))
        }
    }

    /// An object or a list printed where text belongs (an amount whose currency is not a
    /// currency code stays an object) fails the message with its name, in both renderers;
    /// it used to print Swift's description of Herald's internal types to the client.
    @Test func printingAnObjectOrAListFailsTheMessageReadably() {
        let record = TemplateRecord(key: "t", channel: "sms", locale: "es", subject: nil, body: "Total: {{order.total}} {{list}}", html: nil)
        let bad = #"{"order": {"total": {"amount": "89.90", "currency": ""}}, "list": [1, 2]}"#
        let expected = "error: template t (es) body prints order.total, list, an object or a list in the data, not text; print one of its fields instead"
        for engine in [Renderer.Engine.mustache, .automatic, .fastOnly] {
            #expect(Self.outcome(engine, record, data: bad, context: Self.context(answers: false)) == expected)
        }
        let good = #"{"order": {"total": {"amount": "89.90", "currency": "EUR"}}, "list": [1, 2]}"#
        let fine = TemplateRecord(key: "t", channel: "sms", locale: "es", subject: nil, body: "Total: {{order.total}}{{#list}} {{.}}{{/list}}", html: nil)
        #expect(Self.outcome(.automatic, fine, data: good, context: Self.context(answers: false)).hasPrefix("subject=-|body=Total: 89,90 € 1 2|"))
    }

    /// A template row of megabytes is not copied into the native parser (sixteen bytes per
    /// character): swift-mustache renders it, with the same result.
    @Test func aHugeTemplateIsLeftToMustache() {
        let big = TemplateRecord(key: "t", channel: "email", locale: "es", subject: "S {{name}}",
                                 body: String(repeating: "x", count: 300_000) + " {{name}} {{raw}}", html: nil)
        let catalog = TemplateCatalog(records: [big], defaultLocale: "es")
        #expect(catalog.templates.first?.compiledNatively == false)
        let small = TemplateRecord(key: "t", channel: "email", locale: "es", subject: "S {{name}}", body: "x {{name}}", html: nil)
        #expect(TemplateCatalog(records: [small], defaultLocale: "es").templates.first?.compiledNatively == true)
        let context = Self.context(answers: false)
        let mustache = Self.outcome(.mustache, big, data: Self.data, context: context)
        #expect(mustache.contains(" Ana <b>\"x\" & 'y'</b>|"), "\(mustache.suffix(80))")
        #expect(Self.outcome(.automatic, big, data: Self.data, context: context) == mustache)
    }
}

/// Issue 28: HTML is escaped by Unicode scalar. A `"` (or `<`, `>`, `&`, `'`) followed by a
/// combining mark is one Character; a Character-wise escaper left it as it was, so a
/// website field could add an attribute to `<a href="{{website}}">`.
@Suite struct HTMLScalarEscapeTests {
    static let specials: [(String, String)] = [("\"", "&quot;"), ("<", "&lt;"), (">", "&gt;"), ("&", "&amp;"), ("'", "&#39;")]
    static let marks = ["\u{0301}", "\u{0308}", "\u{20DD}", "\u{FE0F}"]

    @Test(arguments: [Renderer.Engine.mustache, .fastOnly])
    func aSpecialCharacterFollowedByACombiningMarkIsEscaped(_ engine: Renderer.Engine) throws {
        for (special, entity) in Self.specials {
            for mark in Self.marks {
                let value = "https://x.example/\(special)\(mark) onmouseover=alert(1) x=\(special)"
                let data = String(data: try JSONSerialization.data(withJSONObject: ["website": value]), encoding: .utf8)!
                let record = TemplateRecord(key: "t", channel: "email", locale: "es", subject: "s", body: "b",
                                            html: "<a href=\"{{website}}\">web</a>")
                let outcome = FastTemplateTests.outcome(engine, record, data: data, context: FastTemplateTests.context(answers: false))
                let html = try #require(outcome.split(separator: "|").first { $0.hasPrefix("html=") }).dropFirst(5)
                #expect(html == "<a href=\"https://x.example/\(entity)\(mark) onmouseover=alert(1) x=\(entity)\">web</a>",
                        "\(engine) \(special.unicodeScalars.first!.value) + U+\(String(mark.unicodeScalars.first!.value, radix: 16))")
            }
        }
    }

    @Test func bothRenderersGiveTheSameEscapedText() {
        let value = "a\"\u{0301}b<\u{0308}c>&'\u{0301} plain é"
        let data = #"{"v":"\#(value.replacingOccurrences(of: "\"", with: "\\\""))"}"#
        let record = TemplateRecord(key: "t", channel: "email", locale: "es", subject: "{{v}}", body: "{{v}}", html: "\n<p title=\"{{v}}\">{{v}}</p>")
        let context = FastTemplateTests.context(answers: false)
        #expect(FastTemplateTests.outcome(.mustache, record, data: data, context: context)
                == FastTemplateTests.outcome(.fastOnly, record, data: data, context: context))
    }
}
