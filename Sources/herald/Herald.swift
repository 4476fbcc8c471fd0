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
