import Foundation

/// A fixed set of ``CurlSession``s: at most `size` transfers at once for one
/// channel, each session keeping its connection open for the next message.
public actor CurlPool {
    private let sessions: [CurlSession]
    private var free: [Int]
    private var waiters: [CheckedContinuation<Int, Never>] = []

    /// `size` sessions (threads), named `name-1`, `name-2`, …
    public init(name: String, size: Int, options: TransferOptions) {
        let count = max(1, size)
        sessions = (1...count).map { CurlSession(name: "\(name)-\($0)", options: options) }
        free = Array(0..<count)
    }

    /// The number of sessions.
    public var size: Int { sessions.count }

    /// Runs `body` with a session of its own, waiting for one to be free.
    public func withSession<T: Sendable>(_ body: @Sendable (CurlSession) async throws -> T) async throws -> T {
        let index = await acquire()
        defer { release(index) }
        return try await body(sessions[index])
    }

    private func acquire() async -> Int {
        if let index = free.popLast() { return index }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func release(_ index: Int) {
        if waiters.isEmpty {
            free.append(index)
        } else {
            waiters.removeFirst().resume(returning: index)
        }
    }
}
