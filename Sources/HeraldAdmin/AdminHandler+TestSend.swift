import Foundation
import HeraldAdminAPI
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPipeline

/// A template sent once to an address an editor gives, through the daemon's own driver.
extension AdminHandler {
    func testSendTemplate(_ input: Operations.TestSendTemplate.Input) async throws -> Operations.TestSendTemplate.Output {
        let request = switch input.body { case .json(let body): body }
        return await serve(.editor, action: "template.test_send", target: "\(request.key.prefix(128)) \(request.channel.rawValue) to \(request.to.prefix(320))",
                           problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, note in
            let (key, channelName, locale) = try Self.templatePath(request.key, request.channel.rawValue, request.locale)
            let to = try Self.short(request.to, "to", max: 320)
            guard let channel = Channel(rawValue: channelName), let driver = service.settings.drivers[channel] else {
                throw APIProblem(409, "Conflict", detail: "no driver is configured for \(channelName)")
            }
            if let why = try await db({ try await $0.admin.optOutReason(channel: channelName, recipient: to) }) {
                throw APIProblem(409, "Conflict", detail: "\(to) opted out of \(channelName) (\(why)): nothing is sent to it")
            }
            let current = try await currentTemplate(key: key, channel: channelName, locale: locale)
            var replacing = current.flatMap { $0.stored ? nil : $0.0 }
            if let text = request.text { replacing = try Self.proposed(current?.0, key: key, channel: channelName, locale: locale, text: text) }
            let now = Date()
            // No links: a one-click unsubscribe in a test would opt the address out.
            let pipeline = try await service.pipeline(replacing: replacing, now: now, links: false)
            var data = replacing?.sampleData ?? current?.0.sampleData ?? "{}"
            if let given = request.data {
                data = String(decoding: try JSONEncoder().encode(given), as: UTF8.self)
                guard data.utf8.count <= 65_536 else { throw APIProblem(413, "Content Too Large", detail: "data: 64 kB at most") }
            }
            var message = OutboxMessage(id: 0, channel: channelName, recipient: to, template: key, locale: locale, timeZone: nil,
                                        data: data, attempt: 1, maxAttempts: nil, schedule: .init(sendAt: now))
            message.subject = .init(type: "appointment", id: "test")
            let rendered: RenderedMessage
            switch pipeline.render(message, at: now) {
            case .success(let (r, _)): rendered = r
            case .failure(let failure): throw APIProblem(422, "Unprocessable Content", detail: "cannot render it: \(failure.reason)")
            }
            note.count = 1
            let shown = Self.rendered(.success(rendered), channel: channelName)
            do {
                let receipt = try await driver.deliver(rendered)
                return .ok(.init(body: .json(.init(sent: true, driver: driver.name, providerMessageId: receipt.providerMessageID,
                                                   response: receipt.responseCode, rendered: shown))))
            } catch let error as DeliveryError {
                note.count = 0
                return .ok(.init(body: .json(.init(sent: false, driver: driver.name, error: error.reason, rendered: shown))))
            }
        }
    }
}
