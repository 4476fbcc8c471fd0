import Foundation

/// A local stand-in for a provider (`Peers/*.py`), started by a test in a directory of its own.
final class Peer: @unchecked Sendable {
    let process = Process()
    let directory: URL
    private(set) var port = 0

    /// Starts `Peers/<script>` with the test venv's Python and waits (without blocking a thread) until it listens.
    static func start(_ script: String, arguments: [String] = []) async throws -> Peer {
        let peer = try Peer(script, arguments: arguments)
        let portFile = peer.directory.appendingPathComponent("port")
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: portFile.path) {
            guard ContinuousClock.now < deadline, peer.process.isRunning else {
                let text = (try? String(contentsOf: peer.file("peer.log"), encoding: .utf8)) ?? ""
                throw TestSetupError("\(script) did not start: \(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        peer.port = Int((try String(contentsOf: portFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        return peer
    }

    private init(_ script: String, arguments: [String]) throws {
        guard let python = ProcessInfo.processInfo.environment["HERALD_TEST_PYTHON"] else {
            throw TestSetupError("HERALD_TEST_PYTHON is not set: run the tests with deploy/test (it makes a venv with the peers' packages)")
        }
        directory = try temporaryDirectory()
        let scriptURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/\(script)")
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [scriptURL.path, directory.path] + arguments
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("peer.log").path, contents: nil)
        let log = try FileHandle(forWritingTo: directory.appendingPathComponent("peer.log"))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Stops the peer with SIGKILL (peers were seen surviving SIGTERM after a run); never waits.
    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    /// A file the peer wrote.
    func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// JSON lines the peer appended to `requests.jsonl`.
    func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOf: file("requests.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The SMTP server's parsed messages, in arrival order.
    func mails() -> [[String: Any]] {
        var out: [[String: Any]] = []
        var n = 1
        while let data = FileManager.default.contents(atPath: file("mail-\(n).json").path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            out.append(object)
            n += 1
        }
        return out
    }
}

/// A TCP port nothing listens on.
func closedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
