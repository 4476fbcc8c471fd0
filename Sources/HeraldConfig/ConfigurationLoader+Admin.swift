import Foundation
import HeraldCore
import HeraldInbound
import HeraldPostgres

/// `[admin]`: the admin API's listener and its database login.
extension ConfigurationLoader {
    func setAdmin(key: String, _ raw: RawValue, file: String, config: inout Configuration) throws {
        let path = "admin.\(key)"
        switch key {
        case "listen":
            let (host, port) = try hostPort(try string(raw, path, file), path, file)
            config.admin.host = host
            config.admin.port = port
        case "database_url": config.admin.databaseURL = try adminURL(try string(raw, path, file), path, file)
        case "database_url_file":
            config.admin.databaseURL = try adminURL(try secretFile(try string(raw, path, file), key: path, file: file), path, file)
        case "connections": config.admin.connections = try int(raw, path, file, 1...16)
        case "max_connections": config.admin.maxConnections = try int(raw, path, file, 1...10_000)
        case "idle_timeout": config.admin.idleTimeout = try limit(raw, path, file, .seconds(1)...(.seconds(3600)))
        case "request_timeout": config.admin.requestTimeout = try limit(raw, path, file, .seconds(1)...(.seconds(600)))
        case "database_timeout": config.admin.databaseTimeout = try limit(raw, path, file, .milliseconds(100)...(.seconds(120)))
        case "max_body": config.admin.maxBodyBytes = try int(raw, path, file, 65_536...(16 << 20))
        case "public_url": config.admin.publicURL = try publicURL(try string(raw, path, file), path, file)
        case "trusted_proxies":
            do {
                config.admin.trustedProxies = try AddressList(parsing: try words(raw, path, file, longest: 64, what: "address or network"))
            } catch let error as AddressListError {
                throw ConfigError(file: file, key: path, reason: "\"\(error.entry)\" \(error.reason)")
            }
        case "session_lifetime": config.admin.sessionLifetime = try limit(raw, path, file, .seconds(300)...(.seconds(30 * 86_400)))
        case "session_idle": config.admin.sessionIdle = try limit(raw, path, file, .seconds(60)...(.seconds(7 * 86_400)))
        case "bcrypt_cost": config.admin.bcryptCost = UInt8(try int(raw, path, file, 4...16))
        case "time_zone":
            let name = try string(raw, path, file)
            guard name.utf8.count <= 64, let zone = TimeZone(identifier: name) else {
                throw ConfigError(file: file, key: path, reason: "not a time zone name (such as Europe/Madrid)")
            }
            config.admin.timeZone = zone
        default:
            let known = Self.keys["admin"]?.joined(separator: ", ") ?? ""
            throw ConfigError(file: file, key: path, reason: "unknown key; expected one of \(known)")
        }
    }

    private func adminURL(_ url: String, _ path: String, _ file: String) throws -> String {
        do {
            try ConnectionString.validate(url)
        } catch let error as PostgresError {
            throw ConfigError(file: file, key: path, reason: "cannot be parsed: \(error.message)")
        }
        return url
    }

    /// Checks across `[admin]` keys, once everything is read.
    func validateAdmin(_ config: Configuration) throws {
        if config.admin.sessionIdle > config.admin.sessionLifetime {
            throw ConfigError(file: config.source, key: "admin.session_idle", reason: "must not be longer than admin.session_lifetime")
        }
        if config.admin.idleTimeout >= config.admin.requestTimeout {
            throw ConfigError(file: config.source, key: "admin.idle_timeout", reason: "must be shorter than admin.request_timeout")
        }
        if config.admin.enabled, config.http.enabled, config.admin.port != 0, config.admin.host == config.http.host, config.admin.port == config.http.port {
            throw ConfigError(file: config.source, key: "admin.listen", reason: "must differ from http.listen: the admin API has its own port, to keep private")
        }
    }
}
