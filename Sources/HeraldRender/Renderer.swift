import Foundation
import HeraldCore
import HeraldScheduling
import Mustache

/// Why a message could not be rendered. Every case is permanent: retrying the same row cannot help.
public enum RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingTemplate(key: String, channel: String, triedLocales: [String])
    case templateError(String)
    case badData(String)
    case missingVariables(template: String, locale: String, part: String, names: [String])
    /// A webhook body that is not a JSON document once rendered.
    case invalidJSON(template: String, locale: String)
    /// The SMS text takes more segments than `[render] sms_max_segments`; carries what was rendered.
    case smsTooLong(RenderedMessage, SMSSegments, maximum: Int)
    /// Rendering a part took more than the work budget (lookups and list items).
    case tooMuchWork(template: String, locale: String, part: String, budget: Int)
    /// A part prints an object or a list (`{{order.total}}`) where text belongs.
    case notText(template: String, locale: String, part: String, names: [String])
    /// A rendered part is longer than its channel allows.
    case tooLarge(template: String, locale: String, part: String, bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .missingTemplate(let key, let channel, let tried):
            return "no template \(key) for channel \(channel) in locales \(tried.joined(separator: ", "))"
        case .templateError(let reason):
            return reason
        case .badData(let reason):
            return reason
        case .missingVariables(let template, let locale, let part, let names):
            return "template \(template) (\(locale)) \(part) uses \(names.joined(separator: ", ")), missing from data"
        case .invalidJSON(let template, let locale):
            return "template \(template) (\(locale)) webhook body is not valid JSON once rendered"
        case .smsTooLong(let rendered, let segments, let maximum):
            return "template \(rendered.template) (\(rendered.locale)) renders an SMS of \(segments), over the maximum of \(maximum) ([render] sms_max_segments)"
        case .tooMuchWork(let template, let locale, let part, let budget):
            return "template \(template) (\(locale)) \(part) takes more than \(budget) lookups, list items and 16-byte pieces of printed text to render (sections nested over the same list, or a huge value printed many times?); rendering stopped"
        case .notText(let template, let locale, let part, let names):
            return "template \(template) (\(locale)) \(part) prints \(names.joined(separator: ", ")), an object or a list in the data, not text; print one of its fields instead"
        case .tooLarge(let template, let locale, let part, let bytes, let limit):
            return "template \(template) (\(locale)) \(part) renders to \(bytes) bytes, over the limit of \(limit) for this channel"
        }
    }

    /// What was rendered before the message was refused, if anything (stored for the DBA).
    public var rendered: RenderedMessage? {
        if case .smsTooLong(let r, _, _) = self { return r }
        return nil
    }
}

/// What rendering needs besides the message and its template.
public struct RenderContext: Sendable {
    /// The IANA zone times are shown in (the zone the scheduling rules resolved).
    public var timeZone: String
    /// The moment of rendering: the reference of relative phrases ("in 2 hours").
    public var now: Date
    /// The message's location (`herald.location`), offered to templates as `location`.
    public var location: LocationDetails?
    /// `[render] sms_max_segments`; nil for no limit.
    public var smsMaxSegments: Int?
    /// Values Herald offers where the data has none of that name (the answer links
    /// `confirm_url`, `cancel_url`, `manage_url`, and `answer_by_reply`): what the host
    /// wrote wins.
    public var defaults: [String: JSONValue]
    /// Text values Herald offers the same way, made only when a template uses them.
    public var lazyDefaults: [String: @Sendable () -> String] = [:]

    public init(timeZone: String, now: Date, location: LocationDetails? = nil, smsMaxSegments: Int? = nil, defaults: [String: JSONValue] = [:]) {
        self.timeZone = timeZone
        self.now = now
        self.location = location
        self.smsMaxSegments = smsMaxSegments
        self.defaults = defaults
    }
}

/// What templates can say about a place of business (`herald.location`).
public struct LocationDetails: Sendable, Equatable {
    public var id: String
    public var name: String
    public var address: String?
    public var phone: String?
    public var website: String?

    public init(id: String, name: String, address: String? = nil, phone: String? = nil, website: String? = nil) {
        self.id = id
        self.name = name
        self.address = address
        self.phone = phone
        self.website = website
    }

    var json: [String: JSONValue] {
        var o: [String: JSONValue] = ["id": .string(id), "name": .string(name)]
        if let address { o["address"] = .string(address) }
        if let phone { o["phone"] = .string(phone) }
        if let website { o["website"] = .string(website) }
        return o
    }
}

/// Renders a claimed message with its template, strictly: a variable the
/// template uses but the data lacks (or holds as null) is an error naming the
/// template, locale and variable, never an empty hole in a client's message.
/// HTML bodies escape values; text and SMS bodies do not.
///
/// Besides the message's `data`, templates see:
/// - `event_at`: the message's `event_at` column, unless the data has its own;
/// - `location`: the message's location (name, address, phone, website), with the
///   data's `location` object, if any, overriding field by field;
/// - the context's ``RenderContext/defaults`` (answer links), unless the data has its own;
/// - `herald`: `message_id`, `channel`, `recipient`, `template`, `locale`,
///   `time_zone`, `now`, and `data_json` (the data as a JSON document, for webhooks).
public struct Renderer: Sendable {
    /// Which renderer produces the text: Herald's own (``FastTemplate``) where a template
    /// allows it, else swift-mustache; swift-mustache alone; or Herald's own alone (tests
    /// check that both give the same text and the same errors).
    public enum Engine: Sendable {
        case automatic, mustache, fastOnly
    }

