import Foundation
import HeraldAdmin
import HeraldOutbox
import HeraldPipeline
import HeraldScheduling
import Logging

/// A cookie-keeping HTTP client for the console (`Peers/console_client.py`).
struct ConsolePeer: Sendable {
    let port: Int
    /// Where the sessions' cookies are kept from one run to the next.
    var state = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString).json").path

    struct Step: Encodable, Sendable {
        var session = "a"
        var method = "GET"
        var path: String
        var form: [String: [String]]?
        /// "auto" (the last page's token), "none", or a value.
        var csrf = "auto"
        var headers: [String: String]?
        var follow = false
    }

    struct Reply: Decodable, Sendable {
        let status: Int
        let location: String
        let headers: [String: String]
        let set_cookies: [String]
        let body: String
        let cookies: [String: String]
    }

    func run(_ steps: [Step]) async throws -> [Reply] {
        struct Job: Encodable { let base: String, state: String, steps: [Step] }
        let job = Job(base: "http://127.0.0.1:\(port)", state: state, steps: steps)
        let output = try await runPeerScriptInBackground("console_client.py", input: try JSONEncoder().encode(job))
        return try JSONDecoder().decode([Reply].self, from: output)
    }

    /// Steps that sign `user` in on `session` (the sign-in page, then its form).
    static func signIn(_ user: String, password: String? = nil, session: String = "a") -> [Step] {
        [Step(session: session, path: "/console/sign-in"),
         Step(session: session, method: "POST", path: "/console/sign-in", form: ["name": [user], "password": [password ?? ConsoleUsers.password(user)]])]
    }
}

/// The console users every console test has: one per role, `viewer-u` … `admin-u`.
enum ConsoleUsers {
    static func password(_ user: String) -> String { "secret-\(user)" }

    static func make(_ db: TestDatabase) async throws {
        let conn = try await db.connect()
        let hasher = PasswordHasher(cost: 4)
        for role in AdminRole.allCases {
            let name = "\(role.rawValue)-u"
            _ = try await Stores(connection: conn).admin.createUser(name: name, role: role, passwordHash: await hasher.hash(password(name)))
        }
        await conn.close()
    }
}

/// An admin listener with the console, its users made, for `body`.
func withConsole(_ db: TestDatabase, configure: (inout AdminSettings) -> Void = { _ in },
                 _ body: (AdminService, ConsolePeer) async throws -> Void) async throws {
    try await ConsoleUsers.make(db)
    try await withAdminAPI(db, configure: { settings in
        settings.console.bcryptCost = 4
        configure(&settings)
    }) { service, api, _ in
        try await body(service, ConsolePeer(port: api.port))
    }
}
