import Foundation
import HeraldAdminAPI
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldRender

/// Templates: list, read, write (checked by the CLI's lint), history, preview, impact.
extension AdminHandler {
    func listTemplates(_ input: Operations.ListTemplates.Input) async throws -> Operations.ListTemplates.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            .ok(.init(body: .json(try await db { try await $0.catalog.templateSummaries() }.map {
                .init(key: $0.key, channel: $0.channel, locale: $0.locale, version: Int($0.version) ?? 1, updatedAt: $0.updated,
                      description: $0.description.isEmpty ? nil : $0.description)
            })))
        }
    }

    /// The stored template, else the built-in one (`stored` false).
    func currentTemplate(key: String, channel: String, locale: String) async throws -> (TemplateRecord, stored: Bool)? {
        if let stored = try await db({ try await $0.admin.template(key: key, channel: channel, locale: locale) }) { return (stored, true) }
        let builtin = BuiltinTemplates.withReplies(BuiltinTemplates.records).first { $0.key == key && $0.channel == channel && $0.locale == locale }
        return builtin.map { ($0, false) }
    }

    static func template(_ t: TemplateRecord, stored: Bool) -> Components.Schemas.Template {
        .init(key: t.key, channel: t.channel, locale: t.locale, subject: t.subject, body: t.body, html: t.html,
              version: stored ? t.version : nil, stored: stored)
    }

    func getTemplate(_ input: Operations.GetTemplate.Input) async throws -> Operations.GetTemplate.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let (key, channel, locale) = try Self.templatePath(input.path.key, input.path.channel.rawValue, input.path.locale)
            guard let (t, stored) = try await currentTemplate(key: key, channel: channel, locale: locale) else {
                throw APIProblem.notFound("template \(key) for \(channel) in \(locale)")
            }
            return .ok(.init(body: .json(Self.template(t, stored: stored))))
        }
    }

    static func templatePath(_ key: String, _ channel: String, _ locale: String) throws -> (String, String, String) {
        guard key.range(of: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", options: .regularExpression) != nil else {
            throw APIProblem.badRequest("key: letters, digits and _ . -, 128 at most")
        }
        guard locale.range(of: "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$", options: .regularExpression) != nil else {
            throw APIProblem.badRequest("locale: a language tag such as es or fr-CA")
        }
        return (key, channel, locale)
    }

    /// The lint's problems for `record` as it would be stored (with the stored partials).
    func lint(_ record: TemplateRecord) async throws -> [String] {
        let partials = try await db { try await $0.catalog.partials() }
        let p = service.settings.pipeline
        let context = RenderContext(timeZone: p.scheduling.defaultTimeZone, now: Date(), smsMaxSegments: p.smsMaxSegments)
        return TemplateLint(records: [record], partials: partials, defaultLocale: p.defaultLocale, context: context).run().map(\.reason)
    }

    /// The most `{{…}}` tags a proposed template may have (a long email has a few hundred).
    static let maxTags = 2_000

    static func proposed(_ base: TemplateRecord?, key: String, channel: String, locale: String, text: Components.Schemas.TemplateText) throws -> TemplateRecord {
        guard text.body.utf8.count <= 65_536, (text.html?.utf8.count ?? 0) <= 262_144, (text.subject?.utf8.count ?? 0) <= 1000 else {
            throw APIProblem(413, "Content Too Large", detail: "body 64 kB, html 256 kB, subject 1000 bytes at most")
        }
        let tags = [text.subject, text.body, text.html].compactMap { $0 }.map { $0.components(separatedBy: "{{").count - 1 }.reduce(0, +)
        guard tags <= maxTags else {
            // Compiling a template costs with its tags: tens of thousands take seconds.
            throw APIProblem(422, "Unprocessable Content", detail: "the template has \(tags) tags; at most \(maxTags)")
        }
        return TemplateRecord(key: key, channel: channel, locale: locale, subject: text.subject, body: text.body, html: text.html,
                              version: (base?.version ?? 0) + 1, sampleData: base?.sampleData)
    }

    func putTemplate(_ input: Operations.PutTemplate.Input) async throws -> Operations.PutTemplate.Output {
        let text = switch input.body { case .json(let body): body }
        let target = "template \(input.path.key.prefix(128)) \(input.path.channel.rawValue) \(input.path.locale.prefix(35))"
        return await serve(.editor, action: "template.write", target: target,
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { principal, _ in
            let (key, channel, locale) = try Self.templatePath(input.path.key, input.path.channel.rawValue, input.path.locale)
            let current = try await currentTemplate(key: key, channel: channel, locale: locale)
            let record = try Self.proposed(current?.0, key: key, channel: channel, locale: locale, text: text)
            let problems = try await lint(record)
            guard problems.isEmpty else {
                throw APIProblem(422, "Unprocessable Content", detail: "the template does not pass herald templates lint", errors: problems)
            }
            let stored = try await db { try await $0.admin.writeTemplate(record, sampleData: record.sampleData, actor: principal.actor) }
            service.templatesChanged()
            return .ok(.init(body: .json(Self.template(stored, stored: true))))
        }
    }

    func getTemplateHistory(_ input: Operations.GetTemplateHistory.Input) async throws -> Operations.GetTemplateHistory.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let (key, channel, locale) = try Self.templatePath(input.path.key, input.path.channel.rawValue, input.path.locale)
            let versions = try await db { try await $0.admin.templateHistory(key: key, channel: channel, locale: locale) }
            return .ok(.init(body: .json(versions.map {
                .init(version: $0.version, subject: $0.subject, body: $0.body, html: $0.html, author: $0.author, createdAt: $0.createdAt)
            })))
        }
    }

    func previewTemplate(_ input: Operations.PreviewTemplate.Input) async throws -> Operations.PreviewTemplate.Output {
        let request = switch input.body { case .json(let body): body }
        return await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { principal, _ in
            // Rendering a text of one's own is editing: the editor's.
            if request.text != nil, principal.role < .editor { throw APIProblem.forbidden(principal.role, needs: .editor, kind: principal.kind) }
            let (key, channel, locale) = try Self.templatePath(request.key, request.channel.rawValue, request.locale)
            let current = try await currentTemplate(key: key, channel: channel, locale: locale)
            var replacing: TemplateRecord?
            if let text = request.text {
                replacing = try Self.proposed(current?.0, key: key, channel: channel, locale: locale, text: text)
            } else if let current, !current.stored {
                replacing = current.0
            }
            let now = Date()
            let pipeline = try await service.pipeline(replacing: replacing, now: now)
            var message: OutboxMessage
            if let id = request.messageId {
                guard let found = try await db({ try await $0.messages.message(id: id) }) else { throw APIProblem.notFound("message \(id)") }
                message = found.message
                message.template = key
                message.channel = channel
                message.locale = locale
            } else {
                var data = replacing?.sampleData ?? current?.0.sampleData ?? "{}"
                if let given = request.data {
                    data = String(decoding: try JSONEncoder().encode(given), as: UTF8.self)
                    guard data.utf8.count <= 65_536 else { throw APIProblem(413, "Content Too Large", detail: "data: 64 kB at most") }
                }
                message = OutboxMessage(id: 0, channel: channel, recipient: "preview", template: key, locale: locale, timeZone: nil,
                                        data: data, attempt: 1, maxAttempts: nil, schedule: .init(sendAt: now))
                message.subject = .init(type: "appointment", id: "preview")
            }
            return .ok(.init(body: .json(Self.rendered(pipeline.render(message, at: now).map(\.0), channel: channel))))
        }
    }

    func templateImpact(_ input: Operations.TemplateImpact.Input) async throws -> Operations.TemplateImpact.Output {
        let request = switch input.body { case .json(let body): body }
        return await serve(.editor, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let (key, channel, locale) = try Self.templatePath(request.key, request.channel.rawValue, request.locale)
            let current = try await currentTemplate(key: key, channel: channel, locale: locale)
            let record = try Self.proposed(current?.0, key: key, channel: channel, locale: locale, text: request.text)
            let now = Date()
            let before = try await service.pipeline(replacing: current.flatMap { $0.stored ? nil : $0.0 }, now: now)
            let after = try await service.pipeline(replacing: record, now: now)
            let limit = service.settings.impactLimit
            let (messages, total) = try await db { try await $0.admin.pendingMessages(template: key, channel: channel, limit: limit) }
            let report = Self.impact(messages, before: before, after: after, now: now,
                                     deadline: ContinuousClock.now + service.settings.impactTime)
            return .ok(.init(body: .json(.init(pending: total, rendered: report.rendered, complete: report.rendered == total,
                                               failures: report.failures, segmentChanges: report.changes))))
        }
    }

    /// Renders each message with both pipelines until the deadline: new failures, and SMS
    /// whose segment count changes.
    static func impact(_ messages: [OutboxMessage], before: Pipeline, after: Pipeline, now: Date, deadline: ContinuousClock.Instant)
        -> (rendered: Int, failures: [Components.Schemas.ImpactEntry], changes: [Components.Schemas.ImpactEntry]) {
        var rendered = 0
        var failures: [Components.Schemas.ImpactEntry] = []
        var changes: [Components.Schemas.ImpactEntry] = []
        for message in messages {
            if ContinuousClock.now >= deadline { break }
            rendered += 1
            let old = try? before.render(message, at: now).get().0
            switch after.render(message, at: now) {
            case .failure(let failure):
                if failures.count < 1000 { failures.append(.init(messageId: message.id, error: failure.reason)) }
            case .success(let (new, _)):
                guard message.channel == "sms" else { continue }
                let was = old.map { SMSSegments($0.body).count }
                let now = SMSSegments(new.body).count
                if was != now, changes.count < 1000 {
                    changes.append(.init(messageId: message.id, segmentsBefore: was, segmentsAfter: now))
                }
            }
        }
        return (rendered, failures, changes)
    }
}
