import Foundation
import Synchronization

/// Slows down repeated authentication failures from one address: the first `free` failures
/// within `window` cost nothing; each one after blocks the address for twice as long as
/// the previous (1 s, 2 s, 4 s, … up to `maxBlock`). A blocked address gets 429 without its
/// token being looked up. At most `capacity` addresses are remembered (the oldest are
/// forgotten first), so a flood from many addresses cannot grow it without bound. Pure.
public struct FailureThrottle: Sendable {
    public var free = 5
    public var window: TimeInterval = 60
    public var maxBlock: TimeInterval = 300
    public var capacity = 10_000

    struct Entry: Sendable {
        var failures: Int
        var firstFailure: Date
        var blockedUntil: Date?
    }
    var entries: [String: Entry] = [:]
    /// How many addresses it remembers now.
    public var remembered: Int { entries.count }

    public init() {}

    /// When the address may try again, if it is blocked now.
    public func blockedUntil(_ address: String, now: Date) -> Date? {
        guard let until = entries[address]?.blockedUntil, until > now else { return nil }
        return until
    }

    /// Records a failure; returns until when the address is blocked (nil: not blocked).
    public mutating func failed(_ address: String, now: Date) -> Date? {
        var entry = entries[address] ?? Entry(failures: 0, firstFailure: now)
        if now.timeIntervalSince(entry.firstFailure) > window, entry.blockedUntil.map({ $0 <= now }) ?? true {
            entry = Entry(failures: 0, firstFailure: now)
        }
        entry.failures += 1
        if entry.failures > free {
            let exponent = min(entry.failures - free - 1, 20)
            entry.blockedUntil = now.addingTimeInterval(min(pow(2, Double(exponent)), maxBlock))
            entry.firstFailure = now
        }
        entries[address] = entry
        if entries.count > capacity { forgetOldest(now: now) }
        return entry.blockedUntil.flatMap { $0 > now ? $0 : nil }
    }

    /// Drops the entries whose window and block are over, then the oldest if still too many.
    mutating func forgetOldest(now: Date) {
        entries = entries.filter { _, e in now.timeIntervalSince(e.firstFailure) <= window || (e.blockedUntil.map { $0 > now } ?? false) }
        if entries.count > capacity {
            let keep = entries.sorted { $0.value.firstFailure > $1.value.firstFailure }.prefix(capacity / 2)
            entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}

/// A ``FailureThrottle`` shared by the listener's requests.
final class SharedThrottle: Sendable {
    private let state: Mutex<FailureThrottle>

    init(free: Int) {
        var throttle = FailureThrottle()
        throttle.free = max(0, free)
        state = Mutex(throttle)
    }

    func blockedUntil(_ address: String, now: Date = Date()) -> Date? { state.withLock { $0.blockedUntil(address, now: now) } }
    func failed(_ address: String, now: Date = Date()) -> Date? { state.withLock { $0.failed(address, now: now) } }
}
