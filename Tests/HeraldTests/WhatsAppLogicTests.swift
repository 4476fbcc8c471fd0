import Foundation
import HeraldConfig
import HeraldCore
@testable import HeraldDrivers
@testable import HeraldRender
import Testing

/// Issue 27: WhatsApp's pure rules (the window, Content variables, the form Twilio gets) and
/// its configuration keys.
@Suite struct WhatsAppLogicTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func rendered(sid: String? = nil) -> RenderedMessage {
        var m = RenderedMessage(id: 7, channel: .whatsapp, recipient: "+34600000001", template: "note", locale: "es", attempt: 1,
                                subject: nil, body: "Hola", html: nil)
        m.contentSID = sid
        return m
    }

    @Test func freeTextGoesOnlyInsideTheWindowAndTemplatesAlways() {
        let free = Self.rendered()
        #expect(WhatsAppContent.outsideWindow(free, windowUntil: Self.now.addingTimeInterval(1), now: Self.now) == nil)
        #expect(WhatsAppContent.outsideWindow(free, windowUntil: Self.now, now: Self.now)?.contains("the client last wrote at") == true)
        #expect(WhatsAppContent.outsideWindow(free, windowUntil: nil, now: Self.now)?.contains("the client has never written") == true)
        #expect(WhatsAppContent.outsideWindow(Self.rendered(sid: "HX" + String(repeating: "0", count: 32)), windowUntil: nil, now: Self.now) == nil)
        var sms = free
        sms.channel = .sms
        #expect(WhatsAppContent.outsideWindow(sms, windowUntil: nil, now: Self.now) == nil, "SMS has no window")
    }

    @Test func contentVariablesAreOneLineSortedAndNeverEmpty() throws {
        #expect(try WhatsAppContent.variables([("2", "a\tb\n\nc     d"), ("1", " Ana ")], template: "t", locale: "es") == #"{"1":"Ana","2":"a b c d"}"#)
        #expect(throws: RenderError.self) { try WhatsAppContent.variables([("1", " \n ")], template: "t", locale: "es") }
        #expect(try WhatsAppContent.variables([("1", "https://x.es/a\"b")], template: "t", locale: "es") == #"{"1":"https://x.es/a\"b"}"#)
    }

    @Test func contentVariablesAreReadAsAnObjectOfTextInNumberOrder() throws {
        #expect(try TemplateCatalog.contentVariables(#"{"10": "c", "2": "b", "1": "a"}"#).map(\.0) == ["1", "2", "10"])
        for bad in ["[]", #"{"1": 2}"#, #"{"": "x"}"#, "not json",
                    "{" + (0...100).map { "\"\($0)\": \"x\"" }.joined(separator: ",") + "}"] {
            #expect(throws: (any Error).self, "\(bad)") { try TemplateCatalog.contentVariables(bad) }
        }
    }

    @Test func aTemplateWithAContentSIDRendersItsVariablesAndOneWithoutFallsBackToSMSText() throws {
        var approved = TemplateRecord(key: "visit", channel: "whatsapp", locale: "es", subject: nil, body: "Hola {{name}}", html: nil)
        approved.contentSID = "HX" + String(repeating: "a", count: 32)
        approved.contentVariables = #"{"1": "{{name}}", "2": "{{missing}}"}"#
        let catalog = TemplateCatalog(records: [
            approved, TemplateRecord(key: "note", channel: "sms", locale: "es", subject: nil, body: "Nota {{name}}", html: nil),
        ], defaultLocale: "es")
        func render(_ template: String, _ data: String) -> Result<RenderedMessage, RenderError> {
            Renderer().render(OutboxMessage(id: 1, channel: "whatsapp", recipient: "whatsapp:+34600000001", template: template, locale: "es",
                                            timeZone: "Europe/Madrid", data: data, attempt: 1, maxAttempts: nil),
                              channel: .whatsapp, catalog: catalog, context: RenderContext(timeZone: "Europe/Madrid", now: Self.now))
        }
        let ok = try render("visit", #"{"name": "Ana", "missing": "x"}"#).get()
        #expect(ok.contentSID == approved.contentSID && ok.contentVariables == #"{"1":"Ana","2":"x"}"# && ok.recipient == "+34600000001")
        guard case .failure(.missingVariables(_, _, let part, let names)) = render("visit", #"{"name": "Ana"}"#) else {
            Issue.record("a missing variable fails the message")
            return
        }
        #expect(part == "content variable 2" && names == ["missing"])
        let free = try render("note", #"{"name": "Bea"}"#).get()
        #expect(free.body == "Nota Bea" && free.contentSID == nil && free.channel == .whatsapp)
        guard case .failure(.templateError(let why)) = render("note", "{\"name\": \"" + String(repeating: "x", count: 4100) + "\"}") else {
            Issue.record("free text over 4,096 characters fails")
            return
        }
        #expect(why.contains("over WhatsApp's 4096"))
    }

    @Test func twilioGetsWhatsAppAddressesAndEitherAContentSIDOrABody() {
        let settings = TwilioDriver.Settings(accountSID: "AC1", authToken: "t", from: "+14155238886", statusCallback: "https://h/cb")
        let template = Dictionary(uniqueKeysWithValues: TwilioDriver.fields({
            var m = Self.rendered(sid: "HX" + String(repeating: "b", count: 32))
            m.contentVariables = #"{"1":"Ana"}"#
            return m
        }(), number: "+34600000001", settings: settings))
        #expect(template == ["To": "whatsapp:+34600000001", "From": "whatsapp:+14155238886", "ContentSid": "HX" + String(repeating: "b", count: 32),
                             "ContentVariables": #"{"1":"Ana"}"#, "StatusCallback": "https://h/cb"])
        var withSender = Self.rendered()
        withSender.sender = "whatsapp:+34911000000"
        #expect(Dictionary(uniqueKeysWithValues: TwilioDriver.fields(withSender, number: "+34600000001", settings: settings))
                == ["To": "whatsapp:+34600000001", "From": "whatsapp:+34911000000", "Body": "Hola", "StatusCallback": "https://h/cb"])
        var sms = Self.rendered()
        sms.channel = .sms
        let service = TwilioDriver.Settings(accountSID: "AC1", authToken: "t", messagingServiceSID: "MG1")
        #expect(Dictionary(uniqueKeysWithValues: TwilioDriver.fields(sms, number: "+34600000001", settings: service))
                == ["To": "+34600000001", "Body": "Hola", "MessagingServiceSid": "MG1"])
    }

    @Test func fallbackAfterIsAWhatsAppKeyWithBounds() throws {
        let loader = ConfigurationLoader(environment: [:])
        let dir = try temporaryDirectory()
        try "t".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        func config(_ channel: String, _ extra: String, callback: Bool = true) throws -> Configuration {
            try loader.parse("""
                [channels.\(channel)]
                driver = "twilio"
                account_sid = "AC1"
                auth_token_file = "\(dir.appendingPathComponent("token").path)"
                from = "whatsapp:+14155238886"
                \(callback ? "status_callback = \"https://herald.example.com/webhooks/twilio/status\"" : "")
                \(extra)
                """, file: "/etc/herald/herald.toml")
        }
        #expect(try config("whatsapp", #"fallback_after = "15m""#).whatsappFallbackAfter == .seconds(900))
        #expect(try config("whatsapp", "").whatsappFallbackAfter == nil)
        for (channel, value, key) in [("whatsapp", "30s", "channels.whatsapp.fallback_after"), ("whatsapp", "8d", "channels.whatsapp.fallback_after"),
                                      ("sms", "15m", "channels.sms.fallback_after")] {
            do {
                _ = try config(channel, "fallback_after = \"\(value)\"")
                Issue.record("\(channel) \(value) accepted")
            } catch let error as ConfigError {
                #expect(error.key == key && error.file == "/etc/herald/herald.toml", "\(error)")
            }
        }
        // No receipts would come: every WhatsApp would look undelivered and fall back.
        do {
            _ = try config("whatsapp", #"fallback_after = "15m""#, callback: false)
            Issue.record("fallback_after without receipts accepted")
        } catch let error as ConfigError {
            #expect(error.key == "channels.whatsapp.fallback_after" && "\(error)".contains("delivery receipts"), "\(error)")
        }
        #expect(try loader.parse("[quiet_hours]\nwhatsapp = \"22:00-09:00\"").scheduling.quietHours[.whatsapp] != nil)
    }
}
