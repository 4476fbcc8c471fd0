import Foundation
import HeraldAdminAPI
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldRender

/// Messages: search, one message, retry and cancel (one, or every match of a filter).
extension AdminHandler {
    /// A filter from its parts, each checked for length.
    static func filter(status: String?, channel: String?, template: String?, rule: String?, recipient: String?, contact: String?,
                       subjectType: String?, subjectID: String?, location: String?, createdAfter: Date?, createdBefore: Date?,
                       sentAfter: Date?, sentBefore: Date?, error: String?) throws -> AdminStore.MessageFilter {
        var f = AdminStore.MessageFilter()
        f.status = status
        f.channel = channel
        f.template = try template.map { try short($0, "template") }
        f.rule = try rule.map { try short($0, "rule") }
        f.recipient = try recipient.map { try short($0, "recipient") }
        f.contact = try contact.map { try short($0, "contact") }
        f.subjectType = try subjectType.map { try short($0, "subject_type") }
        f.subjectID = try subjectID.map { try short($0, "subject_id") }
        f.location = try location.map { try short($0, "location") }
        (f.createdAfter, f.createdBefore, f.sentAfter, f.sentBefore) = (createdAfter, createdBefore, sentAfter, sentBefore)
        if let error {
            guard error.count >= 3 else { throw APIProblem.badRequest("error: at least 3 characters (a trigram index finds them)") }
            f.error = try short(error, "error")
        }
        return f
    }

    static func filter(_ f: Components.Schemas.MessageFilter) throws -> AdminStore.MessageFilter {
        try filter(status: f.status?.rawValue, channel: f.channel?.rawValue, template: f.template, rule: f.rule, recipient: f.recipient,
                   contact: f.contact, subjectType: f.subjectType, subjectID: f.subjectId, location: f.location,
                   createdAfter: f.createdAfter, createdBefore: f.createdBefore, sentAfter: f.sentAfter, sentBefore: f.sentBefore,
                   error: f.error)
    }

    static func summary(_ m: AdminStore.MessageRow) -> Components.Schemas.MessageSummary {
        .init(id: m.id, channel: m.channel, recipient: m.recipient, template: m.template, locale: m.locale, status: m.status,
              attempts: m.attempts, priority: m.priority, contactId: m.contactID, subjectType: m.subjectType, subjectId: m.subjectID,
              locationId: m.locationID, ruleName: m.ruleName, eventId: m.eventID, lastError: m.lastError, createdAt: m.createdAt,
              nextAttemptAt: m.nextAttemptAt, sentAt: m.sentAt, deliveredAt: m.deliveredAt)
    }

