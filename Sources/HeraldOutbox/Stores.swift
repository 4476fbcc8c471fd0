import HeraldCore
import HeraldPostgres

/// Herald's statements, by concern, over one connection: what the daemon's connections,
/// the listener and the CLI hand to the code that reads and writes.
public struct Stores: Sendable {
    public let connection: PostgresConnection
    /// The outbox's messages and leases.
    public let messages: MessageStore
    /// Templates, partials, locations, rules and the installation's secrets.
    public let catalog: CatalogStore
    /// Client replies, provider receipts, answers and unsubscribes.
    public let inbound: InboundStore
    /// The host's events, and re-planning after rule edits.
    public let events: EventStore
    /// The admin API's tokens, audit log, searches and bulk actions.
    public let admin: AdminStore

    /// `workerID` only for the daemon (see ``MessageStore/workerID``).
    public init(connection: PostgresConnection, workerID: String? = nil) {
        self.connection = connection
        messages = MessageStore(connection: connection, workerID: workerID)
        catalog = CatalogStore(connection: connection)
        inbound = InboundStore(connection: connection)
        events = EventStore(connection: connection)
        admin = AdminStore(connection: connection)
    }
}

/// Templates, partials, locations, rules (their listing and the shipped defaults) and what
/// the installation keeps once.
public struct CatalogStore: Sendable {
    public let connection: PostgresConnection
    public init(connection: PostgresConnection) { self.connection = connection }
}

/// Client replies (`herald.inbound`), provider receipts, client answers and unsubscribes.
public struct InboundStore: Sendable {
    public let connection: PostgresConnection
    public init(connection: PostgresConnection) { self.connection = connection }
}

/// The host's events (`herald.event`) expanded into messages by the rules, and re-planning
/// after a rule edit.
public struct EventStore: Sendable {
    public let connection: PostgresConnection
    public init(connection: PostgresConnection) { self.connection = connection }
}

/// Why a store refused a statement before sending it.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A claim or lease statement from a store made without a worker id.
    case noWorkerID

    public var description: String {
        switch self {
        case .noWorkerID: return "this statement claims or holds leases: only the daemon's store (with its worker.id) may run it"
        }
    }
}

extension PostgresConnection {
    /// Runs `body` in a transaction on this connection; rolls back when it throws. (Not on
    /// the connection's own thread: `body` awaits the connection for each statement.)
    public nonisolated func inTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await execute("BEGIN")
        do {
            let value = try await body()
            try await execute("COMMIT")
            return value
        } catch {
            _ = try? await execute("ROLLBACK")
            throw error
        }
    }
}
