import HeraldOutbox
import HeraldPostgres
import Synchronization

/// The listener's own database connections (`herald-http`), used round-robin. A request
/// never waits out an outage: a lost connection is reopened once (libpq's 10 s connect
/// timeout) and the statement run again; if that fails too the request gets 503, and the
/// provider retries or uses its fallback URL. Every statement the listener runs is
/// idempotent or harmless to repeat (inbound rows are unique per provider id).
final class ListenerDatabase: Sendable {
    private let connections: [PostgresConnection]
    private let next = Atomic<Int>(0)

    init(databaseURL: String, size: Int) {
        connections = (0..<max(1, size)).map { _ in
            PostgresConnection(connectionString: databaseURL, applicationName: "herald-http", statementTimeout: .seconds(10))
        }
    }

    /// Runs `operation` on the next connection, reconnecting it once if needed.
    func run<T: Sendable>(_ operation: @Sendable (OutboxStore) async throws -> T) async throws -> T {
        let index = next.add(1, ordering: .relaxed).oldValue
        let connection = connections[Int(index.magnitude % UInt(connections.count))]
        let store = OutboxStore(connection: connection, workerID: "herald-http")
        if !(await connection.isConnected) { try await connection.connect() }
        do {
            return try await operation(store)
        } catch let error as PostgresError where error.isConnectionLoss {
            try await connection.connect()
            return try await operation(store)
        }
    }

    func close() async {
        for connection in connections { await connection.close() }
    }
}
