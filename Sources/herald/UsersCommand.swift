import ArgumentParser
import Foundation
import HeraldAdmin
import HeraldConfig
import HeraldCore
import HeraldOutbox

/// `herald users ...`: the console's users.
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Console users: create, list, role, password, remove.",
        discussion: "Roles as the admin API's tokens: viewer, operator, editor, admin. Passwords are 8 to 72 bytes, read from --password-file or standard input, stored as bcrypt hashes ([admin] bcrypt_cost). Changing a user's role or password, or removing the user, ends their sessions.",
        subcommands: [Create.self, List.self, Role.self, Password.self, Remove.self])

    static func role(_ text: String) throws -> AdminRole {
        guard let role = AdminRole(rawValue: text) else { throw fail("--role: expected viewer, operator, editor or admin", code: 64) }
        return role
    }

    /// The password from a file (its first line) or standard input, checked.
    static func password(file: String?) throws -> String {
        let text: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file), let read = String(data: data, encoding: .utf8) else {
                throw fail("--password-file: cannot read \(file)", code: 66)
            }
            text = read
        } else {
            text = readLine(strippingNewline: true) ?? ""
        }
        let password = String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        if let problem = PasswordHasher.problem(password) { throw fail("password: \(problem)", code: 65) }
        return password
    }

    static func hash(_ password: String, _ config: Configuration) async -> String {
        await PasswordHasher(cost: config.admin.bcryptCost).hash(password)
    }

    /// Runs `body` on a connection, closing it either way; a failure becomes `what`'s error.
    static func withStores<T>(_ config: Configuration, _ what: String, _ body: (Stores) async throws -> T) async throws -> T {
        let connection = try await openConnection(config)
        do {
            let value = try await body(Stores(connection: connection))
            await connection.close()
            return value
        } catch {
            await connection.close()
            throw fail("cannot \(what): \(error)")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a console user (the password from --password-file or standard input).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The user's name (letters, digits, _ . @ -; 64 at most), unique.") var name: String
        @Option(help: "viewer, operator, editor or admin.") var role: String
        @Option(help: "A file whose first line is the password (default: read it from standard input).") var passwordFile: String?

        func run() async throws {
            let config = try options.load()
            let role = try Users.role(role)
            guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$", options: .regularExpression) != nil else {
                throw fail("name: letters, digits and _ . @ -, starting with a letter or digit, 64 at most", code: 64)
            }
            let hash = await Users.hash(try Users.password(file: passwordFile), config)
            let user = try await Users.withStores(config, "create the user") { try await $0.admin.createUser(name: name, role: role, passwordHash: hash) }
            print("user \(user.name) (\(user.role.rawValue)) created")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users: name, role, created, last sign-in.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let config = try options.load()
            let users = try await Users.withStores(config, "list users") { try await $0.admin.users() }
            let f = ISO8601DateFormatter()
            if users.isEmpty { print("no users (herald users create NAME --role ROLE)") }
            for u in users {
                print([u.name, u.role.rawValue, "created \(f.string(from: u.createdAt)) by \(u.createdBy)",
                       u.lastSignInAt.map { "last sign-in \(f.string(from: $0))" } ?? "never signed in"].joined(separator: "  "))
            }
        }
    }

    struct Role: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's role (their sessions end).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The user's name.") var name: String
        @Argument(help: "viewer, operator, editor or admin.") var role: String

        func run() async throws {
            let config = try options.load()
            let role = try Users.role(role)
            guard try await Users.withStores(config, "change the role", { try await $0.admin.changeUser(name: name, role: role, passwordHash: nil) }) != nil else {
                throw fail("no user \(name)", code: 67)
            }
            print("user \(name) is now \(role.rawValue); their sessions ended")
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password (their sessions end).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The user's name.") var name: String
        @Option(help: "A file whose first line is the password (default: standard input).") var passwordFile: String?

        func run() async throws {
            let config = try options.load()
            let hash = await Users.hash(try Users.password(file: passwordFile), config)
            guard try await Users.withStores(config, "set the password", { try await $0.admin.changeUser(name: name, role: nil, passwordHash: hash) }) != nil else {
                throw fail("no user \(name)", code: 67)
            }
            print("password of \(name) changed; their sessions ended")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user (their sessions end).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The user's name.") var name: String

        func run() async throws {
            let config = try options.load()
            guard try await Users.withStores(config, "remove the user", { try await $0.admin.removeUser(name: name) }) else {
                throw fail("no user \(name)", code: 67)
            }
            print("user \(name) removed")
        }
    }
}
