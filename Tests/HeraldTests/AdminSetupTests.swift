import Crypto
import Foundation
import HeraldAdmin
import HeraldConfig
import Testing

/// What is around the admin API: its generated code kept in step with openapi.yaml, the
/// `[admin]` section, `herald tokens`, and the pure pieces (tokens, confirmations, throttle).
@Suite struct AdminSetupTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// deploy/gen-openapi records the SHA-256 of openapi.yaml, its configuration and its
    /// output: editing the document without regenerating, or the output by hand, fails here.
    @Test func theGeneratedCodeIsWhatOpenAPIYamlGives() throws {
        let list = try String(contentsOf: Self.root.appendingPathComponent("Sources/HeraldAdminAPI/Generated/inputs.sha256"), encoding: .utf8)
        let lines = list.split(separator: "\n")
        // openapi.yaml, the generator's configuration, and every generated file, none missing.
        let generated = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Sources/HeraldAdminAPI/Generated").path)
            .filter { $0.hasSuffix(".swift") }.map { "Sources/HeraldAdminAPI/Generated/" + $0 }
        let listed = lines.compactMap { $0.split(separator: " ", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(Set(listed) == Set(["openapi.yaml", "deploy/openapi/openapi-generator-config.yaml"] + generated) && listed.count == generated.count + 2)
        #expect(generated.contains("Sources/HeraldAdminAPI/Generated/Types.swift") && generated.contains("Sources/HeraldAdminAPI/Generated/Server.swift"))
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let data = try Data(contentsOf: Self.root.appendingPathComponent(parts[1]))
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            #expect(digest == parts[0], "\(parts[1]) changed since deploy/gen-openapi ran: run it again")
        }
    }

    @Test func adminConfigurationIsChecked() throws {
        let loader = ConfigurationLoader(environment: [:])
        let good = try writeConfig("""
            [admin]
            listen = "127.0.0.1:8431"
            database_url = "postgresql://herald_admin_api@localhost/herald"
            request_timeout = "20s"
            """)
        let config = try loader.load(path: good)
        #expect(config.admin.enabled && config.admin.port == 8431 && config.admin.requestTimeout == .seconds(20))
        #expect(try loader.load(path: nil).admin.enabled == false)
        for (text, key) in [("[admin]\nlisten = \"nowhere\"", "admin.listen"), ("[admin]\ntokens = 3", "admin.tokens"),
                            ("[admin]\nmax_connections = 0", "admin.max_connections"),
                            ("[admin]\nidle_timeout = \"1m\"\nrequest_timeout = \"30s\"", "admin.idle_timeout"),
                            ("[http]\nlisten = \"127.0.0.1:9000\"\npublic_url = \"https://h.example\"\n[admin]\nlisten = \"127.0.0.1:9000\"", "admin.listen")] {
            let path = try writeConfig(text)
            #expect(throws: ConfigError.self) { _ = try loader.load(path: path) }
            do { _ = try loader.load(path: path) } catch let error as ConfigError {
                #expect(error.key == key, "\(text)")
                #expect("\(error)".contains(path))
            }
        }
    }

    @Test func tokensCommandPrintsATokenOnceAndStoresOnlyItsDigest() async throws {
        try await TestDatabase.with { db in
            let env = ["HERALD_DATABASE_URL": db.url]
            let (code, out, err) = try await HeraldProcess.run(["tokens", "create", "--name", "desk", "--role", "operator", "--expires", "90d"], environment: env)
            #expect(code == 0, "\(err)")
            let token = out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(AdminTokens.wellFormed(token))
            let stored = try await db.scalar("SELECT encode(token_sha256, 'hex') FROM herald.api_token WHERE name = 'desk'")
            #expect(stored == AdminTokens.digest(token).map { String(format: "%02x", $0) }.joined())
            #expect(try await db.scalar("SELECT expires_at > now() + interval '89 days' FROM herald.api_token WHERE name = 'desk'") == "t")
            let (_, listed, _) = try await HeraldProcess.run(["tokens", "list"], environment: env)
            #expect(listed.contains("desk  operator  valid"))
            #expect(!listed.contains(token) && !err.contains(token))
            #expect(try await HeraldProcess.run(["tokens", "revoke", "desk"], environment: env).0 == 0)
            #expect(try await HeraldProcess.run(["tokens", "list"], environment: env).1.contains("desk  operator  revoked"))
            #expect(try await HeraldProcess.run(["tokens", "create", "--name", "x", "--role", "root"], environment: env).0 == 64)
            #expect(try await HeraldProcess.run(["tokens", "create", "--name", "x", "--role", "viewer", "--expires", "forever"], environment: env).0 == 64)
            #expect(try await HeraldProcess.run(["tokens", "revoke", "nobody"], environment: env).0 == 1)
        }
    }

    @Test func tokensAndLifetimes() {
        let token = AdminTokens.generate()
        #expect(token.count == 69 && AdminTokens.wellFormed(token))
        #expect(AdminTokens.generate() != token)
        #expect(!AdminTokens.wellFormed(token.uppercased()))
        #expect(!AdminTokens.wellFormed(token + "0"))
        #expect(!AdminTokens.wellFormed("hrld_" + String(repeating: "g", count: 64)))
        #expect(AdminTokens.bearer("Bearer abc") == "abc")
        #expect(AdminTokens.bearer("bearer  abc ") == "abc")
        #expect(AdminTokens.bearer("Basic abc") == nil)
        #expect(AdminTokens.bearer("Bearer") == nil)
        #expect(AdminTokens.lifetime("90d") == .seconds(90 * 86_400))
        #expect(AdminTokens.lifetime("30m") == .seconds(1800))
        #expect(AdminTokens.lifetime("0d") == nil)
        #expect(AdminTokens.lifetime("3651d") == nil)
        #expect(AdminTokens.lifetime("9223372036854775807d") == nil)
        #expect(AdminTokens.lifetime("1s") == nil)
    }

    @Test func aConfirmationHoldsForItsActionActorFilterCountAndCeilingOnly() throws {
        let c = BulkConfirmation(key: Array(repeating: 7, count: 32))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let f = #"{"status":"failed"}"#
        let token = c.make(action: "retry", actor: "token a", filter: f, count: 30, ceiling: 900, expires: now.addingTimeInterval(600))
        let allowed = try c.verify(token, action: "retry", actor: "token a", filter: f, now: now).get()
        #expect(allowed.count == 30 && allowed.ceiling == 900 && !allowed.signature.isEmpty)
        #expect(c.verify(token, action: "cancel", actor: "token a", filter: f, now: now) == .failure(.mismatch))
        #expect(c.verify(token, action: "retry", actor: "token b", filter: f, now: now) == .failure(.mismatch))
        #expect(c.verify(token, action: "retry", actor: "token a", filter: "{}", now: now) == .failure(.mismatch))
        let parts = token.split(separator: ".").map(String.init)
        #expect(c.verify((["31"] + parts.dropFirst()).joined(separator: "."), action: "retry", actor: "token a", filter: f, now: now) == .failure(.mismatch))
        #expect(c.verify(([parts[0], "901"] + parts.dropFirst(2)).joined(separator: "."), action: "retry", actor: "token a", filter: f, now: now) == .failure(.mismatch))
        // The same numbers spelled otherwise are not another confirmation.
        #expect(c.verify((["+30"] + parts.dropFirst()).joined(separator: "."), action: "retry", actor: "token a", filter: f, now: now) == .failure(.malformed))
        #expect(c.verify(token, action: "retry", actor: "token a", filter: f, now: now.addingTimeInterval(601)) == .failure(.expired))
        #expect(c.verify("x", action: "retry", actor: "token a", filter: "{}", now: now) == .failure(.malformed))
        #expect(BulkConfirmation(key: Array(repeating: 8, count: 32)).verify(token, action: "retry", actor: "token a", filter: f, now: now) == .failure(.mismatch))
    }

    @Test func theThrottleSlowsAnAddressAfterItsFreeFailuresAndForgets() {
        var t = FailureThrottle()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for i in 0..<5 { #expect(t.failed("a", now: start.addingTimeInterval(Double(i))) == nil) }
        #expect(t.failed("a", now: start.addingTimeInterval(5)) == start.addingTimeInterval(6))
        #expect(t.blockedUntil("a", now: start.addingTimeInterval(5.5)) != nil)
        #expect(t.blockedUntil("b", now: start) == nil)
        #expect(t.failed("a", now: start.addingTimeInterval(6)) == start.addingTimeInterval(8))
        var last: Date?
        for i in 0..<40 { last = t.failed("a", now: start.addingTimeInterval(10 + Double(i))) }
        #expect(last == start.addingTimeInterval(49 + 300))
        // Long after, the address starts afresh.
        #expect(t.failed("a", now: start.addingTimeInterval(10_000)) == nil)
        var many = FailureThrottle()
        many.capacity = 100
        for i in 0..<1000 { _ = many.failed("10.0.\(i / 256).\(i % 256)", now: start) }
        #expect(many.remembered <= 100)
    }
}
