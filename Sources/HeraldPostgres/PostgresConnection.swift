import CLibPQ
import Foundation
import HeraldCore
import HeraldExecutors
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A notification received on a channel the connection listens to.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    public var processID: Int32
}

/// One libpq connection, owned by one dedicated thread.
///
/// Every method runs on the connection's own ``ThreadExecutor``, never on the
/// cooperative pool; no method awaits inside, so calls are not re-entrant and
/// the `PGconn` is never touched by two threads. Parameterised statements are
/// prepared once per connection and reused.
public actor PostgresConnection {
    private let executor: ThreadExecutor
    nonisolated public var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let connectionString: String
    private let applicationName: String
    private let statementTimeout: Duration?
    private let settings: [String: String]
    /// How long a new session's own statements (`SET`, `LISTEN`) may wait for an answer.
    private let setupTimeout: Duration
    /// The socket of the open connection (-1: none), for ``abort()`` from any thread.
    private let socket = Atomic<Int32>(-1)
    // Touched only on the executor thread, and in deinit (when no call can be running).
    nonisolated(unsafe) private var handle: OpaquePointer?
    private var prepared: [String: String] = [:]
    /// The number of the last statement prepared: names are never reused, so a statement forgotten (``forget(_:)``) cannot collide with a new one.
    private var preparedCount = 0
    /// Statements forgotten (``forget(_:)``) and not yet dropped on the server.
    private var forgotten: [String] = []
    private var listening: Set<String> = []
    /// A pipe whose write end wakes a blocked ``waitForNotifications(timeout:)``.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// Creates an unconnected connection. `connectionString` is a URI or a
    /// conninfo string as psql accepts it; empty means libpq's defaults (`PG*`
    /// variables, `.pgpass`, service files). `statementTimeout` and `settings` (run-time
    /// parameters by name, e.g. `enable_seqscan = off`; names and values of letters,
    /// digits and underscores, others ignored) are set on every session it opens.
    /// `setupTimeout` bounds the wait for the answers to those statements, on the client:
    /// a server that completes the handshake and then goes silent fails the connect instead
    /// of holding it (and the reconnect loop behind it) forever.
    public init(connectionString: String, applicationName: String = "herald", statementTimeout: Duration? = nil,
                settings: [String: String] = [:], setupTimeout: Duration = .seconds(10)) {
        self.connectionString = connectionString
        self.setupTimeout = setupTimeout
        self.applicationName = applicationName
        self.statementTimeout = statementTimeout
        self.settings = settings.filter { Self.isPlainWord($0.key) && Self.isPlainWord($0.value) }
        self.executor = ThreadExecutor(name: "herald-pg")
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        }
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
    }

    deinit {
        if let handle { PQfinish(handle) }
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
        executor.shutdown()
    }

    /// Opens (or reopens) the connection. Channels listened to before are listened to again.
    public func connect() throws {
        close()
        // Defaults first: values expanded from the connection string (dbname) override them.
        // Keepalives and tcp_user_timeout bound how long a silent network can hold a statement.
        var keywords = ["connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", "fallback_application_name"]
        var values = ["10", "1", "30", "10", "3", "60000", applicationName]
        if !connectionString.isEmpty {
            keywords.append("dbname")
            values.append(connectionString)
        }
        let conn = withCStringArray(keywords) { kw in
            withCStringArray(values) { vals in PQconnectdbParams(kw, vals, 1) }
        }
        guard let conn else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        if PQstatus(conn) != CONNECTION_OK {
            let message = ConnectionString.redact(Self.trimmed(PQerrorMessage(conn)), secretsOf: connectionString)
            PQfinish(conn)
            throw PostgresError(kind: .connection, message: message.isEmpty ? "connection failed" : message)
        }
        handle = conn
        socket.store(PQsocket(conn), ordering: .sequentiallyConsistent)
        do {
            // Before any other statement: a session without its settings (no statement
            // timeout) is closed rather than used.
            if let statementTimeout {
                try executeSetup("SET statement_timeout = \(max(0, statementTimeout.wholeMilliseconds))")
            }
            for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
                try executeSetup("SET \(name) = \(value)")
            }
            for channel in listening.sorted() {
                try executeSetup("LISTEN \(Self.quoteIdentifier(channel))")
            }
        } catch {
            close()
            throw error
        }
    }

    /// Runs one statement of a new session's setup, waiting at most `setupTimeout` for its
    /// answer (libpq's own wait has no bound: `connect_timeout` ends with the handshake, and
    /// keepalives are answered by a hung server's kernel).
    private func executeSetup(_ sql: String) throws {
        let conn = try requireHandle()
        func lost(_ what: String) -> PostgresError {
            PostgresError(kind: .connection, message: what, statement: String(sql.prefix(80)))
        }
        guard PQsendQuery(conn, sql) == 1 else { throw lost(Self.trimmed(PQerrorMessage(conn))) }
        let deadline = ContinuousClock.now + setupTimeout
        var failure: (any Error)?
        while true {
            // Every result, and the end of them, within the deadline: PQgetResult blocks
            // while libpq is busy (the end of the results arrives after the first one).
            while PQisBusy(conn) == 1 {
                let left = deadline - ContinuousClock.now
                guard left > .zero else {
                    throw lost("no answer from the server within \(setupTimeout.wholeMilliseconds) ms of a new session's setup")
                }
                var fd = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
                if poll(&fd, 1, Int32(clamping: max(1, left.wholeMilliseconds))) < 0 && errno != EINTR {
                    throw lost("poll failed: \(String(cString: strerror(errno)))")
                }
                if PQconsumeInput(conn) == 0 { throw lost(Self.trimmed(PQerrorMessage(conn))) }
            }
            guard let result = PQgetResult(conn) else { break }
            defer { PQclear(result) }
            if failure == nil {
                do { try check(result, conn: conn, sql: sql) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// Letters, digits and underscores only: safe to write into a SET statement as is.
    static func isPlainWord(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// True when a connection is open and libpq considers it healthy.
    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Closes the connection.
    public func close() {
        socket.store(-1, ordering: .sequentiallyConsistent)
        if let handle { PQfinish(handle) }
        handle = nil
        prepared = [:]
        forgotten = []
    }

    /// Drops the prepared statement of `sql` on this session, if any: its next run prepares
    /// it again, and the server plans it afresh from the table's present size and statistics.
    /// A plan cached when a table was nearly empty can stay slow after a bulk load until the
    /// next analyse; preparing again recovers at once. Returns whether one was prepared; a
    /// failure to drop it on the server leaves it there unused, under a name never reused.
    /// The server's copy is dropped at the start of this connection's next statement (one
    /// `DEALLOCATE`), not now: the caller may hold rows it just claimed.
    @discardableResult
    public func forget(_ sql: String) -> Bool {
        guard let name = prepared.removeValue(forKey: sql) else { return false }
        forgotten.append(name)
        return true
    }

    /// Shuts the connection's socket down from any thread: a statement blocked on a
    /// silent network fails at once (as a lost connection). For shutdown past its grace
    /// period; the connection must be reopened to be used again.
    nonisolated public func abort() {
        let fd = socket.load(ordering: .sequentiallyConsistent)
        if fd >= 0 { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Runs one parameterised statement (prepared on first use on this connection).
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> PostgresResult {
        try timedQuery(sql, parameters).result
    }

    /// ``query(_:_:)``, with how long the server took to run it (from sending it to its whole
    /// result: not the time spent waiting for this connection, nor preparing or decoding).
    public func timedQuery(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> (result: PostgresResult, took: Duration) {
        let conn = try requireHandle()
        if !forgotten.isEmpty {
            for name in forgotten { PQclear(PQexec(conn, "DEALLOCATE \(name)")) }
            forgotten = []
        }
        let name: String
        if let existing = prepared[sql] {
            name = existing
        } else {
            preparedCount += 1
            name = "herald_\(preparedCount)"
            let result = PQprepare(conn, name, sql, Int32(parameters.count), nil)
            defer { PQclear(result) }
            try check(result, conn: conn, sql: sql)
            prepared[sql] = name
        }
        // A C string ends at its first NUL: a NUL inside a value would cut it short (and
        // break an array literal on every retry), so none is ever sent.
        let texts = parameters.map { $0?.postgresText }
        let started = ContinuousClock.now
        let result = withParameterArray(texts) { values in
            PQexecPrepared(conn, name, Int32(texts.count), values, nil, nil, 0)
        }
        let took = ContinuousClock.now - started
        defer { PQclear(result) }
        try check(result, conn: conn, sql: sql)
        return (Self.decode(result), took)
    }

    /// Runs one or more statements without parameters (migrations, LISTEN, BEGIN/COMMIT).
    @discardableResult
    public func execute(_ sql: String) throws -> PostgresResult {
        let conn = try requireHandle()
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        try check(result, conn: conn, sql: sql)
        return Self.decode(result)
    }

    /// Starts listening on a channel; remembered across reconnects.
    public func listen(_ channel: String) throws {
        _ = try execute("LISTEN \(Self.quoteIdentifier(channel))")
        listening.insert(channel)
    }

    /// Returns pending notifications, waiting up to `timeout` for the first one.
    /// Returns early (possibly empty) when ``wake()`` is called.
    public func waitForNotifications(timeout: Duration) throws -> [PostgresNotification] {
        let conn = try requireHandle()
        var received = try drainNotifications(conn)
        if !received.isEmpty { return received }
        let socket = PQsocket(conn)
        guard socket >= 0 else { throw PostgresError(kind: .connection, message: "connection has no socket") }
        var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        let millis = Int32(clamping: max(0, timeout.wholeMilliseconds))
        let ready = poll(&fds, 2, millis)
        if ready < 0 && errno != EINTR {
            throw PostgresError(kind: .connection, message: "poll failed: \(String(cString: strerror(errno)))")
        }
        if fds[1].revents != 0 {
            var buffer = [UInt8](repeating: 0, count: 64)
            while Glibc.read(wakeRead, &buffer, buffer.count) > 0 {}
        }
        received = try drainNotifications(conn)
        return received
    }

    /// Interrupts a ``waitForNotifications(timeout:)`` in progress. Safe from any thread.
    nonisolated public func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func drainNotifications(_ conn: OpaquePointer) throws -> [PostgresNotification] {
        if PQconsumeInput(conn) == 0 {
            if PQstatus(conn) != CONNECTION_OK { socket.store(-1, ordering: .sequentiallyConsistent) }
            throw PostgresError(kind: .connection, message: Self.trimmed(PQerrorMessage(conn)))
        }
        var out: [PostgresNotification] = []
        while let note = PQnotifies(conn) {
            out.append(PostgresNotification(
                channel: String(cString: note.pointee.relname),
                payload: String(cString: note.pointee.extra),
                processID: note.pointee.be_pid))
            PQfreemem(note)
        }
        return out
    }

    private func requireHandle() throws -> OpaquePointer {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(kind: .connection, message: "not connected to PostgreSQL")
        }
        return handle
    }

    private func check(_ result: OpaquePointer?, conn: OpaquePointer, sql: String) throws {
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            let lost = PQstatus(conn) != CONNECTION_OK
            if lost {
                prepared = [:]
                socket.store(-1, ordering: .sequentiallyConsistent)  // libpq may have closed it: never shut a reused number
            }
            func field(_ code: Int32) -> String? {
                guard let result, let raw = PQresultErrorField(result, code) else { return nil }
                return String(cString: raw)
            }
            let message = field(Int32(UInt8(ascii: "M"))) ?? Self.trimmed(PQerrorMessage(conn))
            let state = field(Int32(UInt8(ascii: "C")))
            let statement = String(sql.split(whereSeparator: \.isNewline).first ?? "").prefix(80)
            throw PostgresError(
                kind: lost ? .connection : .statement, sqlState: state,
                message: message.isEmpty ? "statement failed" : message,
                detail: field(Int32(UInt8(ascii: "D"))), statement: String(statement))
        }
    }

    private static func decode(_ result: OpaquePointer?) -> PostgresResult {
        guard let result else { return PostgresResult(columns: [], rows: [], affectedRows: 0) }
        let ncols = PQnfields(result)
        let nrows = PQntuples(result)
        var columns: [String] = []
        columns.reserveCapacity(Int(ncols))
        for c in 0..<ncols { columns.append(String(cString: PQfname(result, c))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(nrows))
        for r in 0..<nrows {
            var row: [String?] = []
            row.reserveCapacity(Int(ncols))
            for c in 0..<ncols {
                if PQgetisnull(result, r, c) == 1 {
                    row.append(nil)
                } else {
                    let length = Int(PQgetlength(result, r, c))
                    row.append(PQgetvalue(result, r, c).withMemoryRebound(to: UInt8.self, capacity: length) {
                        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                    })
                }
            }
            rows.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresResult(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func trimmed(_ raw: UnsafePointer<CChar>?) -> String {
        guard let raw else { return "" }
        // libpq's messages span lines ("…failed: …\n\tIs the server running…"): keep one line.
        return String(cString: raw)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    /// Quotes an SQL identifier (for LISTEN, which takes no parameters).
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicated = strings.map { strdup($0) }
    defer { duplicated.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicated.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// The parameters as C strings for libpq, in one buffer: each value's bytes without any NUL
/// (a C string ends at its first NUL: a NUL inside a value would cut it short, and break
/// an array literal on every retry; PostgreSQL's text types cannot hold one anyway),
/// then a terminating NUL. One copy per value, scanned on contiguous storage.
private func withParameterArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    var arena: [CChar] = []
    arena.reserveCapacity(strings.reduce(0) { $0 + ($1?.utf8.count ?? 0) + 1 })
    var offsets: [Int?] = []
    offsets.reserveCapacity(strings.count)
    for string in strings {
        guard var string else { offsets.append(nil); continue }
        offsets.append(arena.count)
        string.withUTF8 { bytes in
            if !bytes.contains(0) {
                bytes.withMemoryRebound(to: CChar.self) { arena.append(contentsOf: $0) }
            } else {
                for byte in bytes where byte != 0 { arena.append(CChar(bitPattern: byte)) }
            }
        }
        arena.append(0)
    }
    return arena.withUnsafeBufferPointer { base in
        let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
            guard let offset, let start = base.baseAddress else { return nil }
            return start + offset
        }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
