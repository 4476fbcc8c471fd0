import Foundation
import HeraldCore

/// Checks every stored template the way a message would use it: it compiles,
/// references only known partials, and renders against its sample data (no
/// missing variable, a webhook body that is JSON, an SMS within the segment limit).
public struct TemplateLint: Sendable {
    /// One problem, printed as one line.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var template: String
        public var reason: String
        public var description: String { "\(template): \(reason)" }
    }

    public let catalog: TemplateCatalog
    public let records: [TemplateRecord]
    public let context: RenderContext

    public init(records: [TemplateRecord], partials: [PartialRecord], defaultLocale: String, context: RenderContext) {
        self.records = records
        self.catalog = TemplateCatalog(records: records, partials: partials, defaultLocale: defaultLocale)
        self.context = context
    }

    /// An enabled rule's needs: its template on each of its channels, in each locale its
    /// messages can have (the contacts' locales and the default), found directly or by the
    /// fallback a message uses. One problem per rule, channel and missing set of locales.
    public func checkRules(_ rules: [(name: String, template: String, channels: [String])], locales: [String]) -> [Problem] {
        var problems: [Problem] = []
        for rule in rules {
            for channel in rule.channels {
                let missing = locales.filter {
                    if case .failure = catalog.lookup(key: rule.template, channel: channel, locale: $0) { return true }
                    return false
                }
                if !missing.isEmpty {
                    problems.append(Problem(template: "rule \(rule.name)",
                                            reason: "no template \(rule.template) for \(channel) in locale\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) (nor a fallback)"))
                }
            }
        }
        return problems
    }

    /// Names of sections opened inside a section of the same name
    /// (`{{#items}}…{{#items}}…{{/items}}…{{/items}}`), in order of appearance.
    public static func sectionsNestedOverThemselves(_ source: String) -> [String] {
        var open: [String] = []
        var found: [String] = []
        for tag in TemplateCatalog.tags(in: source) {
            switch tag.kind {
            case "#", "^":
                if tag.kind == "#", open.contains(tag.name), !found.contains(tag.name) { found.append(tag.name) }
                open.append(tag.name)
            case "/":
                if let at = open.lastIndex(of: tag.name) { open.removeSubrange(at...) }
            default:
                break
            }
        }
        return found
    }

    /// Every problem, in the order of the templates; empty when all is well.
    public func run() -> [Problem] {
        var problems: [Problem] = []
        let sorted = records.sorted { ($0.key, $0.channel, $0.locale) < ($1.key, $1.channel, $1.locale) }
        for record in sorted {
            let name = "\(record.key) \(record.channel) \(record.locale)"
            guard let channel = Channel(rawValue: record.channel) else {
                problems.append(Problem(template: name, reason: "unknown channel \"\(record.channel)\"; expected sms, email, webhook or whatsapp"))
                continue
            }
            switch catalog.lookup(key: record.key, channel: record.channel, locale: record.locale) {
            case .failure(let error):
                problems.append(Problem(template: name, reason: error.description))
                continue
            case .success:
                break
            }
            for (part, source) in [("subject", record.subject), ("body", record.body), ("html", record.html)] {
                let names = Self.sectionsNestedOverThemselves(source ?? "")
                if !names.isEmpty {
                    problems.append(Problem(template: name, reason: "warning: \(part) nests sections over the same list (\(names.joined(separator: ", "))): "
                        + "each item renders the whole list again, so the text grows with the square of its length"))
                }
            }
            guard let sample = record.sampleData else {
                problems.append(Problem(template: name, reason: "no sample_data to render against; set herald.template.sample_data to a JSON object of typical variables"))
                continue
            }
            let message = OutboxMessage(id: 0, channel: record.channel, recipient: "lint", template: record.key, locale: record.locale,
                                        timeZone: context.timeZone, data: sample, attempt: 1, maxAttempts: nil,
                                        schedule: .init(sendAt: context.now))
            switch Renderer().render(message, channel: channel, catalog: catalog, context: context) {
            case .success(let rendered):
                if channel == .sms, rendered.body.isEmpty {
                    problems.append(Problem(template: name, reason: "renders an empty SMS"))
                }
            case .failure(let error):
                problems.append(Problem(template: name, reason: error.description))
            }
        }
        return problems
    }
}
