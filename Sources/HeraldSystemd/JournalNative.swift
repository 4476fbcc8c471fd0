import Foundation
import Synchronization

/// journald's native protocol: one datagram per entry to `/run/systemd/journal/socket`,
/// each field `NAME=value\n` (or, for a value with a newline, `NAME\n` + its length as a
/// 64-bit little-endian number + the value + `\n`).
///
/// Used when Herald runs under systemd with its standard error connected to the journal
/// (`JOURNAL_STREAM` names that very stream): each log line then also carries structured
/// fields (`HERALD_MESSAGE_ID`, `HERALD_CHANNEL`, `HERALD_OUTCOME`, `HERALD_ATTEMPT`, …)
/// so that `journalctl -u herald HERALD_MESSAGE_ID=42` tells one message's story.
public final class JournalSocket: Sendable {
    /// Where journald listens.
    public static let defaultPath = "/run/systemd/journal/socket"
    private let fd: Int32
    private let path: String
    /// Entries that could not be sent (the caller then writes a line to standard error).
    private let failures = Atomic<Int>(0)

    /// A datagram socket for `path`; nil when one cannot be made.
    public init?(path: String = JournalSocket.defaultPath) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The journal of this process, when its standard error is the journal stream that
    /// `JOURNAL_STREAM` names (as systemd sets it) and journald's socket exists; else nil.
    public static func forThisProcess(environment: [String: String] = ProcessInfo.processInfo.environment) -> JournalSocket? {
        guard let stream = environment["JOURNAL_STREAM"], stderrIs(stream: stream),
              FileManager.default.fileExists(atPath: defaultPath) else { return nil }
        return JournalSocket()
    }

    /// True when `stream` (`device:inode`, as in `JOURNAL_STREAM`) is file descriptor 2.
    static func stderrIs(stream: String) -> Bool {
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Sends one entry; false when it could not be sent.
    @discardableResult
    public func send(_ fields: [(name: String, value: String)]) -> Bool {
        let datagram = Self.encode(fields)
        let sent = path.withCString { cPath -> Int in
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            guard strlen(cPath) < capacity else { return -1 }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(start: cPath, count: strlen(cPath) + 1))
            }
            return withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    datagram.withUnsafeBytes { bytes in
                        sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), sa, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
        }
        if sent != datagram.count { failures.add(1, ordering: .relaxed) }
        return sent == datagram.count
    }

    /// The datagram for `fields`, in the native protocol.
    static func encode(_ fields: [(name: String, value: String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in fields {
            out += Array(name.utf8)
            if value.utf8.contains(0x0A) {
                out.append(0x0A)
                var length = UInt64(value.utf8.count).littleEndian
                withUnsafeBytes(of: &length) { out += $0 }
                out += Array(value.utf8)
            } else {
                out.append(UInt8(ascii: "="))
                out += Array(value.utf8)
            }
            out.append(0x0A)
        }
        return out
    }

    /// The journal field for a log metadata key: `HERALD_` + the key in upper case, with
    /// anything but letters, digits and `_` made `_`. `message` (an outbox id) is
    /// `HERALD_MESSAGE_ID` and `status` is `HERALD_OUTCOME`.
    static func fieldName(forMetadataKey key: String) -> String {
        switch key {
        case "message": return "HERALD_MESSAGE_ID"
        case "status": return "HERALD_OUTCOME"
        default:
            let cleaned = key.uppercased().unicodeScalars.map { ("A"..."Z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "_" }
            return String(("HERALD_" + String(cleaned)).prefix(64))
        }
    }
}
