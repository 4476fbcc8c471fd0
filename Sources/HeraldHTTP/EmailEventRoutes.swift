import Foundation
import HeraldCore
import HeraldInbound
import HeraldOutbox
import Hummingbird

/// `POST /webhooks/sendgrid/events` and `POST /webhooks/mailgun/events`: bounces, blocks and
/// complaints from an email provider's event webhook. Checked in this order: size (413),
/// signature (403, nothing stored; also when the key is not configured), body (400); then
/// each event is applied (``InboundStore/recordProviderMailFeedback``) before the provider
/// gets its 200. A database that cannot be reached answers 503: the provider tries again,
/// and events already applied are not applied twice.
struct EmailEventRoutes: Sendable {
    let listener: HTTPListener

    func add(to router: Router<ListenerRequestContext>) {
        router.post(RouterPath(stringLiteral: ListenerSettings.Path.sendGridEvents)) { request, _ in try await sendGrid(request) }
        router.post(RouterPath(stringLiteral: ListenerSettings.Path.mailgunEvents)) { request, _ in try await mailgun(request) }
    }

    private func sendGrid(_ request: Request) async throws -> Response {
        let endpoint = "sendgrid_events"
        guard let bytes = try await listener.body(of: request) else { return tooLarge(endpoint) }
        let header = { (name: String) in HTTPFields.Element.Name(name).flatMap { request.headers[$0] } }
        guard let key = listener.settings.sendGridKey,
              SendGridEvents.isValid(body: bytes, signature: header(SendGridEvents.signatureHeader),
                                     timestamp: header(SendGridEvents.timestampHeader), key: key, now: Date()) else {
            return forbidden(endpoint)
        }
        guard let events = SendGridEvents.parse(bytes) else {
            listener.count(endpoint, "bad_request")
            return HTTPListener.respond(.badRequest, "expected a JSON array of events\n")
        }
        return await apply(events, source: "sendgrid", endpoint: endpoint)
    }

    private func mailgun(_ request: Request) async throws -> Response {
        let endpoint = "mailgun_events"
        guard let bytes = try await listener.body(of: request) else { return tooLarge(endpoint) }
        guard let key = listener.settings.mailgunKey else { return forbidden(endpoint) }
        switch MailgunEvents.parse(bytes, key: key, now: Date()) {
        case .failure(.badSignature): return forbidden(endpoint)
        case .failure(.notJSON):
            listener.count(endpoint, "bad_request")
            return HTTPListener.respond(.badRequest, "expected a Mailgun event (JSON with signature and event-data)\n")
        case .success(let event):
            return await apply(event.map { [$0] } ?? [], source: "mailgun", endpoint: endpoint)
        }
    }

    private func apply(_ events: [EmailProviderEvent], source: String, endpoint: String) async -> Response {
        do {
            for event in events {
                if let replay = event.replayKey {
                    let fresh = try await listener.database.run { try await $0.inbound.webhookTokenUse(replay, event: event.eventKey) }
                    guard fresh else { return forbidden(endpoint) }
                }
                let outcome = try await listener.database.run {
                    try await $0.inbound.recordProviderMailFeedback(
                        source: source, eventKey: event.eventKey, kind: event.feedback.kind.rawValue, providerMessageID: event.messageID,
                        recipient: event.feedback.recipient, status: event.feedback.status, detail: event.feedback.detail)
                }
                if outcome == "retry later" { throw RetryLater() }
                listener.logger.info("email provider event recorded", metadata: [
                    "provider": "\(source)", "kind": "\(event.feedback.kind.rawValue)", "outcome": "\(outcome)",
                ])
            }
        } catch {
            listener.logger.error("could not record an email provider's events; answering 503", metadata: ["provider": "\(source)", "error": "\(error)"])
            listener.count(endpoint, "unavailable")
            return HTTPListener.respond(.serviceUnavailable, "try again\n")
        }
        listener.count(endpoint, "accepted")
        return HTTPListener.respond(.ok, "")
    }

    /// An event about an email whose outcome is not recorded yet: 503, the provider tries again.
    struct RetryLater: Error, CustomStringConvertible {
        var description: String { "the email is still being sent; nothing recorded" }
    }

    private func tooLarge(_ endpoint: String) -> Response {
        listener.count(endpoint, "too_large")
        return HTTPListener.respond(.contentTooLarge, "request body too large\n")
    }

    private func forbidden(_ endpoint: String) -> Response {
        listener.logger.warning("email provider webhook refused: no key configured, or a missing, wrong or stale signature", metadata: ["endpoint": "\(endpoint)"])
        listener.count(endpoint, "forbidden")
        return HTTPListener.respond(.forbidden, "signature check failed\n")
    }
}