    func searchMessages(_ input: Operations.SearchMessages.Input) async throws -> Operations.SearchMessages.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let q = input.query
            let filter = try Self.filter(status: q.status?.rawValue, channel: q.channel?.rawValue, template: q.template, rule: q.rule,
                                         recipient: q.recipient, contact: q.contact, subjectType: q.subjectType, subjectID: q.subjectId,
                                         location: q.location, createdAfter: q.createdAfter, createdBefore: q.createdBefore,
                                         sentAfter: q.sentAfter, sentBefore: q.sentBefore, error: q.error)
            let limit = try Self.pageSize(q.limit)
            let before = try Self.cursor(q.cursor)
            let rows = try await db { try await $0.admin.searchMessages(filter, limit: limit, before: before) }
            return .ok(.init(body: .json(.init(items: rows.map(Self.summary),
                                               nextCursor: rows.count == limit ? rows.last.map { String($0.id) } : nil))))
        }
    }

    func getMessage(_ input: Operations.GetMessage.Input) async throws -> Operations.GetMessage.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let id = input.path.id
            let found = try await db { stores -> (AdminStore.MessageRow, MessageStore.MessageHistory, [AdminStore.AttemptRow], [AdminStore.ReceiptRow], OutboxMessage?)? in
                guard let row = try await stores.admin.messageRow(id: id), let history = try await stores.messages.messageHistory(id: id) else { return nil }
                return (row, history, try await stores.admin.attempts(messageID: id), try await stores.admin.receipts(messageID: id),
                        try await stores.messages.message(id: id)?.message)
            }
            guard let (row, history, attempts, receipts, message) = found else { throw APIProblem.notFound("message \(id)") }
            let now = Date()
            var explanation = row.status + (row.lastError.map { ": \($0)" } ?? "")
            var rendered: Components.Schemas.Rendered?
            if let message {
                let pipeline = try await service.pipeline(now: now)
                if row.status == MessageStatus.pending.rawValue {
                    explanation = Self.decision(pipeline.decide(message, at: now))
                }
                rendered = Self.rendered(pipeline.render(message, at: now).map(\.0), channel: row.channel)
            }
            return .ok(.init(body: .json(.init(
                message: Self.summary(row), recipientSource: history.recipientSource, origin: history.origin, fallback: history.fallback,
                attempts: attempts.map { .init(number: $0.number, driver: $0.driver, outcome: $0.outcome, responseCode: $0.responseCode,
                                               error: $0.error, startedAt: $0.startedAt, finishedAt: $0.finishedAt) },
                receipts: receipts.map { .init(status: $0.status, errorCode: $0.errorCode, result: $0.result, receivedAt: $0.receivedAt) },
                explanation: explanation, rendered: rendered))))
        }
    }

    /// The worker's decision for a pending message, in words (what `herald explain` prints).
    static func decision(_ d: Pipeline.Decision) -> String {
        switch d {
        case .failed(let failure): return "would fail: \(failure.reason)"
        case .send(_, let e): return e.summary
        case .deferred(_, _, let e): return e.summary
        case .expired(_, let e): return e.summary
        }
    }

    /// A rendering as the API shows it: the text, its SMS segments and the character that forces UCS-2.
    static func rendered(_ result: Result<RenderedMessage, PipelineFailure>, channel: String) -> Components.Schemas.Rendered {
        switch result {
        case .success(let r):
            var out = Components.Schemas.Rendered(channel: channel, subject: r.subject, body: r.body, html: r.html)
            if channel == "sms" {
                let segments = SMSSegments(r.body)
                out.smsSegments = segments.count
                out.smsEncoding = segments.encoding == .ucs2 ? .ucs2 : .gsm7
                out.ucs2Character = segments.nonGSM.first.map { String($0) }
            }
            return out
        case .failure(let failure):
            return .init(channel: channel, body: failure.rendered?.body ?? "", error: failure.reason)
        }
    }

    func retryMessage(_ input: Operations.RetryMessage.Input) async throws -> Operations.RetryMessage.Output {
        let id = input.path.id
        return await serve(.operator, action: "message.retry", target: "message \(id)",
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { principal, note in
            let result = try await db { try await $0.admin.retry(id: id, actor: principal.actor) }
            note.count = 1
            return .ok(.init(body: .json(.init(id: id, result: result))))
        }
    }

    func cancelMessage(_ input: Operations.CancelMessage.Input) async throws -> Operations.CancelMessage.Output {
        let id = input.path.id
        var reason: String?
        if case .json(let body) = input.body { reason = body.reason }
        return await serve(.operator, action: "message.cancel", target: "message \(id)",
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { [reason] principal, note in
            let why = reason.map { "\(SafeText.clean($0, limit: 500)) (by \(principal.actor))" }
            let result = try await db { try await $0.admin.cancel(id: id, actor: principal.actor, reason: why) }
            note.count = 1
            return .ok(.init(body: .json(.init(id: id, result: result))))
        }
    }

    func bulkRetry(_ input: Operations.BulkRetry.Input) async throws -> Operations.BulkRetry.Output {
        let request = switch input.body { case .json(let body): body }
        return await bulk(.retry, request) { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) } ok: { .ok(.init(body: .json($0))) }
    }

    func bulkCancel(_ input: Operations.BulkCancel.Input) async throws -> Operations.BulkCancel.Output {
        let request = switch input.body { case .json(let body): body }
        return await bulk(.cancel, request) { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) } ok: { .ok(.init(body: .json($0))) }
    }

    /// Messages a bulk action takes per transaction.
    static let bulkChunk = 500

    /// A bulk action: a dry run counts and hands back a confirmation bound to the action,
    /// the token, the filter and the count; the action needs it and acts on at most that many.
    func bulk<Output>(_ action: AdminStore.BulkAction, _ request: Components.Schemas.BulkRequest,
                      problem: (Int, Components.Schemas.Problem) -> Output,
                      ok: (Components.Schemas.BulkResult) -> Output) async -> Output {
        let name = "messages.bulk_\(action.rawValue)"
        let dryRun = request.dryRun == true || request.confirmation == nil
        return await serve(.operator, action: dryRun ? name + ".dry_run" : name, problem: problem) { principal, note in
            let filter = try Self.filter(request.filter)
            note.filter = filter.canonical
            let confirmation = try await service.confirmation()
            if dryRun {
                let (count, ceiling) = try await db { try await $0.admin.bulkCount(action, filter) }
                note.count = count
                let expires = Date().addingTimeInterval(service.settings.confirmationLifetime)
                let token = confirmation.make(action: action.rawValue, actor: principal.actor, filter: filter.canonical, count: count,
                                              ceiling: ceiling, expires: expires)
                return ok(.init(dryRun: true, matched: count, confirmation: token, expiresAt: expires))
            }
            let allowance: BulkConfirmation.Allowance
            switch confirmation.verify(request.confirmation ?? "", action: action.rawValue, actor: principal.actor, filter: filter.canonical, now: Date()) {
            case .success(let allowed): allowance = allowed
            case .failure(let refusal): throw APIProblem(409, "Conflict", detail: refusal.description)
            }
            guard try await db({ try await $0.admin.useConfirmation(allowance.signature) }) else {
                throw APIProblem(409, "Conflict", detail: BulkConfirmation.Refusal.used.description)
            }
            let reason = request.reason.map { "\(SafeText.clean($0, limit: 500)) (by \(principal.actor))" }
            // In chunks, each its own transaction within the database timeout: a large
            // action is never one statement that cannot finish.
            var results: [(id: Int64, result: String)] = []
            var after: Int64 = 0
            while results.count < allowance.count {
                let chunk = min(Self.bulkChunk, allowance.count - results.count)
                let start = after
                let done = try await db {
                    try await $0.admin.bulkAct(action, filter, after: start, ceiling: allowance.ceiling, limit: chunk,
                                               actor: principal.actor, reason: reason)
                }
                results += done
                guard let last = done.last?.id, done.count == chunk else { break }
                after = last
            }
            let refused = results.filter { !$0.result.hasPrefix("message ") }
            note.count = results.count - refused.count
            return ok(.init(dryRun: false, matched: results.count, done: results.count - refused.count,
                            refused: refused.map { .init(id: $0.id, result: $0.result) }))
        }
    }
}
