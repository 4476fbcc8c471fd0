import HeraldCore
import HeraldInbound
import HeraldOutbox
import Hummingbird

/// `POST /webhooks/twilio/inbound` (a client's SMS) and `POST /webhooks/twilio/status`
/// (a delivery receipt). Each is checked in this order: size (413), form (400), signature
/// (403, nothing stored), then stored durably before Twilio gets its 2xx.
struct TwilioRoutes: Sendable {
    let listener: HTTPListener

    /// Limits on what is stored from a request (a valid signature does not make a field sane).
    static let fieldLimit = 256
    static let bodyLimit = 4096
    static let signatureHeader = HTTPFields.Element.Name("X-Twilio-Signature")!

    func add(to router: Router<ListenerRequestContext>) {
        router.post(RouterPath(stringLiteral: ListenerSettings.Path.twilioInbound)) { request, _ in try await inbound(request) }
        router.post(RouterPath(stringLiteral: ListenerSettings.Path.twilioStatus)) { request, _ in try await status(request) }
    }

    /// The signed form of a request, or the response refusing it.
    private func verified(_ request: Request, endpoint: String) async throws -> Result<[(String, String)], Refusal> {
        guard let bytes = try await listener.body(of: request) else {
            return .failure(Refusal(endpoint: endpoint, result: "too_large", response: HTTPListener.respond(.contentTooLarge, "request body too large\n")))
        }
        let form: [(String, String)]
        do {
            form = try FormBody.parse(bytes)
        } catch {
            return .failure(Refusal(endpoint: endpoint, result: "bad_request", response: HTTPListener.respond(.badRequest, "\(error)\n")))
        }
        var url = listener.settings.publicURL + request.uri.path
        if let query = request.uri.query, !query.isEmpty { url += "?" + query }
        guard let token = listener.settings.twilioAuthToken,
              TwilioSignature.isValid(request.headers[Self.signatureHeader], url: url, parameters: form, authToken: token) else {
            listener.logger.warning("webhook refused: missing or wrong X-Twilio-Signature", metadata: [
                "path": "\(SafeText.clean(request.uri.path, limit: 200))", "signed_url": "\(SafeText.clean(url, limit: 300))",
            ])
            return .failure(Refusal(endpoint: endpoint, result: "forbidden", response: HTTPListener.respond(.forbidden, "signature check failed\n")))
        }
        return .success(form)
    }

    private func inbound(_ request: Request) async throws -> Response {
        let form: [(String, String)]
        switch try await verified(request, endpoint: "twilio_inbound") {
        case .failure(let refusal): return refusal.send(listener)
        case .success(let f): form = f
        }
        func field(_ name: String, limit: Int = Self.fieldLimit) -> String {
            SafeText.clean(FormBody.value(name, in: form) ?? "", limit: limit)
        }
        let sid = field("MessageSid").isEmpty ? field("SmsSid") : field("MessageSid")
        let from = field("From")
        guard !sid.isEmpty, !from.isEmpty else {
            listener.count("twilio_inbound", "bad_request")
            return HTTPListener.respond(.badRequest, "MessageSid and From are required\n")
        }
        let (to, body) = (field("To"), field("Body", limit: Self.bodyLimit))
        // WhatsApp comes on the same webhook, its addresses written whatsapp:+…
        let channel = RecipientKey.withoutWhatsAppPrefix(from) != from ? Channel.whatsapp.rawValue : Channel.sms.rawValue
        do {
            let stored = try await listener.database.run {
                try await $0.inbound.insertInbound(provider: "twilio", providerID: sid, channel: channel, from: from, to: to, body: body)
            }
            listener.count("twilio_inbound", stored ? "accepted" : "duplicate")
        } catch {
            listener.logger.error("could not store a client reply; answering 503 so that Twilio tries again",
                                  metadata: ["sid": "\(sid)", "error": "\(error)"])
            listener.count("twilio_inbound", "unavailable")
            return HTTPListener.respond(.serviceUnavailable, "try again\n")
        }
        // Empty TwiML: Herald answers keywords itself, through the outbox.
        return HTTPListener.respond(.ok, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>", type: "text/xml")
    }

    private func status(_ request: Request) async throws -> Response {
        let form: [(String, String)]
        switch try await verified(request, endpoint: "twilio_status") {
        case .failure(let refusal): return refusal.send(listener)
        case .success(let f): form = f
        }
        func field(_ name: String) -> String? {
            FormBody.value(name, in: form).map { SafeText.clean($0, limit: Self.fieldLimit) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let sid = field("MessageSid") ?? field("SmsSid"), let status = field("MessageStatus") ?? field("SmsStatus") else {
            listener.count("twilio_status", "bad_request")
            return HTTPListener.respond(.badRequest, "MessageSid and MessageStatus are required\n")
        }
        let errorCode = field("ErrorCode")
        do {
            let report = try await listener.database.run {
                try await $0.inbound.recordReceipt(provider: "twilio", providerMessageID: sid, status: status, errorCode: errorCode)
            }
            if report.waiting > 0 {
                listener.logger.notice("delivery receipt for a message Herald has not recorded (yet); kept for an hour",
                                       metadata: ["sid": "\(sid)", "status": "\(status)"])
            }
            listener.count("twilio_status", report.waiting > 0 ? "unmatched" : "accepted")
        } catch {
            listener.logger.error("could not store a delivery receipt; answering 503", metadata: ["sid": "\(sid)", "error": "\(error)"])
            listener.count("twilio_status", "unavailable")
            return HTTPListener.respond(.serviceUnavailable, "try again\n")
        }
        return HTTPListener.respond(.ok, "")
    }
}

/// A request refused before anything is stored.
struct Refusal: Error {
    let endpoint: String
    let result: String
    let response: Response

    func send(_ listener: HTTPListener) -> Response {
        listener.count(endpoint, result)
        return response
    }
}
