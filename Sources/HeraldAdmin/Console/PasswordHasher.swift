import HeraldExecutors
import HummingbirdBcrypt
import Synchronization

/// bcrypt, on a thread of its own, one hash at a time: a flood of sign-ins queues here
/// (and beyond `maxWaiting` is turned away) instead of taking the cooperative threads the
/// daemon delivers with.
public actor PasswordHasher {
    /// Passwords are 8 to 72 bytes (bcrypt reads no further than 72), without NUL.
    public static let lengths = 8...72

    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let cost: UInt8
    private let maxWaiting: Int
    private nonisolated let waiting = Atomic<Int>(0)
    /// Checked against when the user is unknown, so that both take as long.
    private var dummy: String?

    /// Too many sign-ins are waiting already.
    public struct Busy: Error {}

    /// `cost` is clamped to bcrypt's 4…31.
    public init(cost: UInt8, maxWaiting: Int = 8) {
        executor = ThreadExecutor(name: "herald-bcrypt")
        self.cost = min(max(cost, 4), 31)
        self.maxWaiting = max(1, maxWaiting)
    }

    deinit { executor.shutdown() }

    /// Why `password` cannot be one (nil when it can).
    public nonisolated static func problem(_ password: String) -> String? {
        if password.contains("\u{0}") { return "a password cannot contain a NUL character" }
        guard lengths.contains(password.utf8.count) else { return "a password is 8 to 72 bytes long" }
        return nil
    }

    /// The bcrypt hash of `password`.
    public func hash(_ password: String) -> String { Bcrypt.hash(password, cost: cost) }

    /// Whether `password` is the one `hash` was made from (nil hash: an unknown user,
    /// answered false after as long as a real check).
    public nonisolated func verify(_ password: String, hash: String?) async throws(Busy) -> Bool {
        guard waiting.add(1, ordering: .relaxed).newValue <= maxWaiting else {
            waiting.subtract(1, ordering: .relaxed)
            throw Busy()
        }
        defer { waiting.subtract(1, ordering: .relaxed) }
        return await check(password, hash: hash)
    }

    private func check(_ password: String, hash: String?) -> Bool {
        guard Self.problem(password) == nil, let hash else {
            if dummy == nil { dummy = Bcrypt.hash("herald-dummy-password", cost: cost) }
            _ = Bcrypt.verify("not-the-password", hash: dummy ?? "")
            return false
        }
        return Bcrypt.verify(password, hash: hash)
    }
}
