import Foundation
import HeraldCore
import HeraldInbound
import HeraldRender
import HeraldScheduling

/// One message through Herald's rules at one instant, with no I/O: the scheduling rules,
/// then rendering, links included (answer links, reply text, the email's unsubscribe link
/// and bounce address).
/// The worker acts on its ``Decision``; `herald explain` prints it; `herald templates
/// preview` and `herald send-test` use its rendering step (``render(_:at:)``). None of them
/// repeats a step of it, and all build it the same way: ``load(_:settings:)``.
public struct Pipeline: Sendable {
    public let catalog: TemplateCatalog
    public let planner: SchedulePlanner
    /// `[render] sms_max_segments` (nil: no limit).
    public let smsMaxSegments: Int?
    /// The links Herald signs (nil: the listener is off, and templates see only the links
    /// the host wrote; emails carry the SMTP channel's own `unsubscribe_url`, if any).
    public let links: Links?
    /// Each email's own envelope sender (VERP), when `bounce_address` is configured.
    public let bounces: BounceAddresses?
    let renderer: Renderer

    /// The links Herald signs into what it sends, all with the key of `[http]`.
    public struct Links: Sendable {
        /// Answer links (`confirm_url`, `cancel_url`, `manage_url`) of messages with a subject.
        public var answers: AnswerLinks
        /// Each email's one-click unsubscribe link (`List-Unsubscribe`, RFC 8058).
        public var unsubscribe: UnsubscribeLinks
        /// Whether replies `1`/`2` answer (the listener verifies Twilio's inbound SMS).
        public var byReply: Bool

        public init(answers: AnswerLinks, unsubscribe: UnsubscribeLinks, byReply: Bool) {
            self.answers = answers
            self.unsubscribe = unsubscribe
            self.byReply = byReply
        }
    }

    /// Prefer ``load(_:settings:)``, which every command and the daemon use; this is for
    /// tests of the pipeline alone.
    public init(catalog: TemplateCatalog, planner: SchedulePlanner, smsMaxSegments: Int?, links: Links? = nil, bounces: BounceAddresses? = nil,
                renderer: Renderer = Renderer()) {
        self.catalog = catalog
        self.planner = planner
        self.smsMaxSegments = smsMaxSegments
        self.links = links
        self.bounces = bounces
        self.renderer = renderer
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
                case .success(let rendered):
                    if let outside = WhatsAppContent.outsideWindow(rendered, windowUntil: message.whatsappWindowUntil, now: now) {
                        return .failed(PipelineFailure(outside, rendered: rendered))
                    }
                    return .send(rendered, explanation)
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
            return .failure(PipelineFailure("unknown channel \"\(message.channel)\"; expected sms, email, webhook or whatsapp"))
        }
        switch planner.evaluate(message, channel: channel, at: now) {
        case .failure(let error): return .failure(PipelineFailure(error.description))
        case .success(let explanation): return .success((channel, explanation))
        }
    }

    private func render(_ message: OutboxMessage, channel: Channel, timeZone: String, at now: Date) -> Result<RenderedMessage, PipelineFailure> {
        var context = planner.renderContext(for: message, timeZone: timeZone, now: now, smsMaxSegments: smsMaxSegments)
        if let links, let subject = message.subject {
            // Signed only if the template prints them.
            let (answers, id, eventAt) = (links.answers, message.id, message.schedule.eventAt)
            for (name, action) in AnswerLinks.variables {
                context.lazyDefaults[name] = { answers.url(action, messageID: id, subjectType: subject.type, subjectID: subject.id, eventAt: eventAt, now: now) }
            }
            context.defaults["answer_by_reply"] = .bool(links.byReply && channel.isPhone)
        }
        return renderer.render(message, channel: channel, catalog: catalog, context: context)
            .map { rendered in
                var rendered = rendered
                rendered.renderedAt = now
                if channel == .email, let links {
                    rendered.unsubscribeURL = links.unsubscribe.url(messageID: message.id, channel: .email, recipient: message.recipient)
                }
                if channel == .email, let bounces {
                    rendered.returnPath = bounces.address(messageID: message.id, recipient: message.recipient)
                }
                return rendered
            }
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
