import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPostgres

/// The Twilio driver's ``LineTypeCache`` in `herald.line_type`, on a connection of its own
/// (`herald-lookup`), connected when first asked and again after it was lost. Errors reach
/// the driver, which then looks the number up (reading) or sends anyway (recording).
public final class LineTypeBook: LineTypeCache {
    let link: SupervisedConnection

    public init(databaseURL: String) {
        link = SupervisedConnection(databaseURL: databaseURL, applicationName: "herald-lookup", statementTimeout: .seconds(5))
    }

    public func cachedLineType(of number: String, maxAge: Duration) async throws -> String? {
        try await run { try await $0.messages.cachedLineType(of: number, maxAgeSeconds: maxAge.components.seconds) }
    }

    public func recordLineType(of number: String, type: String, carrier: String?, messageID: Int64, maxAge: Duration) async throws {
        try await run {
            try await $0.messages.recordLineType(of: number, type: type, carrier: carrier, messageID: messageID,
                                                 maxAgeSeconds: maxAge.components.seconds)
        }
    }

    private func run<T: Sendable>(_ body: (Stores) async throws -> T) async throws -> T {
        if link.state != .up { try await link.connect() }
        do {
            return try await body(link.stores)
        } catch let error as PostgresError where error.isConnectionLoss {
            link.markDown()
            throw error
        }
    }

    /// Closes the connection (at shutdown).
    public func close() async { await link.close() }
}
