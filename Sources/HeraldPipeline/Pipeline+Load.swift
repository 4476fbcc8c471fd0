import Foundation
import HeraldCore
import HeraldInbound
import HeraldRows
import HeraldRender
import HeraldScheduling

/// What a ``Pipeline`` is built from besides the database's rows: `[scheduling]`,
/// `[render] sms_max_segments`, the default locale, and the links Herald signs. The daemon
/// and every command make it from the configuration in one place
/// (`Configuration.pipelineSettings(linkKey:)`), so that a preview is what is sent.
public struct PipelineSettings: Sendable {
    public var scheduling: SchedulingPolicy
    /// An SMS rendering to more segments than this fails (nil: no limit).
    public var smsMaxSegments: Int?
    public var defaultLocale: String
    /// Nil when the listener is off.
    public var links: Pipeline.Links?
    /// Each email's own bounce address (VERP); nil without `[channels.email] bounce_address`.
    public var bounces: BounceAddresses?

    public init(scheduling: SchedulingPolicy = SchedulingPolicy(), smsMaxSegments: Int? = 3, defaultLocale: String = "en",
                links: Pipeline.Links? = nil, bounces: BounceAddresses? = nil) {
        self.scheduling = scheduling
        self.smsMaxSegments = smsMaxSegments
        self.defaultLocale = defaultLocale
        self.links = links
        self.bounces = bounces
    }
}

/// The rows a ``Pipeline`` is built from: templates, partials and locations.
public struct PipelineRows: Sendable {
    public var templates: [TemplateRecord]
    public var partials: [PartialRecord]
    public var locations: [LocationRecord]

    public init(templates: [TemplateRecord], partials: [PartialRecord] = [], locations: [LocationRecord] = []) {
        self.templates = templates
        self.partials = partials
        self.locations = locations
    }

    /// The same rows with `template` in place of the row of its key, channel and locale (a
    /// proposed edit, previewed before it is saved).
    public func replacing(_ template: TemplateRecord) -> PipelineRows {
        var rows = self
        rows.templates.removeAll { $0.key == template.key && $0.channel == template.channel && $0.locale == template.locale }
        rows.templates.append(template)
        return rows
    }
}

extension Pipeline {
    /// A pipeline and what its rows told about themselves, for the caller to log or print.
    public struct Loaded: Sendable {
        public var pipeline: Pipeline
        /// Templates that do not compile: their messages fail with this reason.
        public var templateProblems: [String]
        /// Location id → why its messages fail.
        public var invalidLocations: [String: String]
        /// How each template renders (``TemplateCatalog/checkNative(now:)``).
        public var renderChecks: [NativeCheck]
    }

    /// The one way to build a pipeline: the built-in reply templates are added where the
    /// rows lack them, every template is compiled and checked against swift-mustache, and
    /// the links come from `settings`.
    public static func load(_ rows: PipelineRows, settings: PipelineSettings, now: Date = Date()) -> Loaded {
        var catalog = TemplateCatalog(records: BuiltinTemplates.withReplies(rows.templates), partials: rows.partials,
                                      defaultLocale: settings.defaultLocale)
        let checks = catalog.checkNative(now: now)
        let planner = SchedulePlanner(policy: settings.scheduling, records: rows.locations)
        let pipeline = Pipeline(catalog: catalog, planner: planner, smsMaxSegments: settings.smsMaxSegments, links: settings.links,
                                bounces: settings.bounces)
        return Loaded(pipeline: pipeline, templateProblems: catalog.problems, invalidLocations: planner.invalidLocations, renderChecks: checks)
    }
}
