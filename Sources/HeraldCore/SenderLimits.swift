import Foundation

/// A rate: one message every `step` seconds, `burst` of them at once after a quiet spell.
///
/// Limits are kept as a generic cell rate algorithm (GCRA): a sender's state is one
/// instant, the theoretical arrival time of its next message (`tat`). The same arithmetic
/// runs in the claim statement (state shared by every daemon, in `herald.sender_pace`) and
/// in each driver's local pacer (``SenderPacer``); ``tokens(at:tat:)`` and
/// ``spend(_:at:tat:)`` are it, without I/O.
public struct Pace: Sendable, Equatable, CustomStringConvertible {
    /// Seconds between messages (1 / rate, and the ``margin``).
    public let step: Double
    /// Messages that may go at once after a quiet spell (at least 1).
    public let burst: Int

    /// The configured rate: ``step`` keeps ``margin`` under it.
    public let perSecond: Double

    /// Herald spaces a sender's messages this much wider than its rate: a provider counts
    /// when requests arrive, and two requests leave a busy machine (or two daemons) a few
    /// tens of milliseconds closer or further apart than they were planned. 5% absorbs
    /// 50 ms at one message a second, the tolerance Twilio-like queues allow.
    public static let margin = 1.05

    /// Nil when `perSecond` is not a number from 0.001 to 100,000 or `burst` is not 1 to 10,000.
    public init?(perSecond: Double, burst: Int = 1) {
        guard perSecond.isFinite, perSecond >= 0.001, perSecond <= 100_000, (1...10_000).contains(burst) else { return nil }
        self.perSecond = perSecond
        self.step = Self.margin / perSecond
        self.burst = burst
    }

    /// Seconds of slack in token arithmetic.
    public static let slack = 0.001

    /// Messages that may go at `t` given the state `tat` (nil: never used): never negative.
    public func tokens(at t: Double, tat: Double?) -> Int {
        let start = max(tat ?? -.infinity, t)
        // 1 ms of slack, as in the claim statement: epoch seconds in a double are exact to
        // about a microsecond only.
        let room = (t + Double(burst - 1) * step - start + Self.slack) / step
        guard room.isFinite, room > -1 else { return 0 }
        // Bounded before the conversion: never more than the burst, whatever the inputs.
        return Int(min(Double(burst - 1), room.rounded(.down))) + 1
    }

    /// The state after `count` messages went at `t`.
    public func spend(_ count: Int, at t: Double, tat: Double?) -> Double {
        max(tat ?? -.infinity, t) + Double(count) * step
    }

    /// One message asked for at `t`: the instant it may go (now or later) and the state
    /// after it (a local pacer reserves slots in order; a burst goes at once).
    public func reserve(at t: Double, tat: Double?) -> (slot: Double, tat: Double) {
        let previous = tat ?? -.infinity
        let slot = max(t, previous - Double(burst - 1) * step)
        return (slot, max(previous, slot) + step)
    }

    /// When the sender next has a token, given the state `tat`.
    public func readyAt(tat: Double) -> Double { tat - Double(burst - 1) * step }

    public var description: String {
        let rate = perSecond
        let text = rate == rate.rounded() ? String(Int(rate)) : String(format: "%.3g", rate)
        return burst == 1 ? "\(text)/s" : "\(text)/s, burst \(burst)"
    }
}

/// A channel's rate limits: per sender (`rate`, `burst`), per named sender
/// (`[channels.<name>.senders."<sender>"]`) and for the whole channel (`ceiling`).
public struct SenderLimits: Sendable, Equatable {
    /// Every sender without its own entry (nil: unlimited).
    public var perSender: Pace?
    /// Named senders, by their key (``key(channel:sender:)``).
    public var senders: [String: Pace]
    /// All senders of the channel together (nil: no ceiling).
    public var ceiling: Pace?
    /// The key of the channel's own sender (the driver's `from`), which a message without
    /// a sender of its own goes out as: a named entry for it applies to those messages.
    public var defaultSender: String?

    public init(perSender: Pace? = nil, senders: [String: Pace] = [:], ceiling: Pace? = nil, defaultSender: String? = nil) {
        self.perSender = perSender
        self.senders = senders
        self.ceiling = ceiling
        self.defaultSender = defaultSender
    }

    /// No limit at all.
    public var isEmpty: Bool { perSender == nil && senders.isEmpty && ceiling == nil }

    /// The pace of the sender with key `key` ("" is the channel's own sender), or nil.
    public func pace(forKey key: String) -> Pace? {
        if let pace = senders[key] { return pace }
        if key.isEmpty, let own = defaultSender, let pace = senders[own] { return pace }
        return perSender
    }

    /// The key a sender is limited by, as `herald.sender_key` computes it: an email's
    /// domain (lowercased), any other sender as written, "" for none (the channel's own).
    public static func key(channel: String, sender: String?) -> String {
        guard let sender else { return "" }
        guard channel == "email" else { return sender }
        return emailDomain(sender) ?? sender.lowercased()
    }

    /// The domain of an address written `a@b`, `Name <a@b>` (trailing spaces allowed), or nil.
    static func emailDomain(_ text: String) -> String? {
        var scalars = Substring(text)
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        if scalars.last == ">" { scalars = scalars.dropLast() }
        guard let at = scalars.lastIndex(of: "@") else { return nil }
        let domain = scalars[scalars.index(after: at)...]
        guard !domain.isEmpty, !domain.contains(where: { $0 == "<" || $0 == ">" || $0.isWhitespace }) else { return nil }
        return domain.lowercased()
    }
}
