/// A template part compiled for Herald's own renderer: the same output and the same
/// lookups (``LookupTrace``) as swift-mustache, without its per-lookup dynamic casts,
/// name splitting and context copies, which were half of the daemon's rendering time.
///
/// It covers what Herald's templates use: text, `{{name}}`, `{{{name}}}`, `{{&name}}`,
/// `{{#name}}`/`{{^name}}` sections, comments, and the content-type pragma Herald itself
/// puts first. Anything else (transforms, partials, delimiters, blocks, line breaks other
/// than `\n`) is not compiled (``compile(_:)`` returns nil), and a render that meets a
/// value it does not know returns nil: swift-mustache renders that part instead. The
/// parser follows swift-mustache's own state machine (`Template+Parser.swift` of 2.1.1, the
/// version Package.swift pins exactly), including its standalone-line rules, so that
/// whitespace comes out identical. Three checks hold it to that: a property-based
/// differential test over random templates and data (`RendererDifferentialTests`), every
/// built-in rendered both ways (`FastTemplateTests`), and at each catalog load every stored
/// template's sample data rendered both ways (``TemplateCatalog/checkNative(now:)``): a
/// template on which they disagree is left to swift-mustache.
struct FastTemplate: Sendable {
    enum Escape: Sendable { case none, html, json }

    enum Token: Sendable {
        case text(String)
        case variable(Name, escaped: Bool)
        case section(Name, [Token], inverted: Bool)
    }

    /// A dotted name, split once.
    struct Name: Sendable {
        let parts: [String]
        /// `{{.}}`: the current object.
        var isDot: Bool { parts.isEmpty }
    }

    let tokens: [Token]
    let escape: Escape

    /// Longest source (UTF-8 bytes) compiled here; real templates are a few kilobytes.
    static let maximumSource = 256 * 1024

    /// Compiles `source` as swift-mustache would with the content type `contentType`
    /// (`TEXT`, `HTML`, `JSON`) put first as a pragma, or nil (HTML, no pragma).
    static func compile(_ source: String, contentType: String?) -> FastTemplate? {
        // The parser works on an array of Characters (16 bytes each): a template row of
        // megabytes is left to swift-mustache rather than held at sixteen times its size.
        guard source.utf8.count <= maximumSource else { return nil }
        let escape: Escape
        switch contentType {
        case nil, "HTML": escape = .html
        case "TEXT": escape = .none
        case "JSON": escape = .json
        default: return nil
        }
        var parser = Parser(Array(source))
        guard !parser.chars.contains(where: { $0.isNewline && $0 != "\n" }) else { return nil }
        // The pragma is a standalone-capable tag at the start: a line break right after it goes.
        let newLine = contentType == nil ? true : parser.lineFinished()
        guard let tokens = try? parse(&parser, section: nil, newLine: newLine) else { return nil }
        return FastTemplate(tokens: tokens, escape: escape)
    }

    struct Unsupported: Error {}

    struct Parser {
        let chars: [Character]
        var pos = 0

        init(_ chars: [Character]) { self.chars = chars }

        var atEnd: Bool { pos >= chars.count }
        var current: Character { atEnd ? "\0" : chars[pos] }

        mutating func read(while accept: (Character) -> Bool) -> String {
            let start = pos
            while !atEnd && accept(chars[pos]) { pos += 1 }
            return String(chars[start..<pos])
        }

        /// swift-mustache's `hasLineFinished`: at the end, or only spaces and tabs up to a
        /// line break (then consumed with it).
        mutating func lineFinished() -> Bool {
            if atEnd { return true }
            var probe = self
            _ = probe.read { $0 == " " || $0 == "\t" }
            guard probe.current.isNewline else { return false }
            probe.pos += 1
            pos = probe.pos
            return true
        }

        /// Text up to a line break (not consumed) or past the next `{{`.
        mutating func textUntilTag() throws(Unsupported) -> String {
            var text = ""
            while !atEnd {
                text += read { $0 != "\n" && $0 != "{" }
                if atEnd || current == "\n" { break }
                // At "{": swift-mustache fails to compile a lone "{" at the very end.
                guard pos + 1 < chars.count else { throw Unsupported() }
                if chars[pos + 1] == "{" {
                    pos += 2
                    break
                }
                text.append("{")
                pos += 1
            }
            return text
        }

