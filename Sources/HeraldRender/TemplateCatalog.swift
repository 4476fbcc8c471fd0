import Foundation
import HeraldCore
import Mustache

/// A compiled template: subject, text body and HTML body for one key, channel and locale.
public struct CompiledTemplate: Sendable {
    public var record: TemplateRecord
    /// Sources after partials were expanded (what was compiled).
    public var expanded: TemplateRecord
    var subject: CompiledPart?
    var body: CompiledPart
    var html: CompiledPart?
    /// WhatsApp: the Content template's variables by name ("1", "2", …), in name order.
    var contentVariables: [(name: String, part: CompiledPart)] = []

    /// Every part compiled for Herald's own renderer (none needs swift-mustache's).
    public var compiledNatively: Bool {
        body.fast != nil && subject.map { $0.fast != nil } != false && html.map { $0.fast != nil } != false
    }
}

/// One part of a template, compiled, with the names it uses as `{{#name}}` or
/// `{{^name}}` sections: absent means "skip this part", not a missing variable.
struct CompiledPart: Sendable {
    let template: MustacheTemplate
    /// The same part for Herald's own renderer, when it uses only what that supports (and,
    /// once the catalog is checked, renders its template's sample data as swift-mustache does).
    var fast: FastTemplate?
    let sections: Set<String>

    init(_ source: String, contentType: String?) throws {
        template = try MustacheTemplate(string: contentType.map { TemplateCatalog.mode($0, source) } ?? source)
        fast = FastTemplate.compile(source, contentType: contentType)
        sections = Set(TemplateCatalog.tags(in: source).filter { $0.kind == "#" || $0.kind == "^" }.map(\.name))
    }
}

/// Every template of `herald.template`, with the partials of
/// `herald.template_partial` expanded, compiled once, looked up with locale fallback.
///
/// A template that does not compile (or uses an unknown partial) is kept with its
/// error, so that only the messages using it fail (with that error), not the
/// whole catalog.
///
/// Content types: subjects, email text and SMS bodies are text (values inserted
/// as they are); email HTML escapes values; a webhook body is a JSON document whose
/// values are escaped for a JSON string.
public struct TemplateCatalog: Sendable {
    var compiled: [String: CompiledTemplate] = [:]
    private var broken: [String: String] = [:]
    private var partials: [String: String] = [:]
    /// The locale used when neither the message's locale nor its language has a template.
    public let defaultLocale: String
    /// Answers of ``lookup(key:channel:locale:)`` already given (a drain asks the same few
    /// questions thousands of times); shared by copies of this catalog, which never changes.
    var answered = LookupMemo()

    public init(records: [TemplateRecord], partials: [PartialRecord] = [], defaultLocale: String) {
        JSONStringContentType.registerOnce()
        HTMLScalarContentType.registerOnce()
        self.defaultLocale = defaultLocale
        for p in partials { self.partials[Self.partialID(p.name, p.locale)] = p.body }
        for record in records {
            let id = Self.id(record.key, record.channel, record.locale)
            let where_ = "template \(record.key) (\(record.channel), \(record.locale))"
            do {
                var expanded = record
                expanded.subject = try record.subject.map { try expandPartials($0, locale: record.locale) }
                expanded.body = try expandPartials(record.body, locale: record.locale)
                expanded.html = try record.html.map { try expandPartials($0, locale: record.locale) }
                let bodyMode = record.channel == "webhook" ? "JSON" : "TEXT"
                var template = CompiledTemplate(
                    record: record, expanded: expanded,
                    subject: try expanded.subject.map { try CompiledPart($0, contentType: "TEXT") },
                    body: try CompiledPart(expanded.body, contentType: bodyMode),
                    html: try expanded.html.map { try CompiledPart($0, contentType: "HTML") })
                if let variables = record.contentVariables {
                    template.contentVariables = try Self.contentVariables(variables).map { name, source in
                        (name, try CompiledPart(try expandPartials(source, locale: record.locale), contentType: "TEXT"))
                    }
                }
                compiled[id] = template
            } catch let error as PartialError {
                broken[id] = "\(where_) \(error.reason)"
            } catch {
                broken[id] = "\(where_) does not compile: \(error)"
            }
        }
    }

    /// A template's `content_variables`: a JSON object of up to 100 text values, ordered by
    /// name (numerically when the names are numbers, as Twilio's are).
    static func contentVariables(_ json: String) throws -> [(String, String)] {
        guard case .object(let object)? = try? JSONValue.parse(json), object.count <= 100 else {
            throw PartialError(reason: "content_variables must be a JSON object of at most 100 text values")
        }
        var out: [(String, String)] = []
        for (name, value) in object {
            guard case .string(let source) = value, !name.isEmpty, name.utf8.count <= 64 else {
                throw PartialError(reason: "content_variables: \(SafeText.clean(name, limit: 64)) must name a text value")
            }
            out.append((name, source))
        }
        return out.sorted { a, b in
            switch (Int(a.0), Int(b.0)) {
            case let (x?, y?): return x < y
            default: return a.0 < b.0
            }
        }
    }

    static func mode(_ contentType: String, _ source: String) -> String { "{{%CONTENT_TYPE: \(contentType)}}" + source }

    private static func id(_ key: String, _ channel: String, _ locale: String) -> String {
        "\(key)\u{1F}\(channel)\u{1F}\(locale.lowercased())"
    }

    private static func partialID(_ name: String, _ locale: String) -> String { "\(name)\u{1F}\(locale.lowercased())" }

    struct PartialError: Error { let reason: String }

