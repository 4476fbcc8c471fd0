import Foundation

/// The real daemon with its admin listener and console, file drivers, and a user per role
/// made with `herald users create`; and the selenium scenarios of `Peers/console_browser.py`.
struct ConsoleDaemon {
    let config: String
    let port: Int
    let outbox: URL
    let herald: HeraldProcess

    /// Writes the configuration, migrates, installs the default templates and rules, runs
    /// `prepare` (data, given the configuration's path), makes the users and starts `herald run`.
    static func start(_ db: TestDatabase, prepare: (_ config: String) async throws -> Void = { _ in }) async throws -> ConsoleDaemon {
        let dir = try temporaryDirectory()
        let config = try writeConfig("""
            [database]
            url = "\(db.url)"
            [worker]
            poll_interval = "200ms"
            [quiet_hours]
            sms = "off"
            email = "off"
            [scheduling]
            minimum_lead = "0s"
            [admin]
            listen = "127.0.0.1:0"
            database_url = "\(db.apiURL)"
            bcrypt_cost = 4
            [channels.email]
            driver = "file"
            directory = "\(dir.path)"
            [channels.sms]
            driver = "file"
            directory = "\(dir.path)"
            """)
        _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", config])
        _ = try await HeraldProcess.run(["rules", "install-defaults", "--config", config])
        try await prepare(config)
        for role in ["viewer", "operator", "editor", "admin"] {
            let file = dir.appendingPathComponent("\(role).pw")
            try "\(ConsoleUsers.password("\(role)-u"))\n".write(to: file, atomically: true, encoding: .utf8)
            let (code, out, err) = try await HeraldProcess.run(["users", "create", "\(role)-u", "--role", role, "--password-file", file.path, "--config", config])
            guard code == 0 else { throw TestSetupError("herald users create: \(out) \(err)") }
        }
        // Port 0 and the port the daemon says it bound: a port picked here and bound later
        // could be taken meanwhile by another test's listener.
        let herald = try HeraldProcess(["run", "--config", config])
        guard let port = await herald.port(\.adminPort, within: .seconds(60)) else {
            herald.signal(SIGKILL)
            throw TestSetupError("the admin listener did not say its port: \(herald.stderr)")
        }
        let daemon = ConsoleDaemon(config: config, port: port, outbox: dir, herald: herald)
        try await daemon.waitUntilListening()
        return daemon
    }

    func waitUntilListening() async throws {
        for _ in 0..<300 {
            if (try? await ConsolePeer(port: port).run([.init(path: "/healthz")]))?.first?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("the admin listener did not start: \(herald.stderr)")
    }

    /// What a scenario saw.
    struct Seen: Decodable {
        let seen: [String: BrowserValue]
        let problems: [String]
        let shots: [String: String]
    }

    /// Runs scenario `name` with its values; screenshots are kept (and copied to
    /// `$HERALD_UPDATE_SCREENSHOTS`, for the docs, when set).
    func browse(_ name: String, _ values: [String: BrowserValue]) async throws -> Seen {
        let shots = try temporaryDirectory()
        var job = values
        job["base"] = .string("http://127.0.0.1:\(port)")
        job["scenario"] = .string(name)
        job["shots"] = .string(shots.path)
        let seen = try JSONDecoder().decode(Seen.self, from: try await runPeerScriptInBackground("console_browser.py", input: try JSONEncoder().encode(job)))
        if let target = ProcessInfo.processInfo.environment["HERALD_UPDATE_SCREENSHOTS"] {
            for (shot, path) in seen.shots {
                let to = URL(fileURLWithPath: target).appendingPathComponent("console-\(shot).png")
                try? FileManager.default.removeItem(at: to)
                try FileManager.default.copyItem(at: URL(fileURLWithPath: path), to: to)
            }
        }
        return seen
    }
}

/// A JSON value (what the browser script reports).
enum BrowserValue: Codable, Sendable, CustomStringConvertible {
    case string(String), number(Double), bool(Bool), array([BrowserValue]), null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) { self = .string(s) } else { self = .array(try c.decode([BrowserValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .null: try c.encodeNil()
        }
    }

    var description: String {
        switch self {
        case .string(let s): return s
        case .number(let n): return n == n.rounded() ? String(Int(n)) : String(n)
        case .bool(let b): return String(b)
        case .array(let a): return a.map(\.description).joined(separator: "|")
        case .null: return ""
        }
    }
}

extension Dictionary where Key == String, Value == BrowserValue {
    /// A value as text ("" when absent).
    func text(_ key: String) -> String { self[key]?.description ?? "" }
}
