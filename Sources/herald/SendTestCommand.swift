import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldDrivers
import HeraldPipeline
import HeraldRender
import Logging

/// `herald send-test`: how an operator checks a driver's credentials and reachability.
struct SendTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "Send a short test message through the configured driver at once and print the provider's answer.",
        discussion: "Bypasses the outbox, quiet hours and retries: one attempt, now. Exit 0 when the provider accepted it.")

    @OptionGroup var options: GlobalOptions
    @Option(help: "sms, email or webhook.") var channel: String
    @Option(help: "E.164 number, email address, or URL (webhook without a configured url).") var to: String
    @Option(help: "es, fr or en (default: [render] default_locale).") var locale: String?
    @Option(help: "Send this many copies at once (bounded by the driver's max_concurrent and rate) and print the rate.") var count = 1

    static let texts: [String: (subject: String, body: String)] = [
        "es": ("Prueba de Herald", "Mensaje de prueba de Herald ({{herald.channel}}) enviado desde {{host}} el {{herald.now}}. Si lo lees, el envío funciona."),
        "fr": ("Test Herald", "Message de test de Herald ({{herald.channel}}) envoyé depuis {{host}} le {{herald.now}}. Si vous le lisez, l'envoi fonctionne."),
        "en": ("Herald test", "Herald test message ({{herald.channel}}) sent from {{host}} on {{herald.now}}. If you can read this, delivery works."),
    ]

    func run() async throws {
        let config = try options.load()
        guard let channel = Channel(rawValue: channel) else { throw fail("--channel: expected sms, email, webhook or whatsapp", code: 64) }
        let logger = Logger(label: "herald.send-test")
        guard config.channels[channel] != nil, let driver = try makeDrivers(config, logger: logger)[channel] else {
            throw fail("no driver configured for channel \(channel.rawValue) ([channels.\(channel.rawValue)] in \(config.source))", code: 78)
        }
        let language = String((locale ?? config.defaultLocale).prefix { $0 != "-" && $0 != "_" }).lowercased()
        let (subject, body) = Self.texts[language] ?? Self.texts["en"] ?? ("", "")
        let records = [
            TemplateRecord(key: "herald.test", channel: "sms", locale: language, subject: nil, body: body, html: nil),
            TemplateRecord(key: "herald.test", channel: "email", locale: language, subject: subject, body: body,
                           html: "<p>" + body + "</p>"),
            TemplateRecord(key: "herald.test", channel: "webhook", locale: language, subject: nil,
                           body: "{\"type\": \"herald.test\", \"text\": \"" + body + "\"}", html: nil),
        ]
        let now = Date()
        let message = OutboxMessage(id: 0, channel: channel.rawValue, recipient: to, template: "herald.test", locale: language,
                                    timeZone: nil, data: "{\"host\": \"\(ProcessInfo.processInfo.hostName)\"}", attempt: 1, maxAttempts: nil,
                                    schedule: .init(sendAt: now))
        let rendered: RenderedMessage
        // The worker's rendering step (sent at once: no quiet hours, no outbox).
        let pipeline = try await loadPipeline(config, store: nil, rows: PipelineRows(templates: records), now: now, links: false)
        switch pipeline.render(message, at: now) {
        case .success(let (r, _)): rendered = r
        case .failure(let failure): throw fail("cannot render the test message: \(failure)")
        }
        if count > 1 { return try await sendMany(rendered, driver: driver) }
        let started = ContinuousClock.now
        do {
            let receipt = try await driver.deliver(rendered)
            let ms = Int(clampingRounded: (ContinuousClock.now - started).seconds * 1000)
            print("sent through \(driver.name) in \(ms) ms: provider id \(receipt.providerMessageID ?? "-"), response \(receipt.responseCode ?? "-")")
        } catch let error as DeliveryError {
            let kind: String
            switch error {
            case .transient: kind = "temporary failure (the worker would retry)"
            case .permanent: kind = "permanent failure"
            case .optedOut: kind = "recipient opted out"
            }
            throw fail("\(driver.name): \(kind): \(error.reason)" + (error.code.map { " [code \($0)]" } ?? ""))
        } catch {
            throw fail("\(driver.name): \(error)")
        }
    }

    /// `--count N`: N deliveries at once; prints how many went and how fast.
    private func sendMany(_ message: RenderedMessage, driver: any Driver) async throws {
        let started = ContinuousClock.now
        let failures = await withTaskGroup(of: String?.self) { group -> [String] in
            for i in 0..<count {
                var copy = message
                copy.id = Int64(i + 1)
                group.addTask {
                    do {
                        _ = try await driver.deliver(copy)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
            }
            var failed: [String] = []
            for await result in group { if let result { failed.append(result) } }
            return failed
        }
        let seconds = (ContinuousClock.now - started).seconds
        let rate = Double(count - failures.count) / max(seconds, 0.000_001)
        print(String(format: "sent %d of %d through %@ in %.3f s: %.1f messages/s", count - failures.count, count, driver.name, seconds, rate))
        if let first = failures.first { throw fail("\(failures.count) failed; first: \(first)") }
    }
}
