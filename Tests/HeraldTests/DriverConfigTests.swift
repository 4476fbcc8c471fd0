import Foundation
import HeraldConfig
import HeraldCore
import HeraldDrivers
import Logging
import Testing

@Suite struct DriverConfigTests {
    func secret(_ text: String) throws -> String {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("secret")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func allThreeDriversParseWithSecretsFromFiles() throws {
        let config = try ConfigurationLoader(environment: [:]).parse("""
            [channels.email]
            driver = "smtp"
            url = "smtps://mail.example.com:465"
            tls = "opportunistic"
            username = "herald"
            password_file = "\(try secret("pw\n"))"
            from = "Peluquería Sol <citas@sol.example>"
            reply_to = "r@sol.example"
            unsubscribe_url = "https://sol.example/u"
            reuse_connections = false
            max_concurrent = 2
            connect_timeout = "3s"
            timeout = "20s"
            [channels.sms]
            driver = "twilio"
            account_sid = "AC1"
            auth_token_file = "\(try secret("tok"))"
            messaging_service_sid = "MG1"
            rate = 1
            [channels.webhook]
            driver = "webhook"
            url = "https://crm.example/h"
            secret_file = "\(try secret("s"))"
            rate = 2.5
            """, file: "t.toml")
        guard let smtp = config.channels[.email]?.settings(as: SMTPDriver.Settings.self),
              let sms = config.channels[.sms]?.settings(as: TwilioDriver.Settings.self),
              let hook = config.channels[.webhook]?.settings(as: WebhookDriver.Settings.self) else { Issue.record("drivers not parsed"); return }
        #expect(smtp.password == "pw" && smtp.tls == .opportunistic && !smtp.reuseConnections)
        #expect(smtp.throughput == Throughput(maxConcurrent: 2, connectTimeout: .seconds(3), timeout: .seconds(20)))
        #expect(sms.authToken == "tok" && sms.messagingServiceSID == "MG1" && sms.baseURL == "https://api.twilio.com")
        #expect(sms.throughput.limits.perSender == Pace(perSecond: 1))
        #expect(hook.secret == "s" && hook.throughput.limits.perSender == Pace(perSecond: 2.5))
        #expect(config.channels[.sms]?.limits == SenderLimits(perSender: Pace(perSecond: 1), defaultSender: "MG1"))
    }

    @Test func rateLimitsPerSenderNamedSendersAndACeilingApplyToEveryDriver() throws {
        let config = try ConfigurationLoader(environment: [:]).parse("""
            [channels.sms]
            driver = "accept"
            rate = 1
            ceiling = 200
            [channels.sms.senders."+34911234567"]
            rate = 3
            [channels.sms.senders."MG0123"]
            rate = 100
            burst = 10
            [channels.email]
            driver = "file"
            from = "Sol <citas@Sol.example>"
            burst = 2
            rate = 5
            [channels.email.senders."Clinica.Example"]
            rate = 14
            """, file: "t.toml")
        let sms = try #require(config.channels[.sms]?.limits)
        #expect(sms.perSender == Pace(perSecond: 1) && sms.ceiling == Pace(perSecond: 200, burst: 20))
        #expect(sms.senders == ["+34911234567": Pace(perSecond: 3)!, "MG0123": Pace(perSecond: 100, burst: 10)!])
        let email = try #require(config.channels[.email]?.limits)
        #expect(email.perSender == Pace(perSecond: 5, burst: 2) && email.defaultSender == "sol.example")
        #expect(email.senders == ["clinica.example": Pace(perSecond: 14)!], "an email sender is named by its domain")
        #expect(email.pace(forKey: "clinica.example") == Pace(perSecond: 14) && email.pace(forKey: "") == Pace(perSecond: 5, burst: 2))
    }

    @Test(arguments: [
        ("[channels.sms]\ndriver = \"accept\"\nburst = 3", "t.toml: channels.sms.burst: needs rate beside it"),
        ("[channels.sms]\ndriver = \"accept\"\nceiling = -1", "t.toml: channels.sms.ceiling: must be a number of messages per second from 0.001 to 100000"),
        ("[channels.sms]\ndriver = \"accept\"\nceiling = 1e300", "t.toml: channels.sms.ceiling: must be a number of messages per second from 0.001 to 100000"),
        ("[channels.sms]\ndriver = \"accept\"\nceiling = inf", "t.toml: channels.sms.ceiling: must be a number of messages per second from 0.001 to 100000"),
        ("[channels.sms]\ndriver = \"accept\"\nrate = nan", "t.toml: channels.sms.rate: must be a number of messages per second from 0.001 to 100000"),
        ("[channels.sms]\ndriver = \"accept\"\nrate = 1\nburst = 0", "t.toml: channels.sms.burst: must be between 1 and 10000, got 0"),
        ("[channels.sms]\ndriver = \"accept\"\n[channels.sms.senders.\"+34911234567\"]\nburst = 2",
         "t.toml: channels.sms.senders.\"+34911234567\".burst: needs rate beside it"),
        ("[channels.sms]\ndriver = \"accept\"\n[channels.sms.senders.\"+34911234567\"]\nrate = 1\nrat = 2",
         "t.toml: channels.sms.senders.\"+34911234567\".rat: unknown key"),
        ("[channels.sms]\ndriver = \"accept\"\nsenders = 3", "t.toml: channels.sms.senders: must be a table of tables, one per sender"),
    ])
    func badRateLimitsNameTheKey(text: String, expected: String) {
        do {
            _ = try ConfigurationLoader(environment: [:]).parse(text, file: "t.toml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test func theAcceptDriverTakesNoKeys() async throws {
        let config = try ConfigurationLoader(environment: [:]).parse("[channels.sms]\ndriver = \"accept\"", file: "t.toml")
        #expect(config.channels[.sms] == DriverConfiguration(AcceptDriver.self, settings: .init()))
        #expect(throws: ConfigError(file: "t.toml", key: "channels.sms.delay", reason: "unknown key for the accept driver")) {
            try ConfigurationLoader(environment: [:]).parse("[channels.sms]\ndriver = \"accept\"\ndelay = \"1s\"", file: "t.toml")
        }
        let receipt = try await AcceptDriver().deliver(rendered(5, channel: .sms, to: "+34600111222", body: "x"))
        #expect(receipt.providerMessageID == "accept/5-1")
    }

    @Test func secretsComeFromSystemdCredentialsWhenNoFileIsGiven() throws {
        let dir = try temporaryDirectory()
        try "from-credential".write(to: dir.appendingPathComponent("twilio-auth-token"), atomically: true, encoding: .utf8)
        let config = try ConfigurationLoader(environment: ["CREDENTIALS_DIRECTORY": dir.path]).parse("""
            [channels.sms]
            driver = "twilio"
            account_sid = "AC1"
            from = "+34911000000"
            """, file: "t.toml")
        guard let sms = config.channels[.sms]?.settings(as: TwilioDriver.Settings.self) else { Issue.record("not parsed"); return }
        #expect(sms.authToken == "from-credential")
    }

    @Test(arguments: [
        ("[channels.sms]\ndriver = \"twilio\"\naccount_sid = \"AC1\"\nfrom = \"+34911000000\"",
         "t.toml: channels.sms.auth_token_file: required for the twilio driver (or a systemd credential named twilio-auth-token)"),
        ("[channels.sms]\ndriver = \"twilio\"\naccount_sid = \"AC1\"\nauth_token_file = \"/nonexistent/x\"\nfrom = \"+34911000000\"",
         "t.toml: channels.sms.auth_token_file: cannot read /nonexistent/x"),
        ("[channels.sms]\ndriver = \"twilio\"\naccount_sid = \"AC1\"\nauth_token_file = \"/nonexistent/x\"",
         "t.toml: channels.sms.from: the twilio driver needs from (an E.164 number) or messaging_service_sid"),
        ("[channels.sms]\ndriver = \"twilio\"\naccount_sid = \"AC1\"\nfrom = \"911 000 000\"",
         "t.toml: channels.sms.from: recipient \"911 000 000\" is not an E.164 phone number: it must start with + and the country code, e.g. +34600111222"),
        ("[channels.email]\ndriver = \"smtp\"\nurl = \"http://mail.example.com\"\nfrom = \"a@b.es\"",
         "t.toml: channels.email.url: must be a smtp or smtps URL, got \"http://mail.example.com\""),
        ("[channels.email]\ndriver = \"smtp\"\nurl = \"smtp://m.example.com\"\nfrom = \"a@b.es\"\ntls = \"always\"",
         "t.toml: channels.email.tls: must be required, opportunistic or none"),
        ("[channels.email]\ndriver = \"smtp\"\nurl = \"smtp://m.example.com\"",
         "t.toml: channels.email.from: required for the smtp driver"),
        ("[channels.email]\ndriver = \"smtp\"\nurl = \"smtp://m.example.com\"\nfrom = \"a@b.es\"\npassword = \"inline\"",
         "t.toml: channels.email.password: unknown key for the smtp driver"),
        ("[channels.webhook]\ndriver = \"webhook\"\nsecret_file = \"/nonexistent/s\"\nrate = 0",
         "t.toml: channels.webhook.rate: must be a number of messages per second from 0.001 to 100000"),
        ("[channels.webhook]\ndriver = \"webhok\"",
         "t.toml: channels.webhook.driver: unknown driver \"webhok\"; expected smtp, twilio, webhook, file, log or accept"),
    ])
    func badDriverSettingsNameTheKey(text: String, expected: String) {
        #expect(throws: (any Error).self) { try ConfigurationLoader(environment: [:]).parse(text, file: "t.toml") }
        do {
            _ = try ConfigurationLoader(environment: [:]).parse(text, file: "t.toml")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test(arguments: [("+34600111222", true), ("+15005550006", true), ("+442071838750", true), ("+34 600", false), ("0034600111222", false),
                      ("+0123456789", false), ("+123456", false), ("+1234567890123456", false), ("", false), ("+", false)])
    func e164(number: String, valid: Bool) {
        #expect((Recipients.validatePhone(number) == nil) == valid)
    }

    @Test(arguments: [("ana@example.es", true), ("ana.lopez+citas@mail.example.co.uk", true), ("o'brien@example.ie", true),
                      ("Ana López <ana@example.es>", true), ("\"López, Ana\" <ana@example.es>", true),
                      ("ana@example", false), ("@example.es", false), ("ana@@example.es", false), ("ana..lopez@example.es", false),
                      ("ana@-example.es", false), ("ana@example.e", false), ("ana lopez@example.es", false), ("ñandú@example.es", false),
                      ("ana@exa_mple.es", false), ("", false)])
    func emailAddresses(text: String, valid: Bool) {
        let result = Recipients.mailbox(text)
        if case .success = result { #expect(valid, "\(text)") } else { #expect(!valid, "\(text)") }
    }

    @Test func mailboxHeaders() throws {
        #expect(try Recipients.mailbox("Ana López <ana@example.es>").get().header == "=?UTF-8?B?QW5hIEzDs3Bleg==?= <ana@example.es>")
        #expect(try Recipients.mailbox("\"López, Ana\" <ana@example.es>").get().name == "López, Ana")
        #expect(try Recipients.mailbox("Ana Lopez <ana@example.es>").get().header == "\"Ana Lopez\" <ana@example.es>")
        #expect(try Recipients.mailbox("ana@example.es").get().header == "ana@example.es")
    }
}

@Suite struct DriverRegistryTests {
    @Test func everyRegisteredDriverIsNamedOnceAndBuildsItself() throws {
        let kinds = DriverRegistry.all.map { $0.kind }
        #expect(Set(kinds).count == kinds.count, "each driver name is registered once")
        #expect(DriverRegistry.names == "smtp, twilio, webhook, file, log or accept")
        let dir = try temporaryDirectory()
        let secret = dir.appendingPathComponent("s")
        try "x".write(to: secret, atomically: true, encoding: .utf8)
        let sections: [String: String] = [
            "smtp": "url = \"smtp://127.0.0.1:25\"\nfrom = \"a@example.es\"\ntls = \"none\"",
            "twilio": "account_sid = \"AC1\"\nfrom = \"+34911000000\"\nauth_token_file = \"\(secret.path)\"",
            "webhook": "secret_file = \"\(secret.path)\"",
            "file": "directory = \"\(dir.path)\"", "log": "", "accept": "",
        ]
        for kind in kinds {
            let text = "[channels.sms]\ndriver = \"\(kind)\"\n\(try #require(sections[kind], "a section for \(kind)"))"
            let config = try ConfigurationLoader(environment: [:]).parse(text, file: "t.toml")
            let driver = try #require(config.channels[.sms]).make(logger: Logger(label: "t"))
            #expect(driver.name == kind, "the driver built for driver = \"\(kind)\" records itself as \(kind)")
            #expect(throws: ConfigError(file: "t.toml", key: "channels.sms.colour", reason: "unknown key for the \(kind) driver")) {
                try ConfigurationLoader(environment: [:]).parse(text + "\ncolour = \"blue\"", file: "t.toml")
            }
        }
    }
}
