import Synchronization

/// Answers already worked out, by key, shared across threads and bounded: once it holds
/// `capacity` entries it empties before taking the next. Its keys come from host rows
/// (locales, zones, instants), so a flood of distinct ones only empties it now and then;
/// the few in everyday use are worked out again once.
final class BoundedMemo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let capacity: Int
    private let entries = Mutex<[Key: Value]>([:])

    init(capacity: Int) { self.capacity = capacity }

    /// How many entries are kept.
    var count: Int { entries.withLock { $0.count } }

    /// The value remembered for `key`, if any.
    func value(for key: Key) -> Value? { entries.withLock { $0[key] } }

    /// Remembers `value` for `key` (emptying the memo first when it is full).
    func remember(_ value: Value, for key: Key) {
        entries.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[key] = value
        }
    }
}
