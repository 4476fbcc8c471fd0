import Foundation
import HeraldInbound
import HeraldCore
import HeraldDrivers
import HeraldScheduling
import Logging

/// Herald's settings: the TOML file (`--config`), then `HERALD_*` environment overrides.
///
/// Every key is documented in `deploy/herald.toml.example`. Environment
/// variables are named `HERALD_<SECTION>_<KEY>` in upper case (for example
/// `HERALD_DATABASE_URL`, `HERALD_WORKER_CONCURRENCY`).
public struct Configuration: Sendable {
    /// `[database]`
    public struct Database: Sendable {
        /// URI or conninfo string as psql takes it; empty = libpq defaults (`PG*`, `.pgpass`).
        public var url = ""
        /// Wake on `NOTIFY herald_message` (otherwise only the poll interval wakes the worker).
        public var listen = true
        /// The longest one of the daemon's statements may run (nil: `off`, the server's setting).
        public var statementTimeout: Duration? = .seconds(60)
    }

    /// `[worker]`
    public struct Worker: Sendable {
        /// Lease owner name; default `hostname:pid`.
        public var id: String?
        /// Deliveries in flight at once.
        public var concurrency = 8
        /// Most messages claimed by one statement.
        public var batchSize = 10
        /// Longest sleep between looks at the outbox when no NOTIFY arrives.
        public var pollInterval: Duration = .seconds(5)
        /// How long a claim is held before another worker may take it over; renewed while delivering.
        public var lease: Duration = .seconds(60)
        /// On SIGTERM, how long in-flight deliveries may take before they are returned to pending.
        public var shutdownGrace: Duration = .seconds(20)
    }

    /// `[retry]`
    public struct Retry: Sendable {
        public var maxAttempts = 5
        public var base: Duration = .seconds(30)
        public var cap: Duration = .seconds(3600)
        public var jitter = true
        public var backoff: Backoff { Backoff(base: base, cap: cap, jitter: jitter) }
    }

    /// `[retention]`: deleting finished messages after a while.
    public struct Retention: Sendable, Equatable {
        /// Finished messages older than this are deleted by the daemon; nil (`"off"`): kept forever.
        public var keep: Duration?
        /// Rows per DELETE (one short transaction each).
        public var batch = 1000
        /// How often the daemon prunes.
        public var interval: Duration = .seconds(3600)

        public init(keep: Duration? = nil, batch: Int = 1000, interval: Duration = .seconds(3600)) {
            self.keep = keep
            self.batch = batch
            self.interval = interval
        }
    }

    /// `[http]`: the listener for provider webhooks, unsubscribe links, health and metrics.
    public struct HTTP: Sendable {
        /// `listen = "127.0.0.1:8088"`: host and port; nil keeps the listener off.
        public var host: String?
        public var port = 0
        /// `public_url`: the URL providers and clients reach Herald at (signatures are computed over it).
        public var publicURL: String?
        /// Twilio's auth token, read from `twilio_auth_token_file` or the credential `twilio-auth-token` (never from this file).
        public var twilioAuthToken: String?
        /// The key unsubscribe links are signed with, from `link_key_file` or the credential
        /// `link-key`; nil: Herald makes one and keeps it in `herald.secret`.
        public var linkKey: [UInt8]?
        /// `sendgrid_public_key_file` (or the credential `sendgrid-public-key`): SendGrid's event
        /// webhook verification key, base64 DER or PEM.
        public var sendGridKey: SendGridEvents.Key?
        /// `mailgun_signing_key_file` (or the credential `mailgun-signing-key`): Mailgun's webhook signing key.
        public var mailgunKey: [UInt8]?
        /// `max_body`: largest request body accepted (bytes).
        public var maxBodyBytes = 64 * 1024
        /// `connections`: the listener's own database connections.
        public var connections = 4
        /// `max_connections`, `idle_timeout`, `request_timeout`, `database_timeout`: limits
        /// that keep slow or silent clients and a silent database from stalling the listener.
        public var maxConnections = 256
        public var idleTimeout: Duration = .seconds(5)
        public var requestTimeout: Duration = .seconds(10)
        public var databaseTimeout: Duration = .seconds(3)
        /// `metrics_allow`, `metrics_token_file`, `metrics_refresh`: who may read `/metrics`
        /// and how often its gauges are read from the database.
        public var metricsAllow: AddressList = .loopback
        public var metricsToken: String?
        public var metricsRefresh: Duration = .seconds(5)

        /// True when `[http] listen` is set.
        public var enabled: Bool { host != nil }
    }

    public var http = HTTP()

    /// `[admin]`: the admin API's listener (off unless `listen` is set).
    public struct Admin: Sendable {
        /// `listen = "127.0.0.1:8431"`: host and port; nil keeps the admin API off.
        public var host: String?
        public var port = 8431
        /// `database_url` / `database_url_file`: the API's own login (a member of `herald_api`);
        /// nil: `[database] url`.
        public var databaseURL: String?
        /// `connections`, `max_connections`, `idle_timeout`, `request_timeout`,
        /// `database_timeout`, `max_body`: as `[http]`'s, for this listener.
        public var connections = 2
        public var maxConnections = 64
        public var idleTimeout: Duration = .seconds(5)
        public var requestTimeout: Duration = .seconds(30)
        public var databaseTimeout: Duration = .seconds(10)
        public var maxBodyBytes = 1 << 20
        /// `public_url`: the console's address as browsers see it; https makes its cookies `Secure`.
        public var publicURL: String?
        /// `trusted_proxies`: proxies whose `X-Forwarded-Proto: https` makes cookies `Secure`.
        public var trustedProxies = AddressList(networks: [])
        /// `session_lifetime`, `session_idle`: how long a console session lasts, and lasts unused.
        public var sessionLifetime: Duration = .seconds(12 * 3600)
        public var sessionIdle: Duration = .seconds(3600)
        /// `bcrypt_cost`: log2 rounds of the password hash (4 to 16; 12 unless set).
        public var bcryptCost: UInt8 = 12
        /// `time_zone`: the zone the console shows times in (UTC unless set).
        public var timeZone = TimeZone(identifier: "UTC") ?? .current

        /// True when `[admin] listen` is set.
        public var enabled: Bool { host != nil }
    }

    public var admin = Admin()
    /// `[replies]`: keyword lists and Herald's answers to STOP, START and HELP.
    public var replies = ReplySettings()
    public var retention = Retention()
    public var database = Database()
    public var worker = Worker()
    public var retry = Retry()
    /// `[scheduling]` and `[quiet_hours]`: time zone, minimum lead, quiet windows per channel.
    public var scheduling = SchedulingPolicy()
    /// `[render] default_locale`: the locale used when a message's own has no template.
    public var defaultLocale = "en"
    /// `[render] sms_max_segments`: an SMS rendering to more billed segments fails instead of being sent.
    public var smsMaxSegments = 3
    /// `[log] level`
    public var logLevel: Logger.Level = .info
    /// Configured channels; a channel not here is not claimed.
    public var channels: [Channel: DriverConfiguration] = [:]
    /// `[channels.whatsapp] fallback_after`: a WhatsApp message with an SMS fallback that has
    /// no delivered receipt this long after it was sent gets its SMS; nil: only failures do.
    public var whatsappFallbackAfter: Duration?
    /// Where the settings came from (for messages).
    public var source: String = "defaults"

    public init() {}

    /// The default configuration file.
    public static let defaultPath = "/etc/herald/herald.toml"
}

/// A configuration problem: one line naming the key and where it was set.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var key: String
    public var reason: String

    public init(file: String, key: String, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    public var description: String {
        key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)"
    }
}
