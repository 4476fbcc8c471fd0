import Foundation
import HeraldCore
import Mustache

/// Why a message could not be rendered. Every case is permanent: retrying the same row cannot help.
public enum RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingTemplate(key: String, channel: String, triedLocales: [String])
    case templateError(String)
    case badData(String)
    case missingVariables(template: String, locale: String, part: String, names: [String])

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
        }
    }
}

/// Renders a claimed message with its template, strictly: a variable the
/// template uses but the data lacks (or holds as null) is an error, never an
/// empty hole in a client's message. HTML bodies escape values; text does not.
public struct Renderer: Sendable {
    public init() {}

    /// Renders `message` for `channel` with the catalog's template.
    public func render(_ message: OutboxMessage, channel: Channel, catalog: TemplateCatalog) -> Result<RenderedMessage, RenderError> {
        let data: [String: Any]
        switch Self.decodeData(message.data) {
        case .success(let d): data = d
        case .failure(let e): return .failure(e)
        }
        let template: CompiledTemplate
        switch catalog.lookup(key: message.template, channel: channel.rawValue, locale: message.locale) {
        case .success(let t): template = t
        case .failure(let e): return .failure(e)
        }
        let name = template.record.key
        let locale = template.record.locale
        do {
            let subject = try template.subject.map { try Self.strict($0, data, name, locale, "subject", template.record.subject ?? "") }
            let body = try Self.strict(template.body, data, name, locale, "body", template.record.body)
            let html = try template.html.map { try Self.strict($0, data, name, locale, "html", template.record.html ?? "") }
            return .success(RenderedMessage(
                id: message.id, channel: channel, recipient: message.recipient, template: name, locale: locale,
                attempt: message.attempt, subject: subject?.trimmingCharacters(in: .whitespacesAndNewlines),
                body: body, html: html))
        } catch let error as RenderError {
            return .failure(error)
        } catch {
            return .failure(.templateError("\(error)"))
        }
    }

    /// `data` must be a JSON object; its nulls are treated as absent.
    static func decodeData(_ text: String) -> Result<[String: Any], RenderError> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            return .failure(.badData("data is not valid JSON"))
        }
        guard case .object(let object) = value else {
            return .failure(.badData("data must be a JSON object of template variables, got a JSON \(value.typeName)"))
        }
        return .success(object.compactMapValues(Self.bridge))
    }

    static func bridge(_ value: JSONValue) -> Any? {
        switch value {
        case .object(let o): return o.compactMapValues(bridge)
        case .array(let a): return a.compactMap(bridge)
        case .string(let s): return s
        case .integer(let i): return i
        case .number(let d): return d
        case .bool(let b): return b
        case .null: return nil
        }
    }

    private static func strict(_ template: MustacheTemplate, _ data: [String: Any], _ name: String, _ locale: String, _ part: String, _ source: String) throws -> String {
        let recorder = MissingRecorder()
        let root = RecordingParent(values: data, path: "", recorder: recorder)
        let text = template.render(root)
        let sections = Self.sectionNames(in: source)
        let missing = recorder.names.filter { !sections.contains($0) }
        if !missing.isEmpty {
            throw RenderError.missingVariables(template: name, locale: locale, part: part, names: missing)
        }
        return text
    }

    /// Names used as `{{#name}}` or `{{^name}}`: absent means "skip this part", not an error.
    static func sectionNames(in source: String) -> Set<String> {
        var names = Set<String>()
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { break }
            let tag = rest[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if let first = tag.first, first == "#" || first == "^" {
                names.insert(tag.dropFirst().trimmingCharacters(in: .whitespaces))
            }
            rest = rest[close.upperBound...]
        }
        return names
    }
}

/// Collects the names looked up at the top of the context stack and not found.
final class MissingRecorder: @unchecked Sendable {
    private(set) var names: [String] = []
    func record(_ name: String) { if !names.contains(name) { names.append(name) } }
}

/// The root of the data: a lookup that reaches it and fails is a missing variable
/// (inner contexts are searched first, so reaching the root means nowhere had it).
struct RecordingParent: MustacheParent {
    let values: [String: Any]
    let path: String
    let recorder: MissingRecorder

    func child(named name: String) -> Any? {
        if let value = values[name] { return value }
        if name != "." { recorder.record(path + name) }
        return nil
    }
}