    let engine: Engine

    public init(engine: Engine = .automatic) { self.engine = engine }

    /// Renders `message` for `channel` with the catalog's template.
    public func render(_ message: OutboxMessage, channel: Channel, catalog: TemplateCatalog, context: RenderContext) -> Result<RenderedMessage, RenderError> {
        Self.data(of: message).flatMap { data in
            Self.template(for: message, channel: channel, catalog: catalog).flatMap { template in
                render(message, data: data, channel: channel, template: template, context: context)
            }
        }
    }

    /// The template of `message` on `channel`: WhatsApp without a template of its own uses
    /// the SMS text (free text, which WhatsApp takes only within the 24-hour window).
    static func template(for message: OutboxMessage, channel: Channel, catalog: TemplateCatalog) -> Result<CompiledTemplate, RenderError> {
        let own = catalog.lookup(key: message.template, channel: channel.rawValue, locale: message.locale)
        if channel == .whatsapp, case .failure(.missingTemplate) = own,
           case .success(let sms) = catalog.lookup(key: message.template, channel: Channel.sms.rawValue, locale: message.locale) {
            return .success(sms)
        }
        return own
    }

    /// Renders `message` with `template` itself (the catalog's check of its own templates).
    func render(_ message: OutboxMessage, channel: Channel, template: CompiledTemplate, context: RenderContext) -> Result<RenderedMessage, RenderError> {
        Self.data(of: message).flatMap { render(message, data: $0, channel: channel, template: template, context: context) }
    }

    /// The message's data: a JSON object, or why not.
    private static func data(of message: OutboxMessage) -> Result<[String: JSONValue], RenderError> {
        guard let parsed = try? JSONValue.parse(message.data) else {
            return .failure(.badData("data is not valid JSON"))
        }
        guard case .object(let data) = parsed else {
            return .failure(.badData("data must be a JSON object of template variables, got a JSON \(parsed.typeName)"))
        }
        return .success(data)
    }

