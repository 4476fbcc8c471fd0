import Foundation
import HeraldCore
import HeraldRender
import Testing

/// Renders a built-in template with its sample data.
func renderBuiltin(_ key: String, _ channel: Channel, _ locale: String, zone: String = "Europe/Madrid",
                   now: Date = Date(timeIntervalSince1970: 1_778_569_200), data: String? = nil) throws -> RenderedMessage {
    let catalog = TemplateCatalog(records: BuiltinTemplates.records, partials: BuiltinTemplates.partials, defaultLocale: "en")
    let template = try catalog.lookup(key: key, channel: channel.rawValue, locale: locale).get()
    let message = OutboxMessage(id: 9, channel: channel.rawValue, recipient: "r", template: key, locale: locale, timeZone: zone,
                                data: data ?? template.record.sampleData ?? "{}", attempt: 1, maxAttempts: nil)
    return try Renderer().render(message, channel: channel, catalog: catalog, context: testContext(zone, now: now, max: 3)).get()
}

@Suite struct BuiltinTemplateTests {
    static let keys = ["appointment.pending", "appointment.confirmed", "appointment.declined", "appointment.cancelled",
                       "appointment.rescheduled", "appointment.reminder", "appointment.feedback", "appointment.recall",
                       "work_order.created", "work_order.status_changed", "work_order.ready", "lead.created",
                       "appointment.status_changed", "lead.status_changed", "staff.appointment.created", "staff.appointment.time_changed",
                       "staff.appointment.cancelled", "staff.appointment.status_changed", "staff.lead.created",
                       "appointment.client_confirmed", "appointment.client_declined", "staff.appointment.client_confirmed",
                       "staff.appointment.client_declined"]

    @Test func everyPromisedMessageTypeExistsInEveryLocaleAndChannel() {
        #expect(BuiltinTemplates.keys == Self.keys)
        let ids = Set(BuiltinTemplates.records.map { "\($0.key) \($0.channel) \($0.locale)" })
        for key in Self.keys {
            for locale in ["es", "fr", "en"] {
                for channel in ["sms", "email", "webhook"] { #expect(ids.contains("\(key) \(channel) \(locale)")) }
            }
        }
        #expect(BuiltinTemplates.records.allSatisfy { $0.sampleData != nil })
    }

    /// Herald's answers to STOP, START and HELP: at most two SMS segments each (accents make
    /// Spanish and French UCS-2), in every locale, with and without a known location, and
    /// none tells a client to reply CANCEL.
    @Test func replyTemplatesExistInEveryLocaleAndFitOneSegment() throws {
        #expect(BuiltinTemplates.replyKeys == ["reply.stopped", "reply.started", "reply.help"])
        for key in BuiltinTemplates.replyKeys {
            for locale in ["es", "fr", "en"] {
                let withLocation = try renderBuiltin(key, .sms, locale)
                #expect((withLocation.segments ?? 9) <= 2, "\(key) \(locale): \(withLocation.body)")
                #expect(withLocation.body.hasPrefix(locale == "es" ? "Peluquería Sol" : locale == "fr" ? "Salon Lumière" : "Bright Smile Dental"))
                let bare = try renderBuiltin(key, .sms, locale, data: #"{"keyword":"STOP","location":{}}"#)
                #expect((bare.segments ?? 9) <= 2 && !bare.body.hasPrefix(":") && !bare.body.contains("{{"), "\(key) \(locale): \(bare.body)")
                #expect(!bare.body.uppercased().contains("CANCEL"))
            }
        }
        let mine = TemplateRecord(key: "reply.help", channel: "sms", locale: "es", subject: nil, body: "edited", html: nil)
        let merged = BuiltinTemplates.withReplies([mine])
        #expect(merged.filter { $0.key == "reply.help" && $0.locale == "es" } == [mine], "an edited row wins")
        #expect(merged.count == 9)
    }

    @Test(arguments: BuiltinTemplateTests.keys)
    func everyBuiltinRendersInEveryLocale(key: String) throws {
        for locale in ["es", "fr", "en"] {
            let sms = try renderBuiltin(key, .sms, locale)
            #expect(!sms.body.contains("{{") && !sms.body.isEmpty)
            #expect((sms.segments ?? 99) <= 3, "\(key) \(locale): \(SMSSegments(sms.body))")
            let email = try renderBuiltin(key, .email, locale)
            #expect(!(email.subject ?? "").isEmpty)
            #expect(email.html?.contains("<html lang=\"\(locale)\">") == true)
            #expect(email.body.contains(locale == "es" ? "Un saludo," : locale == "fr" ? "Cordialement," : "Best regards,"))
            let webhook = try renderBuiltin(key, .webhook, locale)
            let doc = try #require(JSONSerialization.jsonObject(with: Data(webhook.body.utf8)) as? [String: Any])
            #expect(doc["type"] as? String == key)
            #expect(doc["text"] as? String == sms.body)
            #expect(doc["locale"] as? String == locale)
            #expect(doc["data"] is [String: Any])
        }
    }

    @Test func spanishReminderReadsNaturally() throws {
        let sms = try renderBuiltin("appointment.reminder", .sms, "es")
        #expect(sms.body == "Peluquería Sol: te recordamos tu cita del martes 12 de mayo a las 13:00. Confirma o responde aquí: https://book.example/b/8f3k2")
        let email = try renderBuiltin("appointment.reminder", .email, "es")
        #expect(email.subject == "Recordatorio de tu cita: martes 12 de mayo a las 13:00")
        #expect(email.body.hasPrefix("Hola, María:\n\nTe recordamos tu cita para corte y peinado del martes 12 de mayo de 2026 a las 13:00 (en 4 horas)."))
        #expect(email.body.contains("Confirmar mi cita: https://book.example/b/8f3k2/confirm"))
        #expect(email.body.contains("Gestionar mi reserva: https://book.example/b/8f3k2"))
        #expect(email.html?.contains("<a href=\"https://book.example/b/8f3k2/cancel\"") == true)
    }

    @Test func frenchAndEnglishReadNaturally() throws {
        #expect(try renderBuiltin("appointment.confirmed", .sms, "fr", zone: "Europe/Paris").body
                == "Salon Lumière : votre rendez-vous du mardi 12 mai à 13:00 est confirmé. Pour le gérer : https://book.example/b/8f3k2")
        #expect(try renderBuiltin("appointment.rescheduled", .sms, "en", zone: "America/Toronto").body
                == "Bright Smile Dental: your appointment has moved from Monday, May 11 at 10:30 AM to Tuesday, May 12 at 1:00 PM. Manage it here: https://book.example/b/8f3k2")
        let ready = try renderBuiltin("work_order.ready", .email, "fr", zone: "Europe/Paris")
        #expect(ready.subject == "Votre dossier n° A-1042 est prêt")
        #expect(ready.body.contains("Montant à régler : 89,90 €"))
        #expect(try renderBuiltin("work_order.ready", .sms, "en", zone: "America/Toronto").body.contains("Amount due: CA$89.90."))
    }

