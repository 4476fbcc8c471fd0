/// An error reported by libpq or by the PostgreSQL server.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Kind: Sendable, Equatable {
        /// The connection could not be made, or was lost.
        case connection
        /// The server rejected a statement (see ``PostgresError/sqlState``).
        case statement
        /// A value could not be decoded into the Swift type asked for.
        case decoding
    }

    public var kind: Kind
    /// Five-character SQLSTATE code, when the server sent one (e.g. `23505`).
    public var sqlState: String?
    /// The primary message, without trailing newline.
    public var message: String
    /// The server's DETAIL field, if any.
    public var detail: String?
    /// The statement that failed, abbreviated, for context in logs.
    public var statement: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil, statement: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.statement = statement
    }

    /// True when retrying on a new connection may succeed: the connection broke,
    /// the server is shutting down or starting up, or it cannot accept connections.
    public var isConnectionLoss: Bool {
        if kind == .connection { return true }
        guard let state = sqlState else { return false }
        return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
    }

    /// True when the same statement may succeed if simply run again: connection loss,
    /// serialization failures and deadlocks (class 40), lack of resources (class 53),
    /// `statement_timeout` (57014) and lock timeouts (55P03). Any other statement error
    /// will fail the same way every time.
    public var isTransient: Bool {
        if isConnectionLoss { return true }
        guard let state = sqlState else { return false }
        return state.hasPrefix("40") || state.hasPrefix("53") || state == "57014" || state == "55P03"
    }

    public var description: String {
        var text = message
        if let sqlState { text = "\(text) (SQLSTATE \(sqlState))" }
        if let detail { text += "; \(detail)" }
        return text
    }
}