        static let nameChars = Set<Character>("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?()*")

        /// A tag's name and its closing `}}`; names with transforms are not supported.
        mutating func name() throws(Unsupported) -> Name {
            _ = read(while: \.isWhitespace)
            let text = read { Self.nameChars.contains($0) }
            _ = read(while: \.isWhitespace)
            guard pos + 1 < chars.count, chars[pos] == "}", chars[pos + 1] == "}" else { throw Unsupported() }
            pos += 2
            guard !text.isEmpty, !text.contains("("), !text.contains(")") else { throw Unsupported() }
            if text == "." { return Name(parts: []) }
            guard text.first != "." else { throw Unsupported() }
            let parts = text.split(separator: ".", omittingEmptySubsequences: true).map(String.init)
            guard !parts.isEmpty else { throw Unsupported() }
            return Name(parts: parts)
        }
    }

    /// swift-mustache's `parse(_:state:)`, for the supported tags.
    private static func parse(_ p: inout Parser, section: [String]?, newLine start: Bool) throws(Unsupported) -> [Token] {
        var tokens: [Token] = []
        var newLine = start
        var whiteSpaceBefore = ""
        while !p.atEnd {
            if newLine { whiteSpaceBefore = p.read { $0 == " " || $0 == "\t" } }
            let text = try p.textUntilTag()
            if p.current == "\n" && !p.atEnd {
                tokens.append(.text(whiteSpaceBefore + text + "\n"))
                newLine = true
                p.pos += 1
                continue
            }
            if !text.isEmpty {
                tokens.append(.text(whiteSpaceBefore + text))
                whiteSpaceBefore = ""
                newLine = false
            }
            if p.atEnd { break }
            func flushWhiteSpace() {
                if !whiteSpaceBefore.isEmpty { tokens.append(.text(whiteSpaceBefore)) }
                whiteSpaceBefore = ""
            }
            var setNewLine = false
            switch p.current {
            case "#", "^":
                let inverted = p.current == "^"
                p.pos += 1
                let name = try p.name()
                if newLine && p.lineFinished() { setNewLine = true } else { flushWhiteSpace() }
                let inner = try parse(&p, section: name.parts, newLine: setNewLine)
                tokens.append(.section(name, inner, inverted: inverted))
            case "/":
                p.pos += 1
                let name = try p.name()
                guard let section, name.parts == section else { throw Unsupported() }
                if !(newLine && p.lineFinished()) { flushWhiteSpace() }
                return tokens
            case "!":
                p.pos += 1
                let comment = p.read { $0 != "}" }
                guard !comment.contains("\n"), p.pos + 1 < p.chars.count, p.chars[p.pos + 1] == "}" else { throw Unsupported() }
                p.pos += 2
                setNewLine = newLine && p.lineFinished()
            case "{":
                flushWhiteSpace()
                p.pos += 1
                let name = try p.name()
                guard p.current == "}" else { throw Unsupported() }
                p.pos += 1
                tokens.append(.variable(name, escaped: false))
            case "&":
                flushWhiteSpace()
                p.pos += 1
                tokens.append(.variable(try p.name(), escaped: false))
            case ">", "<", "$", "=", "%":
                throw Unsupported()
            default:
                flushWhiteSpace()
                tokens.append(.variable(try p.name(), escaped: true))
            }
            newLine = setNewLine
        }
        guard section == nil else { throw Unsupported() }
        return tokens
    }
}

extension FastTemplate {
    private struct Bail: Error {}

    /// Renders with `root` as the context, or nil when a value needs swift-mustache
    /// (the caller resets the trace and renders there).
    func render(_ root: ObjectNode) -> String? {
        var out = ""
        var stack: [Any] = [root]
        do {
            try render(tokens, stack: &stack, into: &out)
        } catch {
            return nil
        }
        return out
    }

