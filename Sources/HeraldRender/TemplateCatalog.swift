import HeraldCore
import Mustache

/// A compiled template: subject, text body and HTML body for one key, channel and locale.
public struct CompiledTemplate: Sendable {
    public var record: TemplateRecord
    var subject: MustacheTemplate?
    var body: MustacheTemplate
    var html: MustacheTemplate?
}

/// Every template of `herald.template`, compiled once, looked up with locale fallback.
///
/// A template that does not compile is kept with its error, so that only the
/// messages using it fail (with that error), not the whole catalog.
public struct TemplateCatalog: Sendable {
    private var compiled: [String: CompiledTemplate] = [:]
    private var broken: [String: String] = [:]
    /// The locale used when neither the message's locale nor its language has a template.
    public var defaultLocale: String

    public init(records: [TemplateRecord], defaultLocale: String) {
        self.defaultLocale = defaultLocale
        for record in records {
            let id = Self.id(record.key, record.channel, record.locale)
            do {
                compiled[id] = CompiledTemplate(
                    record: record,
                    subject: try record.subject.map { try MustacheTemplate(string: Self.textMode($0)) },
                    body: try MustacheTemplate(string: Self.textMode(record.body)),
                    html: try record.html.map { try MustacheTemplate(string: $0) })
            } catch {
                broken[id] = "template \(record.key) (\(record.channel), \(record.locale)) does not compile: \(error)"
            }
        }
    }

    /// Text bodies and subjects are not HTML: values are inserted as they are.
    static func textMode(_ source: String) -> String { "{{%CONTENT_TYPE: TEXT}}" + source }

    private static func id(_ key: String, _ channel: String, _ locale: String) -> String {
        "\(key)\u{1F}\(channel)\u{1F}\(locale.lowercased())"
    }

    /// The locales tried for a message, in order: exact, language, default, default's language.
    public func candidateLocales(for locale: String?) -> [String] {
        var out: [String] = []
        func add(_ l: String) {
            let normalized = l.replacingOccurrences(of: "_", with: "-")
            if !normalized.isEmpty && !out.contains(where: { $0.lowercased() == normalized.lowercased() }) { out.append(normalized) }
        }
        for l in [locale, defaultLocale].compactMap({ $0 }) {
            let normalized = l.replacingOccurrences(of: "_", with: "-")
            add(normalized)
            if let dash = normalized.firstIndex(of: "-") { add(String(normalized[..<dash])) }
        }
        return out
    }

    /// Finds the template for a key, channel and locale, or explains why there is none.
    public func lookup(key: String, channel: String, locale: String?) -> Result<CompiledTemplate, RenderError> {
        let tried = candidateLocales(for: locale)
        for candidate in tried {
            let id = Self.id(key, channel, candidate)
            if let reason = broken[id] { return .failure(.templateError(reason)) }
            if let template = compiled[id] { return .success(template) }
        }
        return .failure(.missingTemplate(key: key, channel: channel, triedLocales: tried))
    }

    /// Number of usable templates.
    public var count: Int { compiled.count }
}
