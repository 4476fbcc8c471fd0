import HeraldCore
import HeraldDrivers
import HeraldSystemd
import Logging
import ServiceLifecycle

/// The delivery daemon, composed of small services that share a ``DaemonContext``:
///
/// | service | job |
/// |---|---|
/// | ``DatabaseLinks`` | the supervised `herald` and `herald-record` connections; closed last |
/// | ``LeaseService`` | renews held leases, takes over expired ones |
/// | ``OutcomeWriter`` | group-commits delivery outcomes |
/// | ``SendGate`` | the last look (opt-out, contact, lease) just before each driver call |
/// | ``NotificationListener`` | LISTEN on its own connection; wakes the claim loop |
/// | ``MaintenanceService`` | retention (`[retention] keep`) |
/// | ``FallbackService`` | WhatsApp messages with no delivered receipt in time: their SMS |
/// | ``InboundProcessor`` | client replies in `herald.inbound`: STOP, START, HELP, free text |
/// | ``EventExpander`` | the host's events in `herald.event`, into messages by `herald.rule` |
/// | ``ClaimService`` | startup, claiming, delivery slots, graceful drain |
///
/// ``services`` lists them in start order for one `ServiceGroup` (the CLI adds signal
/// handling); the group stops them in reverse order, so the claim loop drains first while
/// leases are still renewed and outcomes still written, and the connections close last.
/// A new service (an HTTP listener, an inbound processor) goes beside these.
public struct Worker: Sendable {
    public let context: DaemonContext
    public let links: DatabaseLinks
    public let leases: LeaseService
    public let writer: OutcomeWriter
    public let gate: SendGate
    public let listener: NotificationListener?
    public let maintenance: MaintenanceService?
    public let fallback: FallbackService?
    public let inbound: InboundProcessor
    public let events: EventExpander
    public let claimer: ClaimService

    /// Errors that end the daemon.
    public enum WorkerError: Error, CustomStringConvertible {
        case noChannels
        /// Another running daemon holds the advisory lock on this `worker.id`.
        case duplicateWorkerID(String)

        public var description: String {
            switch self {
            case .noChannels: return "no channel has a driver: configure at least one [channels.<name>] section"
            case .duplicateWorkerID(let id):
                return "another herald is running with worker.id \"\(id)\" on this database; give each daemon its own worker.id (or leave it unset: host name and process id)"
            }
        }
    }

    public init(databaseURL: String, settings: WorkerSettings, drivers: [Channel: any Driver],
                logger: Logger, notifier: SystemdNotifier = SystemdNotifier(), metrics: DaemonMetrics = DaemonMetrics()) {
        context = DaemonContext(settings: settings, logger: logger, notifier: notifier, metrics: metrics)
        links = DatabaseLinks(databaseURL: databaseURL, context: context)
        leases = LeaseService(context: context, links: links)
        writer = OutcomeWriter(context: context, links: links)
        gate = SendGate(context: context, links: links)
        listener = settings.listen ? NotificationListener(databaseURL: databaseURL, context: context) : nil
        maintenance = settings.retention == nil ? nil : MaintenanceService(context: context, links: links)
        if let after = settings.whatsappFallbackAfter {
            fallback = FallbackService(context: context, links: links, after: after)
        } else {
            fallback = nil
        }
        inbound = InboundProcessor(context: context, links: links)
        events = EventExpander(context: context, links: links)
        claimer = ClaimService(context: context, links: links, writer: writer, gate: gate, drivers: drivers)
    }

    /// The services in start order. The claim loop ending (`--exit-when-idle`, a stop
    /// request) shuts the group down gracefully.
    public var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        var list: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: links), .init(service: leases), .init(service: writer), .init(service: gate),
        ]
        if let listener { list.append(.init(service: listener)) }
        if let maintenance { list.append(.init(service: maintenance)) }
        if let fallback { list.append(.init(service: fallback)) }
        list.append(.init(service: inbound))
        list.append(.init(service: events))
        list.append(.init(service: claimer, successTerminationBehavior: .gracefullyShutdownGroup))
        return list
    }

    /// ``services`` with `extra` (the HTTP listener) placed before the claim loop: started
    /// once the database links are, stopped right after the claim loop has drained.
    public func services(adding extra: [any Service]) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var list = services
        list.insert(contentsOf: extra.map { .init(service: $0) }, at: list.count - 1)
        return list
    }

    /// Runs the services in their own group, without signal handling (tests, embedding);
    /// ``requestStop()`` stops it.
    public func run() async throws {
        let group = ServiceGroup(configuration: .init(
            services: services, logger: Logger(label: "herald.lifecycle", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await group.run()
    }

    /// Begins a graceful shutdown (what SIGTERM does). Safe from any context.
    public func requestStop() { context.requestStop() }
}
