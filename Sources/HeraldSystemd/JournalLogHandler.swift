import Foundation
import Logging
import Synchronization

/// A `LogHandler` that writes one line per event to standard error, prefixed
/// with its syslog priority (`<3>` error … `<7>` debug) so that journald files
/// it at the right level and `journalctl -p warning -u herald` filters it.
///
/// Metadata is printed as `key=value` pairs after the message, sorted by key;
/// values containing spaces are quoted. In an interactive terminal (no
/// `JOURNAL_STREAM` and a TTY) the level is printed as a word instead. Under systemd,
/// with standard error connected to the journal, entries go to journald natively
/// (``JournalSocket``) with the same text as `MESSAGE` plus one field per metadata key;
/// an entry journald does not take is written to standard error as before.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let prefixStyle: PrefixStyle
    /// Where entries go natively; nil: lines on standard error.
    private let journal: JournalSocket?

    /// How the level is shown at the start of each line.
    public enum PrefixStyle: Sendable {
        /// `<6>` — for journald and syslog.
        case syslogPriority
        /// `info:` — for a person at a terminal.
        case word
    }

    public init(label: String, level: Logger.Level = .info, prefixStyle: PrefixStyle = JournalLogHandler.defaultStyle(),
                journal: JournalSocket? = JournalLogHandler.processJournal) {
        self.label = label
        self.logLevel = level
        self.prefixStyle = prefixStyle
        self.journal = journal
    }

    /// This process's journal connection, made once: set when systemd connected standard
    /// error to the journal (``JournalSocket/forThisProcess(environment:)``).
    public static let processJournal: JournalSocket? = JournalSocket.forThisProcess()

    /// `syslogPriority` under systemd or when stderr is not a terminal; `word` otherwise.
    public static func defaultStyle() -> PrefixStyle {
        if ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil { return .syslogPriority }
        return isatty(2) == 1 ? .word : .syslogPriority
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority of a level.
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata {
            if merged.isEmpty { merged = extra } else { merged.merge(extra) { _, new in new } }  // most loggers carry none of their own
        }
        if let journal {
            var fields: [(name: String, value: String)] = [
                ("MESSAGE", Self.text(event.message.description, merged)), ("PRIORITY", String(Self.priority(of: event.level))),
                ("SYSLOG_IDENTIFIER", "herald"), ("HERALD_LOGGER", label),
            ]
            for key in merged.keys.sorted() { fields.append((JournalSocket.fieldName(forMetadataKey: key), merged[key]!.description)) }
            if journal.send(fields) { return }
        }
        var line: String
        switch prefixStyle {
        case .syslogPriority: line = "<\(Self.priority(of: event.level))>"
        case .word: line = "\(event.level.rawValue): "
        }
        line += Self.text(event.message.description, merged)
        line += "\n"
        StandardErrorLine.write(line)
    }

    /// The message and its metadata as one line of text (without the level).
    static func text(_ message: String, _ merged: Logger.Metadata) -> String {
        var line = message
        line.reserveCapacity(message.utf8.count + 24 * merged.count)
        // One pass over the metadata (one line per delivery goes through here): the leading
        // keys into their slots, the rest sorted after them.
        var first: [String?] = Array(repeating: nil, count: leading.count)
        var rest: [(key: String, value: String)] = []
        for (key, value) in merged {
            if let slot = leading.firstIndex(of: key) { first[slot] = format(value) } else { rest.append((key, format(value))) }
        }
        for (slot, value) in first.enumerated() {
            if let value { line += " "; line += leading[slot]; line += "="; line += value }
        }
        rest.sort { $0.key < $1.key }
        for (key, value) in rest { line += " "; line += key; line += "="; line += value }
        return line
    }

    /// Keys printed first, in this order, so delivery lines read alike; the rest follow sorted.
    static let leading = ["message", "channel", "status", "attempt", "duration_ms"]

    static func format(_ value: Logger.Metadata.Value) -> String {
        var text = value.description
        // Scanned as bytes: one line per delivery goes through here.
        guard text.isEmpty || text.withUTF8({ $0.contains { $0 == 0x20 || $0 == 0x22 || $0 == 0x3D } }) else { return text }
        var quoted = "\""
        for c in text.unicodeScalars {
            if c == "\\" || c == "\"" { quoted.unicodeScalars.append("\\") }
            quoted.unicodeScalars.append(c)
        }
        return quoted + "\""
    }
}

/// Lines logged together: inside ``together(_:)``, the lines a task writes to standard error
/// wait and go out in one `write` when it returns (or every 64 kB), still whole and in order.
/// The outcome writer settles a batch of deliveries this way: one `write(2)` per line was
/// about 4% of the daemon's CPU in a drain. Entries sent natively to the journal are not held.
public enum LogLines {
    /// Runs `body`, writing the lines it logs on this task at its end in one `write`.
    public static func together<R>(_ body: () throws -> R) rethrows -> R {
        if StandardErrorLine.held != nil { return try body() }  // inside a scope already: its lines stay in order
        return try together(HeldLines(), body)
    }

    static func together<R>(_ held: HeldLines, _ body: () throws -> R) rethrows -> R {
        defer { held.flush() }
        return try StandardErrorLine.$held.withValue(held) { try body() }
    }
}

/// Lines waiting to be written (``LogLines/together(_:)``). Once flushed it holds nothing
/// more: a task started inside the scope inherits it, and its later lines go straight out.
final class HeldLines: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var open = true
    }
    private let state = Mutex(State())
    private let sink: @Sendable ([UInt8]) -> Void
    static let limit = 64 * 1024

    /// `sink` writes held bytes (standard error; tests collect them).
    init(sink: @escaping @Sendable ([UInt8]) -> Void = { StandardErrorLine.writeAll($0) }) { self.sink = sink }

    /// Holds `line`; false once flushed (the caller writes it itself). Held bytes are written
    /// under this holder's lock, so a task sharing it cannot put its lines out of order.
    func append(_ line: inout String) -> Bool {
        line.withUTF8 { new in
            state.withLock { held -> Bool in
                guard held.open else { return false }
                held.bytes.append(contentsOf: new)
                if held.bytes.count >= Self.limit {
                    sink(held.bytes)
                    held.bytes.removeAll(keepingCapacity: true)
                }
                return true
            }
        }
    }

    func flush() {
        state.withLock { held in
            if !held.bytes.isEmpty { sink(held.bytes) }
            held = State(bytes: [], open: false)
        }
    }
}

/// Writes whole lines to standard error without interleaving between threads.
enum StandardErrorLine {
    private static let lock = Mutex(())
    /// Set inside ``LogLines/together(_:)``.
    @TaskLocal static var held: HeldLines?

    static func write(_ line: String) {
        // Newlines inside a message would split it into several journal entries.
        var line = line
        if line.withUTF8({ $0.dropLast().contains(0x0A) }) {
            line = line.dropLast().replacingOccurrences(of: "\n", with: " ⏎ ") + "\n"
        }
        if let held, held.append(&line) { return }
        line.withUTF8 { writeAll($0) }
    }

    /// Writes `bytes` whole (short writes continued) under the lock.
    static func writeAll<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        lock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                var offset = 0
                while offset < raw.count {
                    let n = Foundation.write(2, base + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }  // a signal: the same bytes again
                    if n <= 0 { break }  // no standard error to write to: the lines are dropped, the daemon goes on
                    offset += n
                }
            }
        }
    }
}
