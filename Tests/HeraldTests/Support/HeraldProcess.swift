import Foundation

/// The real `herald` binary, run as a child process with its stdout and stderr captured.
///
/// Output goes to files, read whenever asked: once the process has exited, everything
/// it wrote is there (pipes with readability handlers lost the tail under load, and
/// cancelling their dispatch sources raced libdispatch's event loop).
final class HeraldProcess: @unchecked Sendable {
    let process = Process()
    private let stdoutFile: URL
    private let stderrFile: URL

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["HERALD_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("herald")
    }

    /// `stdin`: a file read as standard input (none: the test's own).
    init(_ arguments: [String], environment: [String: String] = [:], stdin: URL? = nil) throws {
        process.executableURL = Self.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["JOURNAL_STREAM"] = nil
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let dir = try temporaryDirectory()
        stdoutFile = dir.appendingPathComponent("stdout")
        stderrFile = dir.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: stdoutFile.path, contents: nil),
              FileManager.default.createFile(atPath: stderrFile.path, contents: nil) else {
            throw TestSetupError("cannot create output files in \(dir.path)")
        }
        let out = try FileHandle(forWritingTo: stdoutFile)
        let err = try FileHandle(forWritingTo: stderrFile)
        defer { try? out.close(); try? err.close() }  // the child keeps its own copies
        process.standardOutput = out
        process.standardError = err
        if let stdin { process.standardInput = try FileHandle(forReadingFrom: stdin) }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stderr: String { String(decoding: (try? Data(contentsOf: stderrFile)) ?? Data(), as: UTF8.self) }
    var stdout: String { String(decoding: (try? Data(contentsOf: stdoutFile)) ?? Data(), as: UTF8.self) }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// The port the daemon's HTTP listener said it bound (`listen` on port 0), once it has.
    var listenerPort: Int? { stderr.firstMatch(of: /HTTP listener ready port=(\d+)/).flatMap { Int($0.1) } }
    /// The port the daemon's admin API said it bound, once it has.
    var adminPort: Int? { stderr.firstMatch(of: /admin API ready port=(\d+)/).flatMap { Int($0.1) } }

    /// Waits up to `timeout` for the daemon to say the port `announced` reads
    /// (``listenerPort`` or ``adminPort``); nil if it has not by then.
    func port(_ announced: KeyPath<HeraldProcess, Int?>, within timeout: Duration = .seconds(20)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = self[keyPath: announced] { return port }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return self[keyPath: announced]
    }

    /// Waits for exit up to `timeout`; returns the exit status, or nil if still running.
    func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// Runs the binary to completion: (status, stdout, stderr).
    static func run(_ arguments: [String], environment: [String: String] = [:], stdin: URL? = nil,
                    timeout: Duration = .seconds(60)) async throws -> (Int32, String, String) {
        let p = try HeraldProcess(arguments, environment: environment, stdin: stdin)
        guard let status = await p.wait(timeout: timeout) else {
            p.signal(SIGKILL)
            throw TestSetupError("herald \(arguments.joined(separator: " ")) did not finish in time; stderr: \(p.stderr)")
        }
        return (status, p.stdout, p.stderr)
    }
}

/// Writes a config file into a temporary directory; returns its path.
func writeConfig(_ text: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let file = dir.appendingPathComponent("herald.toml")
    try text.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

/// A fresh temporary directory.
func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// The repository root (for deploy/lib scripts and sql/).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs a bash command without blocking a cooperative thread; returns its stdout (trimmed).
///
/// Uses posix_spawn and waitpid rather than Foundation's Process: Process only
/// notices the exit once every inheritor of its internal descriptor has gone,
/// and a PostgreSQL server started by the command (a grandchild) lives on.
func runShell(_ command: String, timeout: Duration = .seconds(120)) async throws -> String {
    let output = try temporaryDirectory().appendingPathComponent("out.txt")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    let args: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/bash"), strdup("-c"), strdup(command), nil]
    defer { args.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/bin/bash", &actions, nil, args, environ)
    guard rc == 0 else { throw TestSetupError("posix_spawn failed: \(rc)") }
    var status: Int32 = 0
    let deadline = ContinuousClock.now + timeout
    while waitpid(pid, &status, WNOHANG) == 0 {
        guard ContinuousClock.now < deadline else {
            kill(pid, SIGKILL)
            throw TestSetupError("`\(command)` did not finish in time")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    let text = (try? String(contentsOf: output, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    let exited = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
    guard exited else { throw TestSetupError("`\(command)` failed (status \(status)): \(text)") }
    return text
}
