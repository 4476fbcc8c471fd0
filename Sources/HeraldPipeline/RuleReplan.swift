import Foundation
import HeraldCore
import HeraldRows
import HeraldRender
import HeraldScheduling

/// Re-planning after a rule edit: the rule's pending messages are planned again from the
/// event that planned them, by the same ``EventPlan`` the expander runs, and reconciled by
/// their `dedupe_key` (which does not depend on the rule's timing or template): a message
/// the edited rule still calls for is moved or updated in place, one it no longer calls for
/// is cancelled with the reason, and one it now calls for (a channel added) is created.
/// Messages being sent or finished are never touched.
///
/// ``plan(rule:in:context:lock:)`` only reads, so `herald rules preview` (and the admin API)
/// show what an edit would do by running it inside `EventStore.withRuleEdited(_:set:_:)`.
public enum RuleReplan {
    /// One change re-planning makes.
    public struct Action: Sendable, Equatable {
        public typealias Kind = RuleEditAction

        public var kind: Kind
        public var channel: String
        /// The pending message (moved, updated, cancelled, skipped) or nil (created).
        public var messageID: Int64?
        public var reason: String?
        /// What the rule now plans for it (moved, updated, created).
        public var planned: RuleMessage?
        /// Its send time before the edit (moved).
        public var previousSendAt: Date?
    }

    /// What planning needs beyond the store: the scheduling rules, the default zone and the instant.
    public struct Context: Sendable {
        public var planner: SchedulePlanner
        public var defaultZone: String
        public var now: Date

        public init(planner: SchedulePlanner, defaultZone: String, now: Date) {
            self.planner = planner
            self.defaultZone = defaultZone
            self.now = now
        }
    }

    /// A pending message with no event to plan it from: cancelled if the rule alone rules it
    /// out, else left as it was.
    package static func unplannable(_ m: PlannedMessage, state: RuleState?, rule: String, why: String) -> Action {
        if let gone = gone(state, rule: rule, channel: m.channel) {
            return .init(kind: .cancelled, channel: m.channel, messageID: m.id, reason: gone)
        }
        return .init(kind: .skipped, channel: m.channel, messageID: m.id, reason: "\(why): left as it was")
    }

    /// Matches the pending messages of one event with what the rule plans for it now.
    package static func reconcile(_ messages: [PlannedMessage], plan: EventPlan, rule: String, state: RuleState?) -> [Action] {
        var actions: [Action] = []
        let planned = plan.messages.filter { $0.rule == rule }
        for m in messages {
            if let p = planned.first(where: { $0.dedupeKey == m.dedupeKey }) {
                let moved = p.sendAt.map { abs($0.timeIntervalSince(m.sendAt ?? $0)) >= 1 } ?? false
                let now = (state?.fields ?? []) + [p.recipient, p.sender, p.eventAt.map { String($0.timeIntervalSince1970) }]
                let changed = zip(now, m.fields).contains { new, old in !sameField(new, old) }
                guard moved || changed else { continue }  // the edit changes nothing for this message
                actions.append(.init(kind: moved ? .moved : .updated, channel: m.channel, messageID: m.id, reason: nil, planned: p,
                                     previousSendAt: m.sendAt))
            } else {
                let why = gone(state, rule: rule, channel: m.channel)
                    ?? plan.failure.map { "its event can no longer be planned: \($0)" }
                    ?? plan.skipped.first(where: { $0.rule == rule && $0.channel == m.channel })?.reason
                    ?? "the rule no longer applies to its event"
                actions.append(.init(kind: .cancelled, channel: m.channel, messageID: m.id, reason: why))
            }
        }
        for p in planned where !messages.contains(where: { $0.dedupeKey == p.dedupeKey }) {
            actions.append(.init(kind: .created, channel: p.channel, messageID: nil, reason: nil, planned: p))
        }
        return actions
    }

    /// Two field values as text, numbers compared as numbers (`3600` and `3600.0`).
    static func sameField(_ a: String?, _ b: String?) -> Bool {
        if a == b { return true }
        guard let a, let b, let x = Double(a), let y = Double(b) else { return false }
        return abs(x - y) < 0.001
    }

    /// Why none of the rule's messages on `channel` can stay, from the rule alone.
    static func gone(_ state: RuleState?, rule: String, channel: String) -> String? {
        guard let state else { return "the rule was deleted" }
        if !state.enabled { return "the rule was turned off" }
        if !state.channels.contains(channel) { return "\(channel) was removed from the rule's channels" }
        return nil
    }

    /// One line for a person: `moved message 12 (sms) from … to …`.
    public static func describe(_ action: Action) -> String? {
        switch action.kind {
        case .moved:
            let from = action.previousSendAt.map(ISO8601.string) ?? "?"
            let to = action.planned?.sendAt.map(ISO8601.string) ?? "?"
            return "from \(from) to \(to)"
        case .created:
            return action.planned?.sendAt.map { "due \(ISO8601.string($0))" } ?? "due at once"
        default:
            return action.reason
        }
    }
}
