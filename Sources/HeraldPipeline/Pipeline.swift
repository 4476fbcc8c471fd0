import Foundation
import HeraldCore
import HeraldInbound
import HeraldRender
import HeraldScheduling

/// One message through Herald's rules at one instant, with no I/O: the scheduling rules,
/// then rendering. The worker acts on its ``Decision``; `herald explain` prints it;
/// `herald templates preview` and `herald send-test` use its rendering step
/// (``render(_:at:)``). None of them repeats a step of it.
public struct Pipeline: Sendable {
    public let catalog: TemplateCatalog
    public let planner: SchedulePlanner
    /// `[render] sms_max_segments` (nil: no limit).
    public let smsMaxSegments: Int?
    /// Signs the answer links of messages with a subject (nil: the listener is off, and
    /// templates see only the links the host wrote).
    public let answers: Answers?
    private let renderer = Renderer()

    /// How clients answer reminders: the links' signer, and whether SMS replies answer.
    public struct Answers: Sendable {
        public var links: AnswerLinks
        /// Whether replies `1`/`2` answer (the listener receives Twilio's inbound SMS).
        public var byReply: Bool

        public init(links: AnswerLinks, byReply: Bool) {
            self.links = links
            self.byReply = byReply
        }
    }

    public init(catalog: TemplateCatalog, planner: SchedulePlanner, smsMaxSegments: Int?, answers: Answers? = nil) {
        self.catalog = catalog
        self.planner = planner
        self.smsMaxSegments = smsMaxSegments
        self.answers = answers
    }

    /// What becomes of a claimed message.
    public enum Decision: Sendable {
        /// Hand this to the driver now.
        case send(RenderedMessage, Explanation)
        /// Back to `pending` until then, uncounted, with the reasons.
        case deferred(until: Date, reasons: [String], Explanation)
        /// Too late: `expired`, with the reason.
        case expired(reason: String, Explanation)
        /// `failed` for good (unknown channel, bad schedule, bad template or data), with what
        /// was rendered when rendering got that far (an over-long SMS).
        case failed(PipelineFailure)
    }

    /// The decision for `message` at `now`.
    public func decide(_ message: OutboxMessage, at now: Date) -> Decision {
        switch explain(message, at: now) {
        case .failure(let failure):
            return .failed(failure)
        case .success((let channel, let explanation)):
            switch explanation.decision {
            case .deferred(let until, let reasons): return .deferred(until: until, reasons: reasons, explanation)
            case .expired(let reason): return .expired(reason: reason, explanation)
            case .send:
                switch render(message, channel: channel, timeZone: explanation.timeZone, at: now) {
                case .success(let rendered): return .send(rendered, explanation)
                case .failure(let failure): return .failed(failure)
                }
            }
        }
    }

    /// The rendering alone, in the zone the rules resolve, whatever the hour (preview,
    /// send-test). Returns the zone used.
    public func render(_ message: OutboxMessage, at now: Date) -> Result<(RenderedMessage, timeZone: String), PipelineFailure> {
        switch explain(message, at: now) {
        case .failure(let failure):
            return .failure(failure)
        case .success((let channel, let explanation)):
            return render(message, channel: channel, timeZone: explanation.timeZone, at: now).map { ($0, explanation.timeZone) }
        }
    }

    /// The channel and what the scheduling rules say.
    private func explain(_ message: OutboxMessage, at now: Date) -> Result<(Channel, Explanation), PipelineFailure> {
        guard let channel = Channel(rawValue: message.channel) else {
            return .failure(PipelineFailure("unknown channel \"\(message.channel)\"; expected sms, email or webhook"))
        }
        switch planner.evaluate(message, channel: channel, at: now) {
        case .failure(let error): return .failure(PipelineFailure(error.description))
        case .success(let explanation): return .success((channel, explanation))
        }
    }

    private func render(_ message: OutboxMessage, channel: Channel, timeZone: String, at now: Date) -> Result<RenderedMessage, PipelineFailure> {
        var context = planner.renderContext(for: message, timeZone: timeZone, now: now, smsMaxSegments: smsMaxSegments)
        if let answers, let subject = message.subject {
            // Signed only if the template prints them.
            let (links, id, eventAt) = (answers.links, message.id, message.schedule.eventAt)
            for (name, action) in AnswerLinks.variables {
                context.lazyDefaults[name] = { links.url(action, messageID: id, subjectType: subject.type, subjectID: subject.id, eventAt: eventAt, now: now) }
            }
            context.defaults["answer_by_reply"] = .bool(answers.byReply && channel == .sms)
        }
        return renderer.render(message, channel: channel, catalog: catalog, context: context)
            .mapError { PipelineFailure($0.description, rendered: $0.rendered) }
    }
}

/// Why a message cannot go out (permanent: retrying the same row cannot help), with what
/// was rendered when rendering got that far.
public struct PipelineFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var rendered: RenderedMessage?

    public init(_ reason: String, rendered: RenderedMessage? = nil) {
        self.reason = reason
        self.rendered = rendered
    }

    public var description: String { reason }
}
