import Foundation
import HeraldAdminAPI
import HeraldCore
import HeraldOutbox

/// A client's page, opt-outs and opt-ins, replies waiting, a subject's feed, an event.
extension AdminHandler {
    func getContact(_ input: Operations.GetContact.Input) async throws -> Operations.GetContact.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let id = try Self.short(input.path.id, "id")
            guard let c = try await db({ try await $0.admin.contactPage(id: id) }) else { throw APIProblem.notFound("contact \(id)") }
            return .ok(.init(body: .json(.init(
                id: c.id, name: c.name, email: c.email, phone: c.phone, locale: c.locale, timeZone: c.timeZone, preference: c.preference,
                smsConsent: c.smsConsent, emailConsent: c.emailConsent, whatsappConsent: c.whatsappConsent,
                optOuts: c.optOuts.map { .init(channel: $0.channel, recipient: $0.recipient, source: $0.source, reason: $0.reason, since: $0.since) },
                ledger: c.ledger.map { .init(channel: $0.channel, recipient: $0.recipient, action: $0.action, source: $0.source,
                                             reason: $0.reason, recordedBy: $0.recordedBy, at: $0.at) },
                messages: c.messages.map(Self.summary),
                receipts: c.receipts.map { .init(status: $0.status, errorCode: $0.errorCode, result: $0.result, receivedAt: $0.receivedAt) },
                replies: c.replies.map(Self.reply),
                unreachable: c.unreachable.map {
                    .init(channel: $0.channel, address: $0.address, reason: .init(rawValue: $0.reason) ?? .contactSettings, detail: $0.detail,
                          since: $0.since, messageId: $0.messageID)
                }))))
        }
    }

    func optOut(_ input: Operations.OptOut.Input) async throws -> Operations.OptOut.Output {
        let change = switch input.body { case .json(let body): body }
        return await consent(change, optOut: true) { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) } ok: { .ok(.init(body: .json($0))) }
    }

    func optIn(_ input: Operations.OptIn.Input) async throws -> Operations.OptIn.Output {
        let change = switch input.body { case .json(let body): body }
        return await consent(change, optOut: false) { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) } ok: { .ok(.init(body: .json($0))) }
    }

    /// An opt-out or opt-in by an operator, with a reason, in the consent ledger as `operator`.
    func consent<Output>(_ change: Components.Schemas.ConsentChange, optOut: Bool, problem: (Int, Components.Schemas.Problem) -> Output,
                         ok: (Components.Schemas.ConsentResult) -> Output) async -> Output {
        await serve(.operator, action: optOut ? "consent.opt_out" : "consent.opt_in", target: "\(change.channel.rawValue) \(change.recipient.prefix(200))",
                    problem: problem) { principal, note in
            let recipient = try Self.address(change.recipient, channel: change.channel.rawValue)
            let reason = try Self.short(change.reason, "reason", max: 500)
            let channel = change.channel.rawValue
            let (key, changed) = try await db { stores in
                optOut ? try await stores.admin.optOut(channel: channel, recipient: recipient, reason: reason, actor: principal.actor)
                       : try await stores.admin.optIn(channel: channel, recipient: recipient, reason: reason, actor: principal.actor)
            }
            note.count = changed ? 1 : 0
            return ok(.init(channel: channel, recipient: key, optedOut: optOut, changed: changed))
        }
    }

    /// A recipient an operator typed, when its normal form is an address of the channel:
    /// an E.164 number, an email address, an http(s) URL. Anything else is refused (an
    /// opt-out of `abc` would say "opted out" and stop no one).
    static func address(_ text: String, channel: String) throws -> String {
        let given = try short(text, "recipient", max: 320)
        guard let kind = Channel(rawValue: channel) else { throw APIProblem.badRequest("channel") }
        let key = RecipientKey.normalize(given, channel: kind)
        let pattern: String
        switch kind {
        case .sms, .whatsapp: pattern = "^\\+[1-9][0-9]{6,14}$"
        case .email: pattern = "^[^@\\s<>\":]+@[^@\\s<>\"]+\\.[^@\\s<>\"]+$"
        case .webhook: pattern = "^https?://[^\\s]+$"
        }
        guard key.range(of: pattern, options: .regularExpression) != nil else {
            throw APIProblem(422, "Unprocessable Content", detail: "recipient: not \(kind.isPhone ? "a phone number (E.164)" : kind == .email ? "an email address" : "an http(s) URL")")
        }
        return given
    }

    static func reply(_ r: AdminStore.ReplyRow) -> Components.Schemas.Reply {
        .init(id: r.id, channel: r.channel, from: r.from, body: r.body, receivedAt: r.receivedAt, inReplyTo: r.inReplyTo,
              contactId: r.contactID, handledAt: r.handledAt, handledBy: r.handledBy)
    }

    func listReplies(_ input: Operations.ListReplies.Input) async throws -> Operations.ListReplies.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let limit = try Self.pageSize(input.query.limit)
            let before = try Self.cursor(input.query.cursor)
            let handled = input.query.handled ?? false
            let rows = try await db { try await $0.admin.replies(handled: handled, limit: limit, before: before) }
            return .ok(.init(body: .json(.init(items: rows.map(Self.reply),
                                               nextCursor: rows.count == limit ? rows.last.map { String($0.id) } : nil))))
        }
    }

    func markReplyHandled(_ input: Operations.MarkReplyHandled.Input) async throws -> Operations.MarkReplyHandled.Output {
        let id = input.path.id
        return await serve(.operator, action: "reply.handled", target: "reply \(id)",
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { principal, note in
            guard let row = try await db({ try await $0.admin.markHandled(replyID: id, actor: principal.actor) }) else {
                throw APIProblem.notFound("free-text reply \(id)")
            }
            note.count = 1
            return .ok(.init(body: .json(Self.reply(row))))
        }
    }

    func getSubjectFeed(_ input: Operations.GetSubjectFeed.Input) async throws -> Operations.GetSubjectFeed.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let type = try Self.short(input.path._type, "type")
            let id = try Self.short(input.path.id, "id")
            let entries = try await db { try await $0.admin.subjectFeed(type: type, id: id) }
            guard !entries.isEmpty else { throw APIProblem.notFound("event or message for \(type) \(id)") }
            return .ok(.init(body: .json(.init(subjectType: type, subjectId: id, entries: entries.map {
                .init(kind: $0.kind == "event" ? .event : .message, id: $0.id, at: $0.at, summary: $0.summary, status: $0.status)
            }))))
        }
    }

    func getEvent(_ input: Operations.GetEvent.Input) async throws -> Operations.GetEvent.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let id = input.path.id
            guard let report = try await db({ try await $0.events.eventReport(id) }) else { throw APIProblem.notFound("event \(id)") }
            return .ok(.init(body: .json(.init(id: id, summary: report.summary, lines: report.lines, rules: report.rules))))
        }
    }
}
