import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldRows

/// Re-planning after a rule edit, with the database: what it reads and writes around the
/// pure decisions of ``RuleReplan`` (the expander, and `herald rules preview`).
extension RuleReplan {
    /// What re-planning `rule` does now. Call inside a transaction (the send times are
    /// computed in each message's zone, set for the transaction).
    public static func plan(rule: String, in store: Stores, context: Context, lock: Bool) async throws -> [Action] {
        let pending = try await store.events.pendingMessages(ofRule: rule, lock: lock)
        guard !pending.isEmpty else { return [] }
        let state = try await store.events.ruleState(rule)
        var actions: [Action] = []
        var byEvent: [Int64: [PlannedMessage]] = [:]
        for message in pending {
            if let event = message.eventID { byEvent[event, default: []].append(message) }
            else { actions.append(unplannable(message, state: state, rule: rule, why: "planned before Herald recorded which event planned it")) }
        }
        for eventID in byEvent.keys.sorted() {
            let messages = byEvent[eventID] ?? []
            guard let event = try await store.events.event(id: eventID) else {
                actions += messages.map { unplannable($0, state: state, rule: rule, why: "its event \(eventID) no longer exists") }
                continue
            }
            let plan = try await EventPlan.make(event: event, in: store, planner: context.planner, defaultZone: context.defaultZone,
                                                now: context.now, only: rule, replanning: true)
            actions += reconcile(messages, plan: plan, rule: rule, state: state)
        }
        return actions
    }

    /// Carries out `actions`; a message that stopped being pending meanwhile is skipped.
    public static func apply(_ actions: [Action], rule: String, in store: Stores) async throws -> [RuleEditOutcome] {
        var outcomes: [RuleEditOutcome] = []
        for action in actions {
            switch action.kind {
            case .moved, .updated:
                guard let id = action.messageID, let p = action.planned else { continue }
                let done = try await store.events.replanMessage(id, rule: rule, recipient: p.recipient, sendAt: p.sendAt)
                outcomes.append(.init(action: done ? action.kind : .skipped, channel: action.channel, messageID: id,
                                      reason: done ? describe(action) : "no longer pending"))
            case .cancelled:
                guard let id = action.messageID else { continue }
                let reason = "rule \(rule) edited: \(action.reason ?? "")"
                let done = try await store.events.cancelForRule(id, rule: rule, reason: reason)
                outcomes.append(.init(action: done ? .cancelled : .skipped, channel: action.channel, messageID: id,
                                      reason: done ? action.reason : "no longer pending"))
            case .created:
                guard let p = action.planned else { continue }
                if let id = try await store.events.enqueueForRule(p) {
                    outcomes.append(.init(action: .created, channel: action.channel, messageID: id, reason: describe(action)))
                } else {
                    outcomes.append(.init(action: .skipped, channel: action.channel, messageID: nil,
                                          reason: "already created for this event (sent or finished earlier)"))
                }
            case .skipped:
                outcomes.append(.init(action: .skipped, channel: action.channel, messageID: action.messageID, reason: action.reason))
            }
        }
        return outcomes
    }

}
