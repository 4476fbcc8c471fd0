import Foundation
import HeraldAdmin
import HeraldOutbox
import HeraldPipeline
import HeraldScheduling
import Logging

/// Calls to a running admin API over TCP (`Peers/admin_client.py`).
struct AdminPeer: Sendable {
    let port: Int

    struct Call: Encodable, Sendable {
        var method = "GET"
        var path: String
        var token: String?
        var json: JSONBody?
        var raw_body: String?
        var headers: [String: String]?
    }

    /// A JSON body given as text.
    struct JSONBody: Encodable, Sendable {
        let text: String
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(text)
        }
    }

    struct Reply: Decodable, Sendable {
        let status: Int
        let type: String
        let headers: [String: String]
        let body: String

        /// The body as a JSON object (empty when it is not one).
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var array: [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [[String: Any]] ?? [] }
    }

    func send(_ calls: [Call]) async throws -> [Reply] {
        struct Job: Encodable { let base: String, timeout: Int, requests: [Call] }
        let output = try await runPeerScriptInBackground("admin_client.py",
                                                         input: try JSONEncoder().encode(Job(base: "http://127.0.0.1:\(port)", timeout: 20, requests: calls)))
        return try JSONDecoder().decode([Reply].self, from: output)
    }

    func send(_ call: Call) async throws -> Reply {
        guard let reply = try await send([call]).first else { throw TestSetupError("no reply") }
        return reply
    }

    func get(_ path: String, _ token: String?) async throws -> Reply { try await send(Call(path: path, token: token)) }

    func post(_ path: String, _ token: String?, _ json: String, method: String = "POST") async throws -> Reply {
        try await send(Call(method: method, path: path, token: token, json: JSONBody(text: json)))
    }
}

/// Tokens of each role for a test, made through the store (as `herald tokens create` does).
struct AdminTokenSet: Sendable {
    var viewer = "", operator_ = "", editor = "", admin = ""

    static func make(_ db: TestDatabase) async throws -> AdminTokenSet {
        let conn = try await db.connect()
        var set = AdminTokenSet()
        for role in AdminRole.allCases {
            let token = AdminTokens.generate()
            _ = try await Stores(connection: conn).admin.createToken(name: "\(role.rawValue)-1", role: role, digest: AdminTokens.digest(token), expiresIn: nil)
            switch role {
            case .viewer: set.viewer = token
            case .operator: set.operator_ = token
            case .editor: set.editor = token
            case .admin: set.admin = token
            }
        }
        await conn.close()
        return set
    }
}

/// Runs the admin API (port 0) against `db` as the `herald_api` login while `body` runs.
func withAdminAPI(_ db: TestDatabase, configure: (inout AdminSettings) -> Void = { _ in },
                  _ body: (AdminService, AdminPeer, AdminTokenSet) async throws -> Void) async throws {
    var settings = AdminSettings(host: "127.0.0.1", port: 0,
                                 pipeline: PipelineSettings(scheduling: SchedulingPolicy(defaultTimeZone: "Europe/Madrid"), smsMaxSegments: 3, defaultLocale: "es"))
    configure(&settings)
    let service = AdminService(settings: settings, databaseURL: db.apiURL, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
    let tokens = try await AdminTokenSet.make(db)
    try await runAlone(service) { () async throws -> Void in
        guard let port = await service.boundPort() else { throw TestSetupError("admin API did not start") }
        try await body(service, AdminPeer(port: port), tokens)
    }
}
