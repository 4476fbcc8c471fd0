import Foundation
import HeraldRows
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldPostgres
import HeraldScheduling
import Logging
import ServiceLifecycle

/// Expands the host's events (`herald.event`) into messages by the business's rules
/// (`herald.rule`): batches of events taken with `SKIP LOCKED` (several daemons share the
/// work) and planned together in one transaction (``expandMany(planner:limit:)``), which
/// cancels what each event makes obsolete, enqueues what the matching rules call for, logs
/// every decision in `herald.event_outcome` and marks the events done — or an event failed,
/// with the reason, so the next events keep flowing. A batch that fails as a whole is
/// expanded again one event per transaction, where a bad event fails alone.
///
/// It also re-plans after rule edits (`herald.rule_edit`, queued by a trigger): the edited
/// rule's pending messages are moved, updated, cancelled or created by ``RuleReplan``, and
/// each change is logged in `herald.rule_edit_outcome`.
///
/// Woken by `NOTIFY herald_event` (sent by both) and at least every poll interval.
public final class EventExpander: Service, Sendable {
    let context: DaemonContext
    let link: DatabaseLink

    /// Most events expanded in one transaction (and, when a batch must be redone, one event
    /// per transaction). With migration 023, in the events profile (20,000 events × 3 rules,
    /// three interleaved runs each, docs/benchmarks.md): 100 gave 1,051–1,161 events/s, 250
    /// gave 946–1,405 and 400 gave 1,230–1,511; 1,000 gave 1,244–1,276 (its claims then
    /// read through 3,000 uncommitted rows). A batch takes no event whose subject or contact
    /// has an earlier one pending (``EventStore/claimEvents(limit:)``), so a run of one
    /// client's events no longer cuts a batch short.
    static let batchLimit = 400

    public init(context: DaemonContext, links: DatabaseLinks) {
        self.context = context
        self.link = links.events
    }

    public func run() async throws {
        await context.drainLoop(wake: context.eventWake) { await self.expandBatch(limit: Self.batchLimit) }
    }

    /// Expands up to `limit` events; true when there may be more.
    func expandBatch(limit: Int) async -> Bool {
        do {
            let locations = try await link.withDatabase { try await $0.catalog.locations() }
            let planner = SchedulePlanner(policy: context.settings.scheduling, records: locations)
            var events: Int
            do {
                events = try await expandMany(planner: planner, limit: limit)
            } catch {
                // A statement failed for the batch: the same events one at a time, so that
                // a bad one fails alone with its reason.
                context.logger.warning("a batch of events could not be expanded together; expanding them one by one",
                                       metadata: ["error": "\(error)"])
                events = 0
                while events < limit, try await expandOne(planner: planner) { events += 1 }
            }
            var edits = 0
            while edits < limit, try await replanOne(planner: planner) { edits += 1 }
            // A batch stops short at a subject or contact already in it: any event expanded may mean more.
            return events > 0 || edits == limit
        } catch {
            context.noteFailedRound("could not expand events", error)
            return false
        }
    }

    /// Expands the oldest pending event; false when there is none.
    func expandOne(planner: SchedulePlanner) async throws -> Bool {
        let defaultZone = context.settings.scheduling.defaultTimeZone
        let now = context.now
        let logger = context.logger
        return try await link.withDatabase { store in
            try await store.events.expandNextEvent { event in
                let plan = try await EventPlan.make(event: event, in: store, planner: planner, defaultZone: defaultZone, now: now)
                if let failure = plan.failure {
                    Self.log(event, outcomes: [], failure: failure, logger: logger)
                    return ([], failure)
                }
                var outcomes = try await Self.cancel(plan, event: event.id, in: store)
                for message in plan.messages {
                    outcomes.append(Self.outcome(of: message, id: try await store.events.enqueueForRule(message)))
                }
                outcomes += plan.skipped
                Self.log(event, outcomes: outcomes, failure: nil, logger: logger)
                return (outcomes, nil)
            }
        }
    }
}

extension EventExpander {
    /// Re-plans the oldest pending rule edit; false when there is none.
    func replanOne(planner: SchedulePlanner) async throws -> Bool {
        let context = RuleReplan.Context(planner: planner, defaultZone: self.context.settings.scheduling.defaultTimeZone, now: self.context.now)
        let logger = self.context.logger
        return try await link.withDatabase { store in
            try await store.events.replanNextRuleEdit { edit in
                let actions = try await RuleReplan.plan(rule: edit.rule, in: store, context: context, lock: true)
                let outcomes = try await RuleReplan.apply(actions, rule: edit.rule, in: store)
                var counts: Logger.Metadata = ["edit": "\(edit.id)", "rule": "\(edit.rule)", "changed": "\(edit.changed.joined(separator: ","))"]
                for kind in RuleEditAction.allCases {
                    counts[kind.rawValue] = "\(outcomes.filter { $0.action == kind }.count)"
                }
                logger.info("rule edit re-planned", metadata: counts)
                return outcomes
            }
        }
    }
}
