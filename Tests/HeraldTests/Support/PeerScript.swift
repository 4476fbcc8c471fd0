import Foundation

/// Runs `Peers/<script>` with the test venv's Python, `input` on stdin; returns stdout.
/// It blocks until the script exits: call it through ``runPeerScriptInBackground(_:input:)``
/// from async code, so the two threads of the cooperative pool are never held by a wait.
private func runPeerScript(_ script: String, input: Data) throws -> Data {
    guard let python = ProcessInfo.processInfo.environment["HERALD_TEST_PYTHON"] else {
        throw TestSetupError("HERALD_TEST_PYTHON is not set: run the tests with deploy/test (it makes a venv with the peers' packages)")
    }
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers/\(script)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [path.path]
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(input)
    try stdin.fileHandleForWriting.close()
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestSetupError("\(script) failed: \(String(decoding: err, as: UTF8.self))") }
    return data
}

/// Runs blocking `work` on a thread of its own, never on the cooperative pool, which the
/// whole parallel suite shares (two threads on two cores): a blocked wait there stalls every
/// other test.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// ``runPeerScript(_:input:)`` on a thread of its own, so that a long peer (a burst of
/// requests) runs while the test goes on.
func runPeerScriptInBackground(_ script: String, input: Data) async throws -> Data {
    try await onOwnThread { try runPeerScript(script, input: input) }
}

/// Runs `process` to its end on a thread of its own; returns its standard error and
/// termination status.
func runToEnd(_ process: Process) async throws -> (stderr: String, status: Int32) {
    let err = Pipe()
    process.standardError = err
    try process.run()
    return try await onOwnThread {
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (text, process.terminationStatus)
    }
}
