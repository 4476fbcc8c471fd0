import Foundation
import HeraldCore

/// How one template of a catalog renders once the catalog is checked: by Herald's own
/// renderer (``FastTemplate``), or by swift-mustache and why.
public struct NativeCheck: Sendable, Hashable {
    /// What the check found.
    public enum Outcome: String, Sendable, CaseIterable {
        /// Herald's renderer gave the same result as swift-mustache on the template's sample data.
        case native
        /// Not compared on its own data: it has none (checked on `{}`, so most of it was
        /// never rendered by either), or its source or sample data is larger than the check
        /// renders at each load (``checkLimit``). Herald's renderer renders it.
        case unverified
        /// A part uses what Herald's renderer does not compile (partials left, delimiters,
        /// CR LF line ends, …): swift-mustache renders that part.
        case unsupported
        /// The two renderers disagreed on the sample data: swift-mustache renders the
        /// whole template, and the daemon logs a warning.
        case mismatch
    }

    /// `key (channel, locale)`.
    public var template: String
    public var outcome: Outcome
    /// For a mismatch, the two results.
    public var detail: String?

    public init(template: String, outcome: Outcome, detail: String? = nil) {
        self.template = template
        self.outcome = outcome
        self.detail = detail
    }

    /// Whether swift-mustache renders (some of) this template: what
    /// `herald_render_fallback_total{reason}` counts.
    public var fallsBack: Bool { outcome == .unsupported || outcome == .mismatch }
}

extension TemplateCatalog {
    /// Renders every template's sample data (`{}` when it has none) with swift-mustache and
    /// with Herald's own renderer, and leaves to swift-mustache every template on which they
    /// disagree: the reference decides what a client receives. Call it once, when the
    /// catalog is loaded, before any lookup.
    /// Sources and sample data larger than this (UTF-8 bytes) are not rendered by the check:
    /// it runs at every load, and a template row alone must not be able to make it slow.
    public static let checkLimit = 16 * 1024

    public mutating func checkNative(now: Date) -> [NativeCheck] {
        checkNative(now: now, differ: Self.difference)
    }

    /// ``checkNative(now:)`` with the comparison given (tests force a disagreement with it).
    mutating func checkNative(now: Date, differ: (Result<RenderedMessage, RenderError>, Result<RenderedMessage, RenderError>) -> String?) -> [NativeCheck] {
        var checks: [NativeCheck] = []
        let reference = Renderer(engine: .mustache), native = Renderer(engine: .fastOnly)
        for (id, template) in compiled.sorted(by: { $0.key < $1.key }) {
            let record = template.record
            let name = "\(record.key) (\(record.channel), \(record.locale))"
            guard template.compiledNatively, let channel = Channel(rawValue: record.channel) else {
                checks.append(NativeCheck(template: name, outcome: .unsupported))
                continue
            }
            let sizes = [record.sampleData, record.subject, record.body, record.html].map { $0?.utf8.count ?? 0 }
            guard sizes.allSatisfy({ $0 <= Self.checkLimit }) else {
                checks.append(NativeCheck(template: name, outcome: .unverified, detail: "larger than the check renders"))
                continue
            }
            let message = OutboxMessage(id: 0, channel: record.channel, recipient: "check", template: record.key, locale: record.locale,
                                        timeZone: "UTC", data: record.sampleData ?? "{}", attempt: 1, maxAttempts: nil,
                                        schedule: .init(sendAt: now))
            let context = RenderContext(timeZone: "UTC", now: now)
            let expected = reference.render(message, channel: channel, template: template, context: context)
            let actual = native.render(message, channel: channel, template: template, context: context)
            if let difference = differ(expected, actual) {
                var fallback = template
                fallback.subject?.fast = nil
                fallback.body.fast = nil
                fallback.html?.fast = nil
                compiled[id] = fallback
                checks.append(NativeCheck(template: name, outcome: .mismatch, detail: difference))
            } else {
                checks.append(NativeCheck(template: name, outcome: record.sampleData == nil ? .unverified : .native))
            }
        }
        answered = LookupMemo()
        return checks
    }

    /// Nil when both renderings are the same text or the same error; otherwise both, briefly.
    static func difference(_ expected: Result<RenderedMessage, RenderError>, _ actual: Result<RenderedMessage, RenderError>) -> String? {
        func text(_ r: Result<RenderedMessage, RenderError>) -> String {
            switch r {
            case .success(let m): return "renders " + String(describing: [m.subject ?? "", m.body, m.html ?? ""]).prefix(200)
            case .failure(let e): return "fails: " + e.description.prefix(200)
            }
        }
        switch (expected, actual) {
        case (.success(let a), .success(let b)) where a == b: return nil
        case (.failure(let a), .failure(let b)) where a.description == b.description: return nil
        default: return "swift-mustache \(text(expected)); Herald's renderer \(text(actual))"
        }
    }
}
