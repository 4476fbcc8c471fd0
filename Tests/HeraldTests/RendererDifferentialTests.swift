import Foundation
import HeraldCore
@testable import HeraldRender
import PropertyBased
import Testing

/// Issue 23: Herald's renderer (``FastTemplate``) against swift-mustache 2.1.1 (the version
/// it mirrors, pinned in Package.swift) with Herald's own escapers, on random templates over
/// the grammar Herald supports: text, variables (`{{x}}`, `{{{x}}}`, `{{&x}}`, dotted names,
/// `{{.}}`), sections over lists, objects and booleans, inverted sections, comments,
/// standalone lines, CR LF, nesting; with random data. Both must give the same text or the
/// same error. A template Herald's renderer does not compile (CR LF) goes to swift-mustache
/// (the `automatic` engine), so that is compared too.
@Suite struct RendererDifferentialTests {
    @Test func randomTemplatesRenderAlikeOrFailAlike() async {
        let natively = Counter()
        await propertyCheck(count: 2500, input: Gen.uint64()) { seed in
            var random = RandomTemplate(seed: seed)
            let source = random.template(depth: 0)
            let data = random.data()
            let context = FastTemplateTests.context(answers: random.bool())
            // The same source as an email (text body and HTML part) and inside a webhook's JSON string.
            let email = TemplateRecord(key: "t", channel: "email", locale: "es", subject: nil, body: source, html: source)
            let flat = source.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\"", with: "'")
            let webhook = TemplateRecord(key: "t", channel: "webhook", locale: "es", subject: nil, body: "{\"t\": \"\(flat)\"}", html: nil)
            for record in [email, webhook] {
                let reference = FastTemplateTests.outcome(.mustache, record, data: data, context: context)
                // What the daemon sends: Herald's renderer where it can, else swift-mustache.
                let automatic = FastTemplateTests.outcome(.automatic, record, data: data, context: context)
                #expect(automatic == reference, "seed \(seed)\n--- template\n\(record.body)\n--- data\n\(data)")
                // Herald's renderer alone, unless it hands the template (or this data) over.
                let native = FastTemplateTests.outcome(.fastOnly, record, data: data, context: context)
                if !native.hasSuffix("needs swift-mustache") {
                    natively.add()
                    #expect(native == reference, "seed \(seed)\n--- template\n\(record.body)\n--- data\n\(data)")
                }
            }
        }
        // Most generated cases are Herald's renderer's to render (not CR LF, not a multi-line
        // comment, no number as a section).
        #expect(natively.value > 3500, "only \(natively.value) of 5000 renders were native")
    }

    /// The catalog's own check renders each template's sample data both ways at load, and
    /// leaves to swift-mustache a template on which they disagree (here: none of the
    /// built-ins; `unsupported` for one that needs swift-mustache, `unverified` without
    /// sample data).
    @Test func theCatalogCheckFindsEveryBuiltinNativeAndNamesTheOthers() {
        var catalog = TemplateCatalog(records: BuiltinTemplates.records, partials: BuiltinTemplates.partials, defaultLocale: "en")
        let checks = catalog.checkNative(now: Date(timeIntervalSince1970: 1_778_569_200))
        #expect(checks.count == BuiltinTemplates.records.count)
        #expect(checks.filter { $0.outcome != .native }.isEmpty, "\(checks.filter { $0.outcome != .native })")

        var other = TemplateCatalog(records: [
            TemplateRecord(key: "crlf", channel: "sms", locale: "en", subject: nil, body: "Hi {{name}}\r\nBye", html: nil, sampleData: #"{"name":"A"}"#),
            TemplateRecord(key: "bare", channel: "sms", locale: "en", subject: nil, body: "Hi {{name}}", html: nil),
        ], defaultLocale: "en")
        let outcomes = Dictionary(uniqueKeysWithValues: other.checkNative(now: Date()).map { ($0.template, $0.outcome) })
        #expect(outcomes == ["crlf (sms, en)": .unsupported, "bare (sms, en)": .unverified])

        // A template row cannot make the check slow: past 16 kB of sample data (here a long
        // list under a large section), it is not rendered at load.
        let items = "[" + Array(repeating: "1", count: 20_000).joined(separator: ",") + "]"
        var large = TemplateCatalog(records: [
            TemplateRecord(key: "big", channel: "email", locale: "en", subject: "s", body: "{{#items}}" + String(repeating: "x", count: 8000) + "{{/items}}",
                           html: nil, sampleData: #"{"items":"# + items + "}"),
        ], defaultLocale: "en")
        #expect(large.checkNative(now: Date()) == [NativeCheck(template: "big (email, en)", outcome: .unverified, detail: "larger than the check renders")])
    }
}

/// A count shared by the checks of one property run.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// Random templates and data from a seed (SplitMix64): the same seed, the same case.
struct RandomTemplate {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func bool() -> Bool { below(2) == 0 }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    static let names = ["a", "b", "name", "obj.x", "obj.y", "obj", "list", "flag", "none", ".", "obj.deep.z"]
    static let texts = ["Hola ", " ", "x", "é", "<b>", "&", "'", "{", "}", "a}b", "\t", "😀", "\n", "\n", "  ", "-"]

    /// A sequence of nodes; sections nest up to three deep.
    mutating func template(depth: Int) -> String {
        let crlf = depth == 0 && below(12) == 0
        var out = ""
        for _ in 0..<(1 + below(6)) { out += node(depth: depth) }
        return crlf ? out.replacingOccurrences(of: "\n", with: "\r\n") : out
    }

    mutating func node(depth: Int) -> String {
        let name = pick(Self.names)
        switch below(depth < 3 ? 10 : 6) {
        case 0, 1: return pick(Self.texts)
        case 2: return "{{\(name)}}"
        case 3: return pick(["{{{\(name)}}}", "{{&\(name)}}", "{{ \(name) }}"])
        case 4: return below(20) == 0 ? "{{!\n multi }}" : "{{! note }}"
        case 5: return standalone("{{! alone }}")
        default:
            let section = pick(["list", "obj", "flag", "none", "a", "obj.deep"])
            let kind = bool() ? "#" : "^"
            let inner = template(depth: depth + 1)
            return bool() ? "{{\(kind)\(section)}}\(inner){{/\(section)}}"
                : standalone("{{\(kind)\(section)}}") + inner + standalone("{{/\(section)}}")
        }
    }

    /// A tag alone on its line, with indentation: the whole line goes.
    mutating func standalone(_ tag: String) -> String { "\n" + pick(["", " ", "  ", "\t"]) + tag + pick(["\n", " \n", ""]) }

    /// Data over the same names: strings with HTML and JSON specials, numbers, booleans,
    /// nulls, objects and lists of objects or strings; any of them may be absent.
    mutating func data() -> String {
        func value(_ r: inout RandomTemplate, _ depth: Int) -> Any {
            switch r.below(depth > 1 ? 5 : 8) {
            case 0: return r.pick(["Ana", "", "<i>\"x\" & 'y'</i>", "línea\nnueva", "\\u0041", "😀"])
            case 1: return r.below(1000) - 500
            case 2: return r.bool()
            case 3: return NSNull()
            case 4: return r.pick([1.5, 0.0, -2.25])
            case 5, 6: return ["x": value(&r, depth + 1), "y": r.pick(["Y", "<y>"]), "deep": ["z": value(&r, depth + 2)]]
            default: return (0..<r.below(4)).map { _ in r.bool() ? ["a": value(&r, depth + 2), "x": "item"] as Any : r.pick(["s1", "<s2>"]) as Any }
            }
        }
        var object: [String: Any] = [:]
        for key in ["a", "b", "name", "obj", "list", "flag", "none"] where below(5) != 0 {
            object[key] = value(&self, 0)
        }
        let json = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return json.flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}

/// What the catalog does when the two renderers disagree (none does on any template we
/// know, so the disagreement is forced): swift-mustache renders that template from then on.
@Suite struct CatalogFallbackTests {
    @Test func aTemplateTheRenderersDisagreeOnIsLeftToSwiftMustache() throws {
        let record = TemplateRecord(key: "t", channel: "sms", locale: "en", subject: nil, body: "Hi {{name}}", html: nil,
                                    sampleData: #"{"name":"Ana"}"#)
        var catalog = TemplateCatalog(records: [record], defaultLocale: "en")
        #expect(try catalog.lookup(key: "t", channel: "sms", locale: "en").get().compiledNatively)
        let checks = catalog.checkNative(now: Date(), differ: { _, _ in "forced" })
        #expect(checks == [NativeCheck(template: "t (sms, en)", outcome: .mismatch, detail: "forced")])
        #expect(try !catalog.lookup(key: "t", channel: "sms", locale: "en").get().compiledNatively, "Herald's renderer no longer renders it")
        // Still rendered, by swift-mustache.
        let message = OutboxMessage(id: 1, channel: "sms", recipient: "+34600000001", template: "t", locale: "en", timeZone: "UTC",
                                    data: #"{"name":"Ana"}"#, attempt: 1, maxAttempts: nil)
        let rendered = Renderer().render(message, channel: .sms, catalog: catalog, context: RenderContext(timeZone: "UTC", now: Date()))
        #expect(try rendered.get().body == "Hi Ana")
    }
}
