import ArgumentParser
import Foundation
import HeraldAdmin
import HeraldConfig
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPipeline
import Logging

/// `herald tokens ...`: the admin API's bearer tokens.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Admin API tokens: create (printed once), list, revoke.",
        discussion: "Roles: viewer reads; operator also retries, cancels, changes opt-outs and marks replies handled; editor also changes templates and rules; admin also manages tokens and reads the audit log. Only a token's SHA-256 is stored.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token and print it (the only time it is shown).")
        @OptionGroup var options: GlobalOptions
        @Option(help: "A name for the token (letters, digits, _ . @ -; 64 at most), unique.") var name: String
        @Option(help: "viewer, operator, editor or admin.") var role: String
        @Option(help: "Lifetime, such as 90d, 12h or 30m (default: until revoked).") var expires: String?

        func run() async throws {
            let config = try options.load()
            guard let role = AdminRole(rawValue: role) else { throw fail("--role: expected viewer, operator, editor or admin", code: 64) }
            guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$", options: .regularExpression) != nil else {
                throw fail("--name: letters, digits and _ . @ -, starting with a letter or digit, 64 at most", code: 64)
            }
            var lifetime: Duration?
            if let expires {
                guard let parsed = AdminTokens.lifetime(expires) else { throw fail("--expires: a lifetime such as 90d, 12h or 30m (1 minute to 10 years)", code: 64) }
                lifetime = parsed
            }
            let token = AdminTokens.generate()
            let connection = try await openConnection(config)
            do {
                let record = try await Stores(connection: connection).admin.createToken(name: name, role: role, digest: AdminTokens.digest(token), expiresIn: lifetime)
                await connection.close()
                print(token)
                FileHandle.standardError.write(Data("herald: token \(record.name) (\(record.role.rawValue))\(record.expiresAt.map { ", expires \(ISO8601DateFormatter().string(from: $0))" } ?? ""): shown once, keep it now\n".utf8))
            } catch {
                await connection.close()
                throw fail("cannot create the token: \(error)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens: name, role, state, created, expires, last used.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            let tokens: [AdminStore.TokenRecord]
            do { tokens = try await Stores(connection: connection).admin.tokens() } catch {
                await connection.close()
                throw fail("cannot list tokens: \(error)")
            }
            await connection.close()
            let f = ISO8601DateFormatter()
            if tokens.isEmpty { print("no tokens (herald tokens create --name NAME --role ROLE)") }
            for t in tokens {
                let state = t.revokedAt != nil ? "revoked" : (t.expiresAt.map { $0 <= Date() } == true ? "expired" : "valid")
                print([t.name, t.role.rawValue, state, "created \(f.string(from: t.createdAt)) by \(t.createdBy)",
                       t.expiresAt.map { "expires \(f.string(from: $0))" } ?? "no expiry",
                       t.lastUsedAt.map { "last used \(f.string(from: $0))" } ?? "never used"].joined(separator: "  "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: its next request gets 401.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The token's name.") var name: String

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            let record: AdminStore.TokenRecord?
            do { record = try await Stores(connection: connection).admin.revokeToken(name: name) } catch {
                await connection.close()
                throw fail("cannot revoke: \(error)")
            }
            await connection.close()
            guard record != nil else { throw fail("no token named \(name)") }
            print("token \(name) revoked")
        }
    }
}