    @Test func optionalLinksDisappearWhenTheDataHasNone() throws {
        let data = #"{"client":{"name":"Ana"},"location":{"name":"Sol"},"event_at":"2026-05-12T11:00:00Z"}"#
        let sms = try renderBuiltin("appointment.reminder", .sms, "es", data: data)
        #expect(sms.body == "Sol: te recordamos tu cita del martes 12 de mayo a las 13:00.")
        let email = try renderBuiltin("appointment.reminder", .email, "es", data: data)
        #expect(!email.body.contains("http"))
        #expect(!email.body.contains("\n\n\n"))
        #expect(email.html?.contains("<a ") == false)
    }

    @Test func clientSuppliedTextIsEscapedInHTMLOnly() throws {
        let data = #"{"client":{"name":"<script>x</script>"},"location":{"name":"Sol & Co"},"event_at":"2026-05-12T11:00:00Z"}"#
        let email = try renderBuiltin("appointment.confirmed", .email, "en", data: data)
        #expect(email.body.hasPrefix("Hi <script>x</script>,"))
        #expect(email.html?.contains("&lt;script&gt;x&lt;/script&gt;") == true)
        #expect(email.html?.contains("<script>") == false)
        #expect(email.html?.contains("Sol &amp; Co") == true)
    }

    @Test func aBuiltinNeedsItsRequiredVariables() {
        #expect(throws: RenderError.self) { try renderBuiltin("appointment.reminder", .sms, "fr", data: #"{"location":{"name":"Sol"}}"#) }
        do {
            _ = try renderBuiltin("appointment.reminder", .sms, "fr", data: #"{"location":{"name":"Sol"}}"#)
        } catch {
            #expect("\(error)" == "template appointment.reminder (fr) body uses event_at, missing from data")
        }
    }

    @Test func builtinsPassLint() {
        let problems = TemplateLint(records: BuiltinTemplates.records, partials: BuiltinTemplates.partials, defaultLocale: "en",
                                    context: testContext("Europe/Madrid", max: 3)).run()
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func lintCatchesEveryKindOfProblem() {
        let records = [
            TemplateRecord(key: "ok", channel: "sms", locale: "en", subject: nil, body: "Hi {{name}}", html: nil, sampleData: #"{"name":"A"}"#),
            TemplateRecord(key: "syntax", channel: "sms", locale: "en", subject: nil, body: "Hi {{#name}}", html: nil, sampleData: #"{"name":"A"}"#),
            TemplateRecord(key: "partial", channel: "sms", locale: "es", subject: nil, body: "Hi {{> firma}}", html: nil, sampleData: "{}"),
            TemplateRecord(key: "nosample", channel: "sms", locale: "en", subject: nil, body: "Hi", html: nil),
            TemplateRecord(key: "missing", channel: "email", locale: "fr", subject: "{{sujet}}", body: "b", html: nil, sampleData: "{}"),
            TemplateRecord(key: "long", channel: "sms", locale: "en", subject: nil, body: "{{t}}{{t}}{{t}}{{t}}", html: nil,
                           sampleData: #"{"t":"\#(String(repeating: "x", count: 130))"}"#),
            TemplateRecord(key: "json", channel: "webhook", locale: "en", subject: nil, body: "{nope}", html: nil, sampleData: "{}"),
        ]
        let problems = TemplateLint(records: records, partials: [], defaultLocale: "en", context: testContext(max: 3)).run().map(\.description)
        #expect(problems.count == 6, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("syntax sms en: template syntax (sms, en) does not compile") })
        #expect(problems.contains { $0 == "partial sms es: template partial (sms, es) uses unknown partial \"firma\" (herald.template_partial has none for es, en)" })
        #expect(problems.contains { $0.hasPrefix("nosample sms en: no sample_data") })
        #expect(problems.contains { $0 == "missing email fr: template missing (fr) subject uses sujet, missing from data" })
        #expect(problems.contains { $0.hasPrefix("long sms en: template long (en) renders an SMS of 4 segments") })
        #expect(problems.contains { $0 == "json webhook en: template json (en) webhook body is not valid JSON once rendered" })
    }
}
