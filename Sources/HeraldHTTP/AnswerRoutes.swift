import Foundation
import HeraldCore
import HeraldInbound
import HeraldOutbox
import Hummingbird

/// `GET|POST /answer/{token}`: a client confirms or declines an appointment from a
/// reminder's link. `GET` only shows the appointment and two buttons (mail scanners fetch
/// links, so it never changes anything); `POST` (the buttons, `action=confirm|decline`;
/// without one, the link's own action) records the answer through `herald.record_answer`.
/// A token that does not verify gets 400, an expired one 410, each with a page saying so.
/// A link expires at the appointment's latest start, not at the time it carries (the
/// start when it was sent): a client whose appointment moved later can still answer.
struct AnswerRoutes: Sendable {
    let listener: HTTPListener

    func add(to router: Router<ListenerRequestContext>) {
        let path = RouterPath(stringLiteral: AnswerLinks.path + "/:token")
        router.get(path) { request, context in try await handle(request, token: context.parameters.get("token"), act: false) }
        router.post(path) { request, context in try await handle(request, token: context.parameters.get("token"), act: true) }
    }

    private func handle(_ request: Request, token: String?, act: Bool) async throws -> Response {
        var page = AnswerPage(language: HTMLPage.language(acceptLanguage: request.headers[.acceptLanguage]))
        var form: [(String, String)] = []
        if act {
            guard let body = try await listener.body(of: request) else {
                listener.count("answer", "too_large")
                return HTTPListener.respond(.contentTooLarge, "request body too large\n")
            }
            form = (try? FormBody.parse(body)) ?? []
        }
        guard let key = listener.unsubscribeKey, let token else { return refuse(page, .badRequest, "invalid") }
        let content: AnswerToken
        let now = Date()
        var pastItsTime = false
        switch AnswerToken.verify(token, key: key, now: now) {
        case .failure(.invalid): return refuse(page, .badRequest, "invalid")
        case .failure(.expired(let c)): content = c; pastItsTime = true
        case .success(let c): content = c
        }
        do {
            guard let facts = try await listener.database.run({ try await $0.inbound.answerPage(messageID: content.messageID) }),
                  facts.subjectType == content.subjectType, facts.subjectID == content.subjectID else {
                return refuse(page, .gone, pastItsTime ? "expired" : "gone")
            }
            // A link works until the subject's latest start: the appointment may have moved
            // later than the time the link carries.
            if pastItsTime, !(facts.startsAt.map { $0 > now } ?? false) { return refuse(page, .gone, "expired") }
            if let language = HTMLPage.supported(facts.locale) { page = AnswerPage(language: language) }
            let zone = facts.timeZone ?? listener.defaultTimeZone
            let appointment = AnswerPage.Appointment(place: facts.locationName,
                                                     when: AnswerPage.when(facts.startsAt, language: page.language, zone: zone))
            guard act else { return show(page, appointment, facts: facts, highlight: content.action) }
            let chosen = form.last(where: { $0.0 == "action" })?.1 ?? (content.action == .manage ? nil : content.action.rawValue)
            guard let action = chosen.flatMap(AnswerAction.init(rawValue:)), action != .manage else {
                listener.count("answer", "no_choice")
                return HTTPListener.respond(.badRequest, page.ask(appointment, highlight: nil, note: "choose"), type: HTMLPage.contentType)
            }
            let (result, _) = try await listener.database.run {
                try await $0.inbound.recordAnswer(messageID: content.messageID, action: action.rawValue, channel: "link", from: facts.recipient)
            }
            listener.count("answer", result.rawValue)
            if result == .recorded {
                listener.logger.notice("client answered by link", metadata: [
                    "message": "\(content.messageID)", "subject": "\(content.subjectType) \(content.subjectID)", "answer": "\(action.rawValue)",
                ])
            }
            return HTTPListener.respond(.ok, Self.outcome(page, appointment, result, action: action), type: HTMLPage.contentType)
        } catch {
            listener.logger.error("could not read or record a client's answer; answering 503", metadata: ["error": "\(error)"])
            listener.count("answer", "unavailable")
            return HTTPListener.respond(.serviceUnavailable, page.say("unavailable", alert: true), type: HTMLPage.contentType)
        }
    }

    /// What a `GET` shows: the buttons, unless the subject is settled for good.
    private func show(_ page: AnswerPage, _ a: AnswerPage.Appointment, facts: InboundStore.AnswerPageFacts, highlight: AnswerAction) -> Response {
        listener.count("answer", "page")
        let body: String
        if facts.cancelled {
            body = page.say("cancelled", a)
        } else if facts.lastAnswer == "decline" {
            body = page.say("already_declined", a)
        } else {
            body = page.ask(a, highlight: highlight.rawValue, note: facts.lastAnswer == "confirm" ? "already_confirmed" : nil)
        }
        return HTTPListener.respond(.ok, body, type: HTMLPage.contentType)
    }

    /// The page after a `POST`.
    static func outcome(_ page: AnswerPage, _ a: AnswerPage.Appointment, _ result: InboundStore.AnswerResult, action: AnswerAction) -> String {
        switch result {
        case .recorded: return page.say(action == .confirm ? "confirmed" : "declined", a)
        case .already: return page.say(action == .confirm ? "already_confirmed" : "already_declined", a)
        case .declinedBefore: return page.say("already_declined", a)
        case .cancelled: return page.say("cancelled", a)
        case .started: return page.say("started", a)
        case .unknown: return page.say("gone", alert: true)
        }
    }

    private func refuse(_ page: AnswerPage, _ status: HTTPResponse.Status, _ key: String) -> Response {
        listener.count("answer", key)
        return HTTPListener.respond(status, page.say(key, alert: true), type: HTMLPage.contentType)
    }
}
