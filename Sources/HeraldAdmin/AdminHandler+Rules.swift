import Foundation
import HeraldAdminAPI
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldRender
import HeraldRows
import HeraldWorker

/// Rules: list, change one or several (template, channels, on/off), with the re-plan preview.
extension AdminHandler {
    func listRules(_ input: Operations.ListRules.Input) async throws -> Operations.ListRules.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            .ok(.init(body: .json(try await db { try await $0.admin.rules() }.map {
                .init(name: $0.name, enabled: $0.enabled, subjectType: $0.subjectType, onEvent: $0.onEvent, toStatus: $0.toStatus,
                      channels: $0.channels, template: $0.template, sendBefore: $0.sendBefore, sendAfter: $0.sendAfter, postpone: $0.postpone,
                      businessHoursOnly: $0.businessHoursOnly, recipient: $0.recipient, priority: $0.priority)
            })))
        }
    }

    /// The change as the rule columns it sets.
    static func assignments(_ change: Components.Schemas.RuleChange) throws -> [(column: String, value: String)] {
        var set: [(column: String, value: String)] = []
        if let enabled = change.enabled { set.append(("enabled", enabled ? "true" : "false")) }
        if let template = change.template {
            guard template.range(of: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", options: .regularExpression) != nil else {
                throw APIProblem(422, "Unprocessable Content", detail: "template: a template key")
            }
            set.append(("template", template))
        }
        if let channels = change.channels {
            let names = channels.map(\.rawValue)
            guard !names.isEmpty, Set(names).count == names.count else {
                throw APIProblem(422, "Unprocessable Content", detail: "channels: one to four, each once")
            }
            set.append(("channels", "{\(names.joined(separator: ","))}"))
        }
        for (column, value) in [("send_before", change.sendBefore), ("send_after", change.sendAfter), ("postpone", change.postpone)] {
            guard let value else { continue }
            guard value.utf8.count <= 100, !value.contains("\u{0}") else { throw APIProblem(422, "Unprocessable Content", detail: "\(column): an interval") }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            set.append((column, trimmed.isEmpty ? (column == "postpone" ? "0" : "NULL") : trimmed))
        }
        if let hours = change.businessHoursOnly { set.append(("business_hours_only", hours ? "true" : "false")) }
        guard !set.isEmpty else {
            throw APIProblem(422, "Unprocessable Content", detail: "nothing to change: give enabled, template, channels, send_before, send_after, postpone or business_hours_only")
        }
        return set
    }

    /// What the change would re-plan (rolled back), then, unless `preview`, the change made
    /// (the daemon re-plans as it does after any rule edit).
    func change(rule name: String, set: [(column: String, value: String)], preview: Bool, actor: String) async throws -> Components.Schemas.RuleChangeResult {
        let settings = service.settings.pipeline
        guard let state = try await db({ try await $0.events.ruleState(name) }) else { throw APIProblem.notFound("rule \(name)") }
        try await checkTemplate(of: state, changedBy: set)
        let actions = try await db { stores in
            let planner = SchedulePlanner(policy: settings.scheduling, records: try await stores.catalog.locations())
            let context = RuleReplan.Context(planner: planner, defaultZone: settings.scheduling.defaultTimeZone, now: Date())
            return try await stores.events.withRuleEdited(name, set: set) {
                try await RuleReplan.plan(rule: name, in: stores, context: context, lock: false)
            }
        }
        if !preview {
            guard try await db({ try await $0.admin.changeRule(name, set: set, actor: actor) }) else { throw APIProblem.notFound("rule \(name)") }
        }
        return .init(name: name, applied: !preview, actions: actions.map {
            .init(kind: $0.kind.rawValue, messageId: $0.messageID, channel: $0.channel, detail: RuleReplan.describe($0))
        })
    }

    /// A rule whose template or channels change must name a template that exists (stored
    /// or built-in) on each of its channels: otherwise every message it plans would fail.
    func checkTemplate(of state: RuleState, changedBy set: [(column: String, value: String)]) async throws {
        guard set.contains(where: { $0.column == "template" || $0.column == "channels" }) else { return }
        let template = set.last(where: { $0.column == "template" })?.value ?? state.fields.first.flatMap { $0 } ?? ""
        var channels = state.channels
        if let text = set.last(where: { $0.column == "channels" })?.value {
            channels = text.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",").map(String.init)
        }
        let stored = Set(try await db { try await $0.catalog.templateSummaries() }.filter { $0.key == template }.map(\.channel))
        let builtin = Set(BuiltinTemplates.withReplies(BuiltinTemplates.records).filter { $0.key == template }.map(\.channel))
        let known = stored.union(builtin)
        // WhatsApp without a template of its own sends the SMS text (inside the 24-hour window).
        let missing = channels.filter { !known.contains($0) && !($0 == Channel.whatsapp.rawValue && known.contains(Channel.sms.rawValue)) }
        guard missing.isEmpty else {
            throw APIProblem(422, "Unprocessable Content", detail: "no template \(template) for \(missing.joined(separator: ", ")), stored or built-in")
        }
    }

    func changeRule(_ input: Operations.ChangeRule.Input) async throws -> Operations.ChangeRule.Output {
        let change = switch input.body { case .json(let body): body }
        let preview = change.preview == true
        return await serve(.editor, action: preview ? "rule.change.preview" : "rule.change", target: "rule \(input.path.name.prefix(200))",
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { principal, note in
            let name = try Self.short(input.path.name, "name")
            let result = try await self.change(rule: name, set: try Self.assignments(change), preview: preview, actor: principal.actor)
            note.count = result.actions.count
            return .ok(.init(body: .json(result)))
        }
    }

    func bulkChangeRules(_ input: Operations.BulkChangeRules.Input) async throws -> Operations.BulkChangeRules.Output {
        let request = switch input.body { case .json(let body): body }
        let preview = request.change.preview == true
        return await serve(.editor, action: preview ? "rules.bulk_change.preview" : "rules.bulk_change",
                           target: "rules " + request.names.prefix(20).map { String($0.prefix(64)) }.joined(separator: ","),
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { principal, note in
            guard (1...200).contains(request.names.count), Set(request.names).count == request.names.count else {
                throw APIProblem(422, "Unprocessable Content", detail: "names: 1 to 200 rules, each once")
            }
            let names = try request.names.map { try Self.short($0, "names") }
            let set = try Self.assignments(request.change)
            let known = Set(try await db { try await $0.admin.rules() }.map(\.name))
            let unknown = names.filter { !known.contains($0) }
            guard unknown.isEmpty else { throw APIProblem.notFound("rule \(unknown.joined(separator: ", ")); nothing was changed") }
            // Every preview first: a change that cannot be planned stops the batch before any is made.
            var results: [Components.Schemas.RuleChangeResult] = []
            for name in names {
                do {
                    results.append(try await change(rule: name, set: set, preview: true, actor: principal.actor))
                } catch {
                    let p = APIProblem.from(error)
                    throw APIProblem(p.status, p.title, detail: "rule \(name): \(p.detail ?? p.title); nothing was changed")
                }
            }
            if !preview {
                results = []
                for name in names { results.append(try await change(rule: name, set: set, preview: false, actor: principal.actor)) }
            }
            note.count = names.count
            return .ok(.init(body: .json(results)))
        }
    }
}
