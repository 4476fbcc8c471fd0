import Foundation
import HeraldConfig
import HeraldCore
import HeraldDrivers
import Testing

@Suite struct ConfigurationTests {
    let loader = ConfigurationLoader(environment: [:])

    @Test func defaultsWithNoFile() throws {
        let config = try ConfigurationLoader(environment: [:]).load(path: nil)
        #expect(config.worker.concurrency == 8)
        #expect(config.retry.maxAttempts == 5)
        #expect(config.channels.isEmpty)
    }

    @Test func theExampleFileParsesAndNamesEveryKnownKey() throws {
        let path = repositoryRoot.appendingPathComponent("deploy/herald.toml.example").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let config = try loader.parse(text, file: path)
        #expect(config.channels[.email] != nil)
        // Every scalar key the loader knows is documented in the example.
        for key in ["url", "url_file", "listen", "id", "concurrency", "batch_size", "poll_interval", "lease",
                    "shutdown_grace", "max_attempts", "base", "cap", "jitter", "default_locale", "level",
                    "driver", "directory", "from", "delay", "include_body", "default_time_zone", "minimum_lead",
                    "sms", "email", "webhook", "sms_max_segments", "max_concurrent", "rate", "connect_timeout", "timeout",
                    "ca_file", "tls", "username", "password_file", "envelope_from", "reply_to", "unsubscribe_url",
                    "reuse_connections", "base_url", "account_sid", "auth_token_file", "messaging_service_sid",
                    "status_callback", "secret_file", "keep", "batch", "interval"] {
            #expect(text.contains("\(key) ="), "key \(key) is not documented in herald.toml.example")
        }
    }

    @Test func fullFile() throws {
        let config = try loader.parse("""
            [database]
            url = "postgresql://herald@db/herald"
            listen = false
            [worker]
            id = "w1"
            concurrency = 16
            batch_size = 50
            poll_interval = "2s"
            lease = "2m"
            shutdown_grace = "10s"
            [retry]
            max_attempts = 3
            base = "1s"
            cap = "1m"
            jitter = false
            [render]
            default_locale = "es"
            [log]
            level = "debug"
            [channels.email]
            driver = "file"
            directory = "/tmp/out"
            [channels.sms]
            driver = "log"
            include_body = true
            """)
        #expect(config.database.url == "postgresql://herald@db/herald")
        #expect(config.database.listen == false)
        #expect(config.worker.id == "w1")
        #expect(config.worker.concurrency == 16)
        #expect(config.worker.batchSize == 50)
        #expect(config.worker.pollInterval == .seconds(2))
        #expect(config.worker.lease == .seconds(120))
        #expect(config.retry.backoff == Backoff(base: .seconds(1), cap: .seconds(60), jitter: false))
        #expect(config.defaultLocale == "es")
        #expect(config.logLevel == .debug)
        #expect(config.channels[.email] == DriverConfiguration(FileDriver.self, settings: .init(directory: "/tmp/out", from: "Herald <herald@herald.localhost>", delay: .zero)))
        #expect(config.channels[.sms] == DriverConfiguration(LogDriver.self, settings: .init(includeBody: true)))
    }

