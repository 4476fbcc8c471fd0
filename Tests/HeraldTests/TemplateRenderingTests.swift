import Foundation
import HeraldCore
import HeraldRender
import Testing

/// Renders one ad-hoc template (key "t") with `data`.
func renderOne(channel: Channel = .sms, locale: String = "en", subject: String? = nil, body: String, html: String? = nil,
               data: String, partials: [PartialRecord] = [], messageLocale: String? = nil,
               context: RenderContext = testContext(), eventAt: Date? = nil, locationID: String? = nil) -> Result<RenderedMessage, RenderError> {
    let record = TemplateRecord(key: "t", channel: channel.rawValue, locale: locale, subject: subject, body: body, html: html, version: 4)
    let catalog = TemplateCatalog(records: [record], partials: partials, defaultLocale: "en")
    let message = OutboxMessage(id: 42, channel: channel.rawValue, recipient: "+34600000000", template: "t", locale: messageLocale ?? locale,
                                timeZone: nil, data: data, attempt: 1, maxAttempts: nil,
                                schedule: .init(sendAt: Date(timeIntervalSince1970: 0), eventAt: eventAt, locationID: locationID))
    return Renderer().render(message, channel: channel, catalog: catalog, context: context)
}

@Suite struct TemplateRenderingTests {
    @Test func missingNestedKeyIsAnError() {
        let result = renderOne(body: "Hi {{client.name}}, call {{client.phone}}", data: #"{"client":{"name":"Ana"}}"#)
        #expect(throws: RenderError.missingVariables(template: "t", locale: "en", part: "body", names: ["client.phone"])) { try result.get() }
        #expect("\(result)".contains("template t (en) body uses client.phone, missing from data"))
    }

    @Test func missingDeepKeyAndMissingParentAreNamedByTheirPath() {
        #expect(throws: RenderError.missingVariables(template: "t", locale: "en", part: "body", names: ["a.b.c"])) {
            try renderOne(body: "{{a.b.c}}", data: #"{"a":{"b":{}}}"#).get()
        }
        #expect(throws: RenderError.missingVariables(template: "t", locale: "en", part: "body", names: ["order"])) {
            try renderOne(body: "#{{order.number}}", data: #"{}"#).get()
        }
    }

    @Test func insideASectionOuterNamesAreFoundWithoutFalseAlarms() throws {
        let r = try renderOne(body: "{{#client}}{{name}} at {{shop}}{{/client}}", data: #"{"client":{"name":"Ana"},"shop":"Sol"}"#).get()
        #expect(r.body == "Ana at Sol")
        let items = try renderOne(body: "{{#items}}{{label}} for {{client.name}};{{/items}}",
                                  data: #"{"client":{"name":"Ana"},"items":[{"label":"a"},{"label":"b"}]}"#).get()
        #expect(items.body == "a for Ana;b for Ana;")
    }

    @Test func aMissingNameInsideAListItemIsAnError() {
        let result = renderOne(body: "{{#items}}{{label}};{{/items}}", data: #"{"items":[{"label":"a"},{"other":"b"}]}"#)
        #expect(throws: RenderError.missingVariables(template: "t", locale: "en", part: "body", names: ["label"])) { try result.get() }
    }

    @Test func optionalSectionsMayBeAbsentOrNull() throws {
        let body = "Hi{{#manage_url}} {{manage_url}}{{/manage_url}}{{^vip}}!{{/vip}}{{#client.vip}} VIP{{/client.vip}}"
        #expect(try renderOne(body: body, data: #"{"client":{}}"#).get().body == "Hi!")
        #expect(try renderOne(body: body, data: #"{"manage_url":null,"client":{"vip":true},"vip":true}"#).get().body == "Hi VIP")
    }

    @Test func htmlEscapesValuesAndTextDoesNot() throws {
        let r = try renderOne(channel: .email, subject: "Re: {{name}}", body: "Hi {{name}} & co", html: "<p>Hi {{name}} &amp; co</p>",
                              data: #"{"name":"Ana <b>\"&'"}"#).get()
        #expect(r.subject == "Re: Ana <b>\"&'")
        #expect(r.body == "Hi Ana <b>\"&' & co")
        #expect(r.html == "<p>Hi Ana &lt;b&gt;&quot;&amp;&#39; &amp; co</p>")
    }

    @Test func webhookValuesAreEscapedForJSON() throws {
        let r = try renderOne(channel: .webhook, body: #"{"name": "{{name}}", "id": {{herald.message_id}}, "data": {{{herald.data_json}}}}"#,
                              data: #"{"name":"A \"quoted\"\nname\\"}"#).get()
        let doc = try #require(JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
        #expect(doc["name"] as? String == "A \"quoted\"\nname\\")
        #expect(doc["id"] as? Int == 42)
        #expect((doc["data"] as? [String: Any])?["name"] as? String == "A \"quoted\"\nname\\")
    }

    @Test func webhookBodyThatIsNotJSONFails() {
        #expect(throws: RenderError.invalidJSON(template: "t", locale: "en")) {
            try renderOne(channel: .webhook, body: #"{"name": {{name}}}"#, data: #"{"name":"Ana"}"#).get()
        }
    }

    @Test func timestampsFormatInTheMessageZoneAndLocale() throws {
        let data = #"{"event_at":"2026-05-12T11:00:00Z","local":"2026-05-12T13:00","day":"2026-05-12"}"#
        let body = "{{event_at}}|{{event_at.time}}|{{event_at.weekday}}|{{local.time}}|{{day}}|{{event_at.relative}}|{{capitalized(event_at.weekday)}}"
        let es = try renderOne(locale: "es", body: body, data: data, context: testContext("Europe/Madrid", now: Date(timeIntervalSince1970: 1_778_569_200))).get()
        // now = 2026-05-12T07:00Z; the event is 4 hours later.
        #expect(es.body == "martes 12 de mayo a las 13:00|13:00|martes|13:00|martes 12 de mayo|en 4 horas|Martes")
        let ny = try renderOne(locale: "en", body: "{{event_at}} / {{local.time}}", data: data, context: testContext("America/New_York")).get()
        #expect(ny.body == "Tuesday, May 12 at 7:00 AM / 1:00 PM")
    }

    @Test func regionalLocaleFormatsWithItsOwnConventionsWhenTheTemplateIsInItsLanguage() throws {
        let data = #"{"at":"2026-05-12T19:00:00Z"}"#
        let mx = try renderOne(locale: "es", body: "{{at.time}}", data: data, messageLocale: "es-MX", context: testContext("America/Mexico_City")).get()
        #expect(mx.body == "1:00 p.m.")
        // A German message falling back to the English template gets English dates, not German ones.
        let de = try renderOne(locale: "en", body: "{{at.weekday}}", data: data, messageLocale: "de-DE", context: testContext("Europe/Berlin")).get()
        #expect(de.body == "Tuesday")
    }

    @Test func aDottedLookupIntoAStringNumberOrBooleanIsAnError() {
        // previous_event_at is a string Herald does not read as a time: {{previous_event_at.time}} must not print nothing.
        #expect(throws: RenderError.missingVariables(template: "t", locale: "en", part: "body", names: ["previous_event_at.time", "n.x", "b.y"])) {
            try renderOne(body: "{{previous_event_at.time}} {{n.x}} {{b.y}}", data: #"{"previous_event_at":"tomorrow","n":3,"b":true}"#).get()
        }
    }

    @Test func scalarsPrintAsThemselvesAndFalseOrEmptyIsFalseInSections() throws {
        let body = "{{n}} {{d}} {{f}} {{capitalized(s)}}{{#e}}E{{/e}}{{^e}}no-e{{/e}}{{#no}}NO{{/no}}{{^no}}no-no{{/no}}{{#yes}} yes{{/yes}} {{plusone(n)}}"
        let r = try renderOne(body: body, data: #"{"n":3,"d":2.5,"f":4.0,"s":"ana","e":"","no":false,"yes":true}"#).get()
        #expect(r.body == "3 2.5 4 Anano-eno-no yes 4")
    }

    @Test(arguments: [("2026-05-12T13:00:00+02", "13:00"), ("2026-05-12 11:00:00+00", "13:00"), ("2026-05-12T11:00:00.123456+00:00", "13:00"),
                      ("2026-05-12T05:00:00-0600", "13:00"), ("2026-05-12T13:00:00", "13:00"), ("2026-05-12T13:00", "13:00")])
    func timestampFormsHostsSend(text: String, time: String) throws {
        #expect(try renderOne(locale: "es", body: "{{v.time}}", data: #"{"v":"\#(text)"}"#, context: testContext("Europe/Madrid")).get().body == time)
    }

    @Test func unknownTimestampFieldIsAnError() {
        #expect(throws: RenderError.missingVariables(template: "t", locale: "en", part: "body", names: ["event_at.dat"])) {
            try renderOne(body: "{{event_at.dat}}", data: #"{"event_at":"2026-05-12T11:00:00Z"}"#).get()
        }
    }

    @Test(arguments: ["2026-13-01T10:00:00Z", "2026-02-30", "2026-05-12T25:00", "12/05/2026", "2026-05-12T10:00:00+25:00", "2026-05-12Tfoo"])
    func stringsThatAreNotTimestampsStayStrings(text: String) throws {
        #expect(try renderOne(body: "{{v}}", data: #"{"v":"\#(text)"}"#).get().body == text)
    }

    @Test func eventAtComesFromTheMessageColumnUnlessDataHasIt() throws {
        let column = Date(timeIntervalSince1970: 1_778_583_600)  // 2026-05-12T11:00Z
        #expect(try renderOne(locale: "fr", body: "{{event_at}}", data: "{}", context: testContext("Europe/Paris"), eventAt: column).get().body
                == "mardi 12 mai à 13:00")
        #expect(try renderOne(locale: "fr", body: "{{event_at.time}}", data: #"{"event_at":"2026-05-12T12:00:00Z"}"#,
                              context: testContext("Europe/Paris"), eventAt: column).get().body == "14:00")
    }

    @Test func moneyObjectsPrintInTheLocale() throws {
        let data = #"{"total":{"amount":"89.90","currency":"EUR"}}"#
        #expect(try renderOne(locale: "es", body: "{{total}}", data: data).get().body == "89,90 €")
        #expect(try renderOne(locale: "fr", body: "{{total}} ({{total.amount}} {{total.currency}})", data: data).get().body == "89,90 € (89.9 EUR)")
        #expect(try renderOne(locale: "en", body: "{{total}}", data: #"{"total":{"amount":5,"currency":"usd"}}"#).get().body == "$5.00")
    }

    @Test func locationFromTheDatabaseWithDataOverridingFieldByField() throws {
        let location = LocationDetails(id: "mad", name: "Peluquería Sol", address: "Calle Mayor 12", phone: "+34 910 000 000")
        let body = "{{location.name}}, {{location.address}}, {{location.phone}}"
        #expect(try renderOne(body: body, data: "{}", context: testContext(location: location)).get().body
                == "Peluquería Sol, Calle Mayor 12, +34 910 000 000")
        #expect(try renderOne(body: body, data: #"{"location":{"address":"Calle Luna 3"}}"#, context: testContext(location: location)).get().body
                == "Peluquería Sol, Calle Luna 3, +34 910 000 000")
        #expect(throws: RenderError.missingVariables(template: "t", locale: "en", part: "body", names: ["location.website"])) {
            try renderOne(body: "{{location.website}}", data: "{}", context: testContext(location: location)).get()
        }
    }

    @Test func heraldVariables() throws {
        let r = try renderOne(body: "{{herald.message_id}} {{herald.locale}} {{herald.time_zone}} {{herald.template}}", data: "{}",
                              context: testContext("Europe/Madrid")).get()
        #expect(r.body == "42 en Europe/Madrid t")
        #expect(r.templateVersion == 4)
    }

    @Test func partialsExpandInTheTemplatesLocaleWithFallback() throws {
        let partials = [PartialRecord(name: "signature", locale: "fr", body: "— {{shop}}"),
                        PartialRecord(name: "signature", locale: "en", body: "-- {{shop}}"),
                        PartialRecord(name: "footer", locale: "en", body: "{{> signature}} (footer)")]
        #expect(try renderOne(locale: "fr-CA", body: "Merci {{> signature}}", data: #"{"shop":"Lumière"}"#, partials: partials).get().body
                == "Merci — Lumière")
        // footer exists only in en (the default); inside it, signature resolves in the template's locale first.
        #expect(try renderOne(locale: "fr", body: "{{>footer}}", data: #"{"shop":"Lumière"}"#, partials: partials).get().body
                == "— Lumière (footer)")
    }

    @Test func unknownOrRecursivePartialBreaksOnlyThatTemplate() {
        guard case .failure(.templateError(let reason)) = renderOne(body: "Hi {{> sig}}", data: "{}") else {
            Issue.record("expected a template error"); return
        }
        #expect(reason.contains("template t (sms, en) uses unknown partial \"sig\""))
        let loop = [PartialRecord(name: "a", locale: "en", body: "{{> b}}"), PartialRecord(name: "b", locale: "en", body: "{{> a}}")]
        guard case .failure(.templateError(let loopReason)) = renderOne(body: "{{> a}}", data: "{}", partials: loop) else {
            Issue.record("expected a template error"); return
        }
        #expect(loopReason.contains("a > b > a"))
    }

    @Test func smsSegmentsAreRecordedAndTheMaximumEnforced() throws {
        let ok = try renderOne(body: "  {{text}}\n", data: #"{"text":"Hola"}"#, context: testContext(max: 1)).get()
        #expect(ok.body == "Hola")
        #expect(ok.segments == 1)
        let long = String(repeating: "á", count: 140)
        let result = renderOne(body: "{{text}}", data: #"{"text":"\#(long)"}"#, context: testContext(max: 2))
        guard case .failure(let error) = result, case .smsTooLong(let rendered, let segments, let maximum) = error else {
            Issue.record("expected smsTooLong, got \(result)"); return
        }
        #expect(segments.count == 3)
        #expect(maximum == 2)
        #expect(rendered.body == long)
        #expect(error.description.contains("renders an SMS of 3 segments (UCS-2, 140 UTF-16 units)"))
        #expect(error.description.contains("over the maximum of 2 ([render] sms_max_segments)"))
        #expect(try renderOne(body: "{{text}}", data: #"{"text":"\#(long)"}"#, context: testContext(max: nil)).get().segments == 3)
    }

    @Test func subjectIsOneLine() throws {
        let r = try renderOne(channel: .email, subject: "\n  Cita\n  {{x}} ", body: "b", data: #"{"x":"hoy"}"#).get()
        #expect(r.subject == "Cita hoy")
    }
}
