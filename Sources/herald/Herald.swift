import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldSystemd
import Logging

/// The `herald` command.
@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Delivers appointment and service notifications (SMS, email, webhook) from a PostgreSQL outbox.",
        subcommands: [Run.self, Migrate.self, Enqueue.self, Status.self, Explain.self, Templates.self, Rules.self, SendTest.self, Prune.self, IngestMail.self, CheckConfig.self, Tokens.self, Users.self],
        defaultSubcommand: nil)

    /// Parses and runs the command like `AsyncParsableCommand.main()`, and prints an error the
    /// same way (help and other clean exits on stdout, errors on stderr), but ends the process
    /// with ``endProcess(_:)`` instead of `exit`.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            endProcess(0)
        } catch {
            let code = exitCode(for: error)
            let text = fullMessage(for: error)
            if !text.isEmpty {
                if code == .success {
                    print(text)
                } else {
                    FileHandle.standardError.write(Data((text + "\n").utf8))
                }
            }
            endProcess(code.rawValue)
        }
    }
}

/// Ends the process without running the libraries' exit handlers.
///
/// `exit` runs `atexit` handlers and library destructors while Herald's other threads still
/// run: a libcurl or libpq session thread can be ending at that moment (its owner released as
/// the command returned), freeing its thread-local OpenSSL state while libcrypto's `atexit`
/// handler (`OPENSSL_cleanup`) frees the same state. glibc then aborts with "double free or
/// corruption" after a good run (seen once in CI; openssl/openssl#6214 and #17469). Herald keeps
/// nothing that needs those handlers (its state is in PostgreSQL, log lines are written whole
/// with `write`), so it flushes stdio and ends with `_exit`, which stops every thread at once.
func endProcess(_ code: Int32) -> Never {
    fflush(nil)
    _exit(code)
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default /etc/herald/herald.toml; built-in defaults when that file is absent).")
    var config: String?

    /// Loads the configuration or exits with one line naming the bad key and the file.
    func load() throws -> Configuration {
        do {
            let config = try ConfigurationLoader().load(path: config)
            bootstrapLogging(level: config.logLevel)
            return config
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("herald: configuration error: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}

private let loggingBootstrapped = LoggingOnce()

/// Sets up journald-style logging once per process.
func bootstrapLogging(level: Logger.Level) {
    loggingBootstrapped.run {
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, level: level) }
    }
}

final class LoggingOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func run(_ body: () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        if !done { body(); done = true }
    }
}

/// Prints an error as one line on stderr and exits non-zero.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    FileHandle.standardError.write(Data("herald: \(message)\n".utf8))
    return ExitCode(code)
}
