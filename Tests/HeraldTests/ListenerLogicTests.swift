import Foundation
import HeraldConfig
@testable import HeraldHTTP
import HeraldInbound
import Testing

/// The listener's pure parts: form bodies, unsubscribe tokens, answers,
/// page language, and the `[http]` / `[replies]` configuration.
@Suite struct ListenerLogicTests {
    @Test func formBodiesDecodeStrictly() throws {
        let pairs = try FormBody.parse(Array("Body=Hola+%C2%BFqu%C3%A9+tal%3F&From=%2B34600000001&Empty=&Flag&&Body=again".utf8))
        #expect(pairs.map { "\($0.0)=\($0.1)" } == ["Body=Hola ¿qué tal?", "From=+34600000001", "Empty=", "Flag=", "Body=again"])
        #expect(FormBody.value("Body", in: pairs) == "Hola ¿qué tal?")
        for bad in ["Body=%", "Body=%4", "Body=%zz", "Body=%FF%FE"] {
            #expect(throws: FormBody.Malformed.self, "\(bad)") { try FormBody.parse(Array(bad.utf8)) }
        }
        #expect(try FormBody.parse([]).isEmpty)
    }

    @Test func unsubscribeTokensVerifyOnlyUnchangedAndUnderTheirKey() throws {
        let key = Array("0123456789abcdef0123456789abcdef".utf8)
        let links = UnsubscribeLinks(publicURL: "https://h.example/", key: key)
        let url = links.url(messageID: 42, channel: .email, recipient: "Ana López <Ana@Example.es>")
        #expect(url.hasPrefix("https://h.example/unsubscribe/v1."))
        let token = String(url.dropFirst("https://h.example/unsubscribe/".count))
        #expect(UnsubscribeToken.verify(token, key: key) == UnsubscribeToken(messageID: 42, channel: "email", recipient: "ana@example.es"))
        #expect(UnsubscribeToken.verify(token, key: Array("another key, just as long as that".utf8)) == nil)
        // Every single-character change of the token is refused.
        let characters = Array(token)
        for i in characters.indices where characters[i] != "." {
            var changed = characters
            changed[i] = characters[i] == "A" ? "B" : "A"
            #expect(UnsubscribeToken.verify(String(changed), key: key) == nil, "position \(i)")
        }
        // A payload signed for another recipient cannot be grafted onto this one's MAC.
        let other = UnsubscribeToken(messageID: 42, channel: "email", recipient: "eve@example.es").sign(key: key)
        let graft = other.split(separator: ".")[1] + "." + token.split(separator: ".")[2]
        #expect(UnsubscribeToken.verify("v1." + graft, key: key) == nil)
        for garbage in ["", "v1", "v1..", "v2.\(token.dropFirst(3))", String(repeating: "A", count: 5000), "v1.%%%.%%%"] {
            #expect(UnsubscribeToken.verify(garbage, key: key) == nil)
        }
    }

    @Test func eachAnswerHasItsTemplateAndItsSwitch() {
        let all = ReplySettings()
        #expect(all.replyTemplate(for: .optOut("STOP")) == "reply.stopped")
        #expect(all.replyTemplate(for: .optIn("ALTA")) == "reply.started")
        #expect(all.replyTemplate(for: .help("AIDE")) == "reply.help")
        #expect(all.replyTemplate(for: .text) == nil)
        let none = ReplySettings(confirmStop: false, confirmStart: false, answerHelp: false)
        #expect([ReplyKeywords.Meaning.optOut("STOP"), .optIn("START"), .help("HELP")].allSatisfy { none.replyTemplate(for: $0) == nil })
    }

    @Test func pagesSpeakTheBrowsersLanguage() {
        #expect(UnsubscribePage.language(acceptLanguage: "fr-CA,fr;q=0.9") == "fr")
        #expect(UnsubscribePage.language(acceptLanguage: "de-DE, es;q=0.8, en;q=0.5") == "es")
        #expect(UnsubscribePage.language(acceptLanguage: "de, it") == "en")
        #expect(UnsubscribePage.language(acceptLanguage: nil) == "en")
        let page = UnsubscribePage(language: "es").confirm(address: "<script>@x.es")
        #expect(page.contains("&lt;script&gt;@x.es") && !page.contains("<script>"))
    }

