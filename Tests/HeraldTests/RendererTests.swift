import Foundation
import HeraldCore
import HeraldRender
import Testing

/// A render context for tests: UTC unless told, a fixed "now".
func testContext(_ zone: String = "UTC", now: Date = Date(timeIntervalSince1970: 1_778_400_000), max: Int? = nil,
                 location: LocationDetails? = nil) -> RenderContext {
    RenderContext(timeZone: zone, now: now, location: location, smsMaxSegments: max)
}

@Suite struct RendererTests {
    let records = [
        TemplateRecord(key: "appointment.reminder", channel: "email", locale: "es", subject: "Recordatorio: {{service}}",
                       body: "Hola {{name}}, te esperamos el {{when}}.{{#manage_url}} Gestiona tu cita: {{manage_url}}{{/manage_url}}",
                       html: "<p>Hola {{name}}</p>"),
        TemplateRecord(key: "appointment.reminder", channel: "email", locale: "fr-CA", subject: "Rappel",
                       body: "Bonjour {{name}} (CA)", html: nil),
        TemplateRecord(key: "appointment.reminder", channel: "email", locale: "en", subject: "Reminder", body: "Hi {{name}}", html: nil),
        TemplateRecord(key: "appointment.reminder", channel: "sms", locale: "en", subject: nil, body: "Hi {{client.first}}, {{#items}}{{label}};{{/items}}", html: nil),
        TemplateRecord(key: "broken", channel: "sms", locale: "en", subject: nil, body: "Hi {{#name}}", html: nil),
    ]

    func message(_ locale: String?, data: String = #"{"name":"Ana <b>","when":"martes","service":"Corte"}"#,
                 key: String = "appointment.reminder") -> OutboxMessage {
        OutboxMessage(id: 7, channel: "email", recipient: "a@example.com", template: key, locale: locale,
                      timeZone: nil, data: data, attempt: 1, maxAttempts: nil)
    }

    func render(_ m: OutboxMessage, _ channel: Channel = .email, defaultLocale: String = "en") -> Result<RenderedMessage, RenderError> {
        Renderer().render(m, channel: channel, catalog: TemplateCatalog(records: records, defaultLocale: defaultLocale), context: testContext())
    }

    @Test func exactLocale() throws {
        let r = try render(message("es")).get()
        #expect(r.locale == "es")
        #expect(r.subject == "Recordatorio: Corte")
        #expect(r.body == "Hola Ana <b>, te esperamos el martes.")
        #expect(r.html == "<p>Hola Ana &lt;b&gt;</p>")
    }

    @Test(arguments: [("es-ES", "es"), ("es_MX", "es"), ("fr-CA", "fr-CA"), ("FR-ca", "fr-CA"), ("fr", "en"), ("de-DE", "en"), (nil, "en")])
    func localeFallback(asked: String?, used: String) throws {
        let data = #"{"name":"Ana","when":"x","service":"y"}"#
        #expect(try render(message(asked, data: data)).get().locale == used)
    }

    @Test func defaultLocaleIsConfigurable() throws {
        let data = #"{"name":"Ana","when":"x","service":"y"}"#
        #expect(try render(message("de", data: data), defaultLocale: "es-ES").get().locale == "es")
    }

    @Test func optionalSectionsRenderOnlyWhenPresent() throws {
        let with = try render(message("es", data: #"{"name":"A","when":"w","service":"s","manage_url":"https://x/m?a=1&b=2"}"#)).get()
        #expect(with.body.hasSuffix("Gestiona tu cita: https://x/m?a=1&b=2"))
    }

    @Test func missingVariableIsAnErrorNamingTemplateLocaleAndVariable() {
        let result = render(message("es", data: #"{"name":"Ana","service":"s"}"#))
        #expect(throws: RenderError.missingVariables(template: "appointment.reminder", locale: "es", part: "body", names: ["when"])) { try result.get() }
        #expect("\(result)".contains("uses when, missing from data"))
    }

    @Test func nullCountsAsMissing() {
        #expect(throws: RenderError.self) { try render(message("es", data: #"{"name":null,"when":"w","service":"s"}"#)).get() }
    }

    @Test func nestedValuesAndLists() throws {
        var m = message("en", data: #"{"client":{"first":"Zoé"},"items":[{"label":"a"},{"label":"b"}]}"#)
        m.channel = "sms"
        #expect(try render(m, .sms).get().body == "Hi Zoé, a;b;")
    }

    @Test(arguments: [("[1,2]", "got a JSON array"), ("\"text\"", "got a JSON string"), ("42", "got a JSON number"), ("{bad", "not valid JSON")])
    func dataMustBeAnObject(data: String, reason: String) {
        let result = render(message("en", data: data))
        guard case .failure(.badData(let text)) = result else { Issue.record("expected badData, got \(result)"); return }
        #expect(text.contains(reason))
    }

    @Test func missingTemplateListsTheLocalesTried() {
        let result = render(message("fr-CA", key: "nope"))
        #expect(throws: RenderError.missingTemplate(key: "nope", channel: "email", triedLocales: ["fr-CA", "fr", "en"])) { try result.get() }
    }

    @Test func brokenTemplateFailsOnlyItsMessages() throws {
        var m = message("en", key: "broken")
        m.channel = "sms"
        guard case .failure(.templateError(let reason)) = render(m, .sms) else { Issue.record("expected template error"); return }
        #expect(reason.contains("broken (sms, en) does not compile"))
        #expect(try render(message("en", data: #"{"name":"x"}"#)).get().body == "Hi x")
    }
}