    @Test(arguments: [
        ("[worker]\nconcurency = 4", "worker.concurency"),
        ("[worker]\nconcurrency = \"many\"", "worker.concurrency"),
        ("[worker]\nconcurrency = 0", "worker.concurrency"),
        ("[worker]\nlease = \"soon\"", "worker.lease"),
        ("[retry]\nbase = \"1h\"\ncap = \"1m\"", "retry.cap"),
        ("[databse]\nurl = \"x\"", "databse"),
        ("[channels.fax]\ndriver = \"file\"", "channels.fax"),
        ("[channels.sms]\ndriver = \"carrier-pigeon\"", "channels.sms.driver"),
        ("[channels.sms]\ndriver = \"file\"\ndirectroy = \"/x\"", "channels.sms.directroy"),
        ("[channels.sms]\ndirectory = \"/x\"", "channels.sms.driver"),
        ("[log]\nlevel = \"loud\"", "log.level"),
        ("[retry]\njitter = \"yes\"", "retry.jitter"),
        ("[scheduling]\ndefault_time_zone = \"Europe/Madird\"", "scheduling.default_time_zone"),
        ("[scheduling]\nminimum_lead = \"soon\"", "scheduling.minimum_lead"),
        ("[quiet_hours]\nsms = \"21:00\"", "quiet_hours.sms"),
        ("[quiet_hours]\nemail = \"08:00-08:00\"", "quiet_hours.email"),
        ("[quiet_hours]\nfax = \"off\"", "quiet_hours.fax"),
        ("[database]\nstatement_timeout = \"30d\"", "database.statement_timeout"),
        ("[database]\nstatement_timeout = \"0s\"", "database.statement_timeout"),
    ])
    func badKeysNameTheKeyAndTheFile(text: String, key: String) {
        #expect {
            _ = try loader.parse(text, file: "/etc/herald/herald.toml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.file == "/etc/herald/herald.toml"
                && error.description.hasPrefix("/etc/herald/herald.toml: \(key): ")
                && !error.description.contains("\n")
        }
    }

    @Test func invalidTOMLIsOneLine() {
        #expect {
            _ = try loader.parse("[worker\nconcurrency = ", file: "x.toml")
        } throws: { error in
            "\(error)".hasPrefix("x.toml: not valid TOML at line") && !"\(error)".contains("\n")
        }
    }

    @Test func schedulingKeys() throws {
        let config = try loader.parse("""
            [scheduling]
            default_time_zone = "America/Sao_Paulo"
            minimum_lead = "45m"
            [quiet_hours]
            sms = "22:00-07:30"
            email = "23:00-06:00"
            """)
        #expect(config.scheduling.defaultTimeZone == "America/Sao_Paulo")
        #expect(config.scheduling.minimumLead == .seconds(2700))
        #expect(config.scheduling.quietHours[.sms]?.description == "22:00-07:30")
        #expect(config.scheduling.quietHours[.email]?.description == "23:00-06:00")
        #expect(try loader.parse("[quiet_hours]\nsms = \"off\"").scheduling.quietHours[.sms] == nil)
        #expect(try loader.parse("").scheduling.quietHours[.sms]?.description == "21:00-08:00")
    }

    @Test func environmentOverridesTheFile() throws {
        let path = try writeConfig("[database]\nurl = \"postgresql:///fromfile\"\n[worker]\nconcurrency = 2\n")
        let config = try ConfigurationLoader(environment: [
            "HERALD_DATABASE_URL": "postgresql:///fromenv", "HERALD_WORKER_CONCURRENCY": "12", "HERALD_RETRY_JITTER": "off",
        ]).load(path: path)
        #expect(config.database.url == "postgresql:///fromenv")
        #expect(config.worker.concurrency == 12)
        #expect(config.retry.jitter == false)
    }

    @Test func badEnvironmentValueNamesTheVariableSource() {
        #expect {
            _ = try ConfigurationLoader(environment: ["HERALD_WORKER_CONCURRENCY": "lots"]).load(path: nil)
        } throws: { error in
            "\(error)" == "environment: worker.concurrency: must be an integer"
        }
    }

    @Test func secretsFromFilesAndCredentialsDirectory() throws {
        let dir = try temporaryDirectory()
        try "postgresql://u:secret@h/db\n".write(to: dir.appendingPathComponent("database-url"), atomically: true, encoding: .utf8)
        let fromCredentials = try ConfigurationLoader(environment: ["CREDENTIALS_DIRECTORY": dir.path]).load(path: nil)
        #expect(fromCredentials.database.url == "postgresql://u:secret@h/db")
        let path = try writeConfig("[database]\nurl_file = \"\(dir.appendingPathComponent("database-url").path)\"\n")
        #expect(try ConfigurationLoader(environment: [:]).load(path: path).database.url == "postgresql://u:secret@h/db")
    }

    @Test func missingExplicitFileIsAnError() {
        #expect(throws: ConfigError.self) { try ConfigurationLoader(environment: [:]).load(path: "/nonexistent/herald.toml") }
    }
}