    @Test func httpAndRepliesConfiguration() throws {
        let dir = try temporaryDirectory()
        let token = dir.appendingPathComponent("token")
        try "secret-token\n".write(to: token, atomically: true, encoding: .utf8)
        let config = try ConfigurationLoader(environment: [:]).parse("""
            [http]
            listen = "[::1]:8088"
            public_url = "https://herald.example.com/hooks/"
            twilio_auth_token_file = "\(token.path)"
            max_body = 32768
            [replies]
            opt_out = ["stop", "Arrêt", "BASTA"]
            opt_in = ["START"]
            help_reply = false
            """, file: "h.toml")
        #expect(config.http.host == "::1" && config.http.port == 8088 && config.http.publicURL == "https://herald.example.com/hooks")
        #expect(config.http.twilioAuthToken == "secret-token" && config.http.maxBodyBytes == 32768)
        #expect(config.replies.keywords.optOut == ["STOP", "ARRET", "BASTA"] && !config.replies.answerHelp && config.replies.confirmStop)
        #expect(config.replies.keywords.classify("basta!") == .optOut("BASTA"))
        #expect(config.http.maxConnections == 256 && config.http.idleTimeout == .seconds(5) && config.http.requestTimeout == .seconds(10))
        #expect(config.http.databaseTimeout == .seconds(3) && config.http.metricsRefresh == .seconds(5) && config.http.metricsAllow == .loopback)

        let limits = try ConfigurationLoader(environment: [:]).parse("""
            [http]
            max_connections = 40
            idle_timeout = "2s"
            request_timeout = "4s"
            database_timeout = "1500ms"
            metrics_allow = ["10.0.0.0/8", "::1"]
            metrics_refresh = "0s"
            """, file: "h.toml").http
        #expect(limits.maxConnections == 40 && limits.idleTimeout == .seconds(2) && limits.requestTimeout == .seconds(4))
        #expect(limits.databaseTimeout == .milliseconds(1500) && limits.metricsRefresh == .zero)
        #expect(limits.metricsAllow.contains("10.2.3.4") && !limits.metricsAllow.contains("127.0.0.1"))

        let bad: [(String, String)] = [
            ("[http]\nlisten = \"8088\"", "h.toml: http.listen: must be host:port"),
            ("[http]\nlisten = \"127.0.0.1:8088\"", "h.toml: http.public_url: required with http.listen"),
            ("[http]\npublic_url = \"ftp://x\"", "h.toml: http.public_url: must be an http(s) URL"),
            ("[http]\npublic_url = \"https://x.example/?a=b\"", "h.toml: http.public_url: must be an http(s) URL"),
            ("[http]\ntwilio_auth_token = \"inline\"", "h.toml: http.twilio_auth_token: unknown key"),
            ("[http]\ntwilio_auth_token_file = \"/nonexistent/token\"", "h.toml: http.twilio_auth_token_file: cannot read"),
            ("[http]\nlink_key_file = \"\(token.path)\"", "h.toml: http.link_key_file: must hold at least 32 characters"),
            ("[http]\nmax_body = 10", "h.toml: http.max_body: must be between"),
            ("[replies]\nopt_in = [\"STOP\"]", "h.toml: replies.opt_in: \"STOP\" is in two keyword lists"),
            ("[replies]\nhelp = []", "h.toml: replies.help: must list at least one word"),
            ("[replies]\ndecline = [\"2\", \"cancel\"]", "h.toml: replies.decline: \"CANCEL\" is in two keyword lists"),
            ("[replies]\nconfirm = [\"1\", \"2\"]", "h.toml: replies.decline: \"2\" is in two keyword lists"),
            ("[replies]\nhelp = \"HELP\"", "h.toml: replies.help: must be a list of words"),
            ("[http]\nmax_connections = 0", "h.toml: http.max_connections: must be between"),
            ("[http]\nidle_timeout = \"0s\"", "h.toml: http.idle_timeout: must be between 1s and 1h"),
            ("[http]\nrequest_timeout = \"forever\"", "h.toml: http.request_timeout:"),
            ("[http]\nidle_timeout = \"20s\"", "h.toml: http.idle_timeout: must be shorter than http.request_timeout"),
            ("[http]\ndatabase_timeout = \"2m\"", "h.toml: http.database_timeout: must be between"),
            ("[http]\nmetrics_allow = [\"10.0.0.0/33\"]", "h.toml: http.metrics_allow: \"10.0.0.0/33\" has a prefix length outside"),
            ("[http]\nmetrics_allow = [\"localhost\"]", "h.toml: http.metrics_allow: \"localhost\" is not an IP address"),
            ("[http]\nmetrics_token_file = \"\(token.path)\"", "h.toml: http.metrics_token_file: the token must be at least 16 characters"),
        ]
        for (text, message) in bad {
            #expect(throws: ConfigError.self, "\(text)") { try ConfigurationLoader(environment: [:]).parse(text, file: "h.toml") }
            do {
                _ = try ConfigurationLoader(environment: [:]).parse(text, file: "h.toml")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(error)")
            }
        }
        // The secret comes from a systemd credential as well, never from the file itself.
        let credentials = try temporaryDirectory()
        try "from-credential".write(to: credentials.appendingPathComponent("twilio-auth-token"), atomically: true, encoding: .utf8)
        let file = dir.appendingPathComponent("herald.toml")
        try "[http]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://h.example\"\n".write(to: file, atomically: true, encoding: .utf8)
        let fromCredential = try ConfigurationLoader(environment: ["CREDENTIALS_DIRECTORY": credentials.path]).load(path: file.path)
        #expect(fromCredential.http.twilioAuthToken == "from-credential")
    }
}