    private func render(_ message: OutboxMessage, data: [String: JSONValue], channel: Channel, template: CompiledTemplate,
                        context: RenderContext) -> Result<RenderedMessage, RenderError> {
        var data = data
        guard let zone = Zone(context.timeZone) else {
            return .failure(.badData("unknown time zone \"\(context.timeZone)\""))
        }
        let name = template.record.key
        let locale = template.record.locale
        let formatter = Self.formatter(message: message.locale, template: locale, zone: zone)
        let trace = LookupTrace()
        let builder = ValueBuilder(formatter: formatter, zone: zone, now: context.now, trace: trace)

        if data["event_at"] == nil, let eventAt = message.schedule.eventAt {
            data["event_at"] = .string(ISO8601.string(eventAt))
        }
        for (name, value) in context.defaults where data[name] == nil { data[name] = value }
        if let location = context.location {
            var merged = location.json
            if case .object(let own)? = data["location"] { merged.merge(own) { _, new in new } }
            data["location"] = .object(merged)
        }
        data.removeValue(forKey: "herald")
        let dataNode = builder.node(data, path: "")
        // Built directly, with constant paths (no dictionary of JSON values, no path joined
        // per value): every message builds this.
        var herald: [String: Any] = [:]
        herald.reserveCapacity(8)
        for (key, value, path) in [("message_id", JSONValue.integer(message.id), "herald.message_id."),
                                   ("channel", .string(channel.rawValue), "herald.channel."),
                                   ("recipient", .string(message.recipient), "herald.recipient."),
                                   ("template", .string(name), "herald.template."), ("locale", .string(locale), "herald.locale."),
                                   ("time_zone", .string(zone.identifier), "herald.time_zone.")] {
            if let built = builder.build(value, path: path) { herald[key] = built }
        }
        herald["now"] = TimestampValue(date: context.now, hasTime: true, formatter: formatter, now: context.now, path: "herald.now.", trace: trace)
        herald["data_json"] = LazyText(path: "herald.data_json.", trace: trace) { Self.compactJSON(message.data) }
        var rootValues = dataNode.values
        for (name, make) in context.lazyDefaults where data[name] == nil {
            rootValues[name] = LazyText(path: name + ".", trace: trace, make)
        }
        rootValues["herald"] = ObjectNode(values: herald, path: "herald.", trace: trace)
        let root = ObjectNode(values: rootValues, path: "", trace: trace)

        let limit = Self.sizeLimit(channel)
        func strict(_ compiled: CompiledPart, _ part: String) throws -> String {
            trace.reset()
            var text: String
            if engine != .mustache, let fast = compiled.fast, let rendered = fast.render(root), !trace.exhausted {
                text = rendered
            } else if engine == .fastOnly {
                // Out of budget is the same answer as swift-mustache's, not a hand-over.
                if trace.exhausted { throw RenderError.tooMuchWork(template: name, locale: locale, part: part, budget: LookupTrace.budget) }
                throw RenderError.templateError("template \(name) (\(locale)) \(part) needs swift-mustache")
            } else {
                trace.reset()  // swift-mustache renders it, and traces it, from the start
                text = compiled.template.render(root)
            }
            if trace.exhausted {
                throw RenderError.tooMuchWork(template: name, locale: locale, part: part, budget: LookupTrace.budget)
            }
            let bytes = text.utf8.count
            let partLimit = part == "subject" ? Self.subjectLimit : limit
            if bytes > partLimit {
                throw RenderError.tooLarge(template: name, locale: locale, part: part, bytes: bytes, limit: partLimit)
            }
            let missing = trace.missing().filter { !compiled.sections.contains($0) }
            if !missing.isEmpty {
                throw RenderError.missingVariables(template: name, locale: locale, part: part, names: missing)
            }
            if !trace.nonText.isEmpty {
                throw RenderError.notText(template: name, locale: locale, part: part, names: trace.nonText)
            }
            return text
        }

        do {
            let subject = try template.subject.map { try strict($0, "subject") }
            var body = try strict(template.body, "body")
            let html = try template.html.map { try strict($0, "html") }
            var rendered = RenderedMessage(
                id: message.id, channel: channel, recipient: RecipientKey.deliveryAddress(message.recipient, channel: channel), template: name, locale: locale,
                attempt: message.attempt, subject: subject.map(Self.oneLine), body: body, html: html,
                templateVersion: template.record.version)
            rendered.sender = message.sender
            switch channel {
            case .sms:
                body = body.trimmingWhiteSpace
                rendered.body = body
                let segments = SMSSegments(body)
                rendered.segments = segments.count
                if let maximum = context.smsMaxSegments, segments.count > maximum {
                    return .failure(.smsTooLong(rendered, segments, maximum: maximum))
                }
            case .webhook:
                guard (try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])) != nil else {
                    return .failure(.invalidJSON(template: name, locale: locale))
                }
            case .email:
                break
            case .whatsapp:
                body = body.trimmingWhiteSpace
                rendered.body = body
                if template.record.channel == Channel.whatsapp.rawValue, let sid = template.record.contentSID {
                    rendered.contentSID = sid
                    rendered.contentVariables = try WhatsAppContent.variables(template.contentVariables.map { ($0.name, try strict($0.part, "content variable \($0.name)")) },
                                                                              template: name, locale: locale)
                } else if body.count > WhatsAppContent.maximumCharacters {
                    return .failure(.templateError("template \(name) (\(locale)) renders a WhatsApp text of \(body.count) characters, over WhatsApp's \(WhatsAppContent.maximumCharacters)"))
                }
            }
            return .success(rendered)
        } catch let error as RenderError {
            return .failure(error)
        } catch {
            return .failure(.templateError("\(error)"))
        }
    }

    /// The most bytes a rendered body (text or HTML) may have, by channel: 1 MB for
    /// email, 64 kB for a webhook document, 64 kB for an SMS before its segment limit.
    public static func sizeLimit(_ channel: Channel) -> Int {
        switch channel {
        case .email: return 1_000_000
        case .webhook, .sms, .whatsapp: return 64 * 1024
        }
    }

    /// The most bytes an email subject may have once rendered.
    public static let subjectLimit = 998

    /// Dates and amounts follow the message's own locale (`fr-CA`) when its template is in
    /// that language (`fr`); otherwise the template's, so that an English fallback text
    /// does not carry German dates.
    static func formattingLocale(message: String?, template: String) -> String {
        guard let message, !message.isEmpty else { return template }
        let language = { (tag: String) in tag.hyphenatedLocaleTag.prefix { $0 != "-" }.lowercased() }
        return language(message) == language(template) ? message : template
    }

    /// The formatter of a message locale, a template locale and a zone, built once and kept
    /// (bounded): building one for every message (two locale tags worked out, an ICU locale)
    /// was about 4% of the daemon's CPU in a drain.
    static func formatter(message: String?, template: String, zone: Zone) -> LocaleFormatter {
        let key = FormatterKey(message: message, template: template, zone: zone.identifier)
        if let kept = formatters.value(for: key) { return kept }
        let made = LocaleFormatter(locale: formattingLocale(message: message, template: template), timeZone: zone.timeZone)
        formatters.remember(made, for: key)
        return made
    }

    private struct FormatterKey: Hashable, Sendable {
        let message: String?
        let template: String
        let zone: String
    }

    private static let formatters = BoundedMemo<FormatterKey, LocaleFormatter>(capacity: 1_024)  // locales come from host rows

    /// How many formatters are kept (tests).
    static var formatterCount: Int { formatters.count }

    /// A subject is one line: line breaks and runs of spaces collapse to one space.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    static func compactJSON(_ text: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]),
              let compact = String(data: data, encoding: .utf8) else { return text }
        return compact
    }
}