    /// Replaces every `{{> name}}` with the partial's source in `locale` (with fallback), recursively.
    func expandPartials(_ source: String, locale: String, chain: [String] = []) throws -> String {
        let tags = Self.tags(in: source).filter { $0.kind == ">" }
        if tags.isEmpty { return source }
        var out = ""
        var rest = source[...]
        for tag in tags {
            out += rest[rest.startIndex..<tag.range.lowerBound]
            rest = rest[tag.range.upperBound...]
            if chain.contains(tag.name) {
                throw PartialError(reason: "includes partial \"\(tag.name)\" inside itself (\((chain + [tag.name]).joined(separator: " > ")))")
            }
            guard let body = candidateLocales(for: locale).lazy.compactMap({ self.partials[Self.partialID(tag.name, $0)] }).first else {
                throw PartialError(reason: "uses unknown partial \"\(tag.name)\" (herald.template_partial has none for \(candidateLocales(for: locale).joined(separator: ", ")))")
            }
            out += try expandPartials(body, locale: locale, chain: chain + [tag.name])
        }
        out += rest
        return out
    }

    /// A `{{...}}` tag: its kind (`#`, `^`, `/`, `>`, `!`, or empty for a variable) and its name.
    struct Tag {
        var kind: String
        var name: String
        var range: Range<String.Index>
    }

    /// The tags of a template source (standard `{{ }}` delimiters).
    static func tags(in source: String) -> [Tag] {
        var out: [Tag] = []
        var index = source.startIndex
        while let open = source.range(of: "{{", range: index..<source.endIndex) {
            let triple = source[open.upperBound...].hasPrefix("{")
            let closer = triple ? "}}}" : "}}"
            guard let close = source.range(of: closer, range: open.upperBound..<source.endIndex) else { break }
            var inner = source[open.upperBound..<close.lowerBound]
            if triple { inner = inner.dropFirst() }
            let trimmed = inner.trimmingCharacters(in: .whitespaces)
            var kind = ""
            var name = trimmed
            if let first = trimmed.first, "#^/>!&<$".contains(first) {
                kind = String(first)
                name = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
            }
            out.append(Tag(kind: kind, name: name, range: open.lowerBound..<close.upperBound))
            index = close.upperBound
        }
        return out
    }

    /// The locales tried for a message, in order: exact, language, default, default's language.
    public func candidateLocales(for locale: String?) -> [String] {
        var out: [String] = []
        func sameIgnoringCase(_ a: String, _ b: String) -> Bool {
            a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { x, y in x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 97 && (x | 0x20) <= 122) }
        }
        func add(_ l: String) {
            if !l.isEmpty && !out.contains(where: { sameIgnoringCase($0, l) }) { out.append(l) }
        }
        for l in [locale, defaultLocale].compactMap({ $0 }) {
            let normalized = l.hyphenatedLocaleTag
            add(normalized)
            if let dash = normalized.firstIndex(of: "-") { add(String(normalized[..<dash])) }
        }
        return out
    }

    /// Finds the template for a key, channel and locale, or explains why there is none.
    public func lookup(key: String, channel: String, locale: String?) -> Result<CompiledTemplate, RenderError> {
        let question = LookupMemo.Question(key: key, channel: channel, locale: locale)
        if let known = answered.answer(question) { return known }
        let result = resolve(key: key, channel: channel, locale: locale)
        answered.remember(question, result)
        return result
    }

    private func resolve(key: String, channel: String, locale: String?) -> Result<CompiledTemplate, RenderError> {
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

    /// Every template that does not compile, with its reason.
    public var problems: [String] { broken.keys.sorted().compactMap { broken[$0] } }

    /// Every usable template, ordered by key, channel, locale.
    public var templates: [CompiledTemplate] {
        compiled.values.sorted { ($0.record.key, $0.record.channel, $0.record.locale) < ($1.record.key, $1.record.channel, $1.record.locale) }
    }
}

extension JSONValue {
    /// `text` as a JSON string literal (RFC 8259), escaped as webhook templates escape values:
    /// quotes, backslashes, control characters, U+2028 and U+2029.
    public static func literal(_ text: String) -> String { "\"" + JSONStringContentType.escape(text) + "\"" }
}

/// Values inserted into a webhook's JSON document are escaped for a JSON string.
struct JSONStringContentType: MustacheContentType {
    func escapeText(_ text: String) -> String { Self.escape(text) }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static let registered: Bool = {
        MustacheContentTypes.register(JSONStringContentType(), named: "JSON")
        return true
    }()

    static func registerOnce() { _ = registered }
}

/// Values inserted into HTML are escaped by Unicode scalar, not by Character as
/// swift-mustache's own `HTML` type does: a `"` followed by a combining mark (U+0301) is
/// one Character, which a Character-wise escaper leaves as it is, so that data could add an
/// attribute (`onmouseover=…`) to `<a href="{{website}}">`. Registered under the name
/// `HTML`, replacing swift-mustache's, and named by the pragma every HTML part starts with.
struct HTMLScalarContentType: MustacheContentType {
    func escapeText(_ text: String) -> String { Self.escape(text) }

    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x3C || $0 == 0x3E || $0 == 0x26 || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static let registered: Bool = {
        MustacheContentTypes.register(HTMLScalarContentType(), named: "HTML")
        return true
    }()

    static func registerOnce() { _ = registered }
}

/// Template lookups already answered, bounded (hosts' locales are few; a flood of
/// distinct ones only empties it now and then).
final class LookupMemo: Sendable {
    struct Question: Hashable, Sendable {
        let key: String
        let channel: String
        let locale: String?
    }

    static let capacity = 1024
    private let answers = BoundedMemo<Question, Result<CompiledTemplate, RenderError>>(capacity: capacity)

    func answer(_ question: Question) -> Result<CompiledTemplate, RenderError>? { answers.value(for: question) }

    func remember(_ question: Question, _ result: Result<CompiledTemplate, RenderError>) { answers.remember(result, for: question) }
}