    private func render(_ tokens: [Token], stack: inout [Any], into out: inout String) throws(Bail) {
        for token in tokens {
            switch token {
            case .text(let text):
                out += text
            case .variable(let name, let escaped):
                guard let value = try Self.lookup(name, stack) else { continue }
                let text: String
                switch value {
                case let v as ScalarValue: text = v.renderText
                case let v as TimestampValue: text = v.renderText
                case let v as String: text = v
                case let v as MoneyValue: text = v.renderText
                case let v as LazyText: text = v.renderText
                case let v as ObjectNode: text = v.renderText  // nothing, and the message fails
                case let v as BudgetedList: text = v.renderText
                default: throw Bail()
                }
                out += escaped ? escapeText(text) : text
            case .section(let name, let inner, let inverted):
                let value = try Self.lookup(name, stack)
                if inverted {
                    try renderInverted(value, inner, stack: &stack, into: &out)
                } else {
                    try renderSection(value, inner, stack: &stack, into: &out)
                }
            }
        }
    }

    /// swift-mustache's `renderSection`: a list renders once per item (each pushed), a
    /// null-like value (`false`, `""`) or nothing renders nothing, anything else renders
    /// once with the value pushed.
    private func renderSection(_ value: Any?, _ inner: [Token], stack: inout [Any], into out: inout String) throws(Bail) {
        guard let value else { return }
        if let list = value as? BudgetedList {
            var iterator = list.makeIterator()  // counts each step against the work budget
            guard var current = iterator.next() else { return }
            while let next = iterator.next() {
                try withPushed(current, stack: &stack) { (stack: inout [Any]) throws(Bail) in try render(inner, stack: &stack, into: &out) }
                current = next
            }
            try withPushed(current, stack: &stack) { (stack: inout [Any]) throws(Bail) in try render(inner, stack: &stack, into: &out) }
            return
        }
        guard let isNull = Self.isNull(value) else { throw Bail() }
        if isNull { return }
        try withPushed(value, stack: &stack) { (stack: inout [Any]) throws(Bail) in try render(inner, stack: &stack, into: &out) }
    }

    /// swift-mustache's `renderInvertedSection`: renders when the value is missing,
    /// null-like, or an empty list (then pushed).
    private func renderInverted(_ value: Any?, _ inner: [Token], stack: inout [Any], into out: inout String) throws(Bail) {
        guard let value else { return try render(inner, stack: &stack, into: &out) }
        if let list = value as? BudgetedList {
            var iterator = list.makeIterator()
            guard iterator.next() == nil else { return }
            return try withPushed(list, stack: &stack) { (stack: inout [Any]) throws(Bail) in try render(inner, stack: &stack, into: &out) }
        }
        guard let isNull = Self.isNull(value) else { throw Bail() }
        if isNull { try render(inner, stack: &stack, into: &out) }
    }

    private func withPushed(_ value: Any, stack: inout [Any], _ body: (inout [Any]) throws(Bail) -> Void) throws(Bail) {
        stack.append(value)
        defer { stack.removeLast() }
        try body(&stack)
    }

    /// Whether a value counts as null in a section; nil for a value this renderer does not know.
    private static func isNull(_ value: Any) -> Bool? {
        switch value {
        case let v as ScalarValue: return v.isNull
        case is ObjectNode, is TimestampValue, is MoneyValue, is LazyText, is String: return false
        default: return nil
        }
    }

    /// swift-mustache's `getChild` without transforms: the first name is searched from the
    /// innermost context outwards, the rest strictly inside what was found.
    private static func lookup(_ name: Name, _ stack: [Any]) throws(Bail) -> Any? {
        guard let first = name.parts.first else { return stack.last }
        var found: Any?
        for object in stack.reversed() {
            if let child = try child(first, of: object) {
                found = child
                break
            }
        }
        guard var value = found else { return nil }
        for part in name.parts.dropFirst() {
            guard let child = try child(part, of: value) else { return nil }
            value = child
        }
        return value
    }

    private static func child(_ name: String, of object: Any) throws(Bail) -> Any? {
        switch object {
        case let o as ObjectNode: return o.child(named: name)
        case let v as ScalarValue: return v.child(named: name)
        case let v as TimestampValue: return v.child(named: name)
        case is String: return nil  // reflected by swift-mustache: a String has no children (and records nothing)
        case let v as MoneyValue: return v.child(named: name)
        case let v as LazyText: return v.child(named: name)
        default: throw Bail()
        }
    }

    private func escapeText(_ text: String) -> String {
        switch escape {
        case .none: return text
        case .json: return JSONStringContentType.escape(text)
        case .html: return HTMLScalarContentType.escape(text)
        }
    }
}
