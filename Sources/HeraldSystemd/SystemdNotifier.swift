#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Talks to systemd's `$NOTIFY_SOCKET` directly (the sd_notify protocol, no libsystemd):
/// `READY=1`, `STATUS=…`, `STOPPING=1` and `WATCHDOG=1` datagrams.
///
/// Without `$NOTIFY_SOCKET` (not started by systemd) every call does nothing.
public struct SystemdNotifier: Sendable {
    private let socketPath: String?
    /// How often to send `WATCHDOG=1`: half of `WatchdogSec=`, or nil when the watchdog is off.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        self.socketPath = path
        if let usec = environment["WATCHDOG_USEC"].flatMap({ UInt64($0) }), usec > 0,
           environment["WATCHDOG_PID"].flatMap({ Int32($0) }).map({ $0 == getpid() }) ?? true {
            self.watchdogInterval = .microseconds(Int64(usec / 2))
        } else {
            self.watchdogInterval = nil
        }
    }

    /// True when running under systemd with a notify socket.
    public var isEnabled: Bool { socketPath != nil }

    /// The daemon is up: connected and the schema is current.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    /// A one-line summary shown by `systemctl status`.
    public func status(_ text: String) { send("STATUS=\(text)") }
    /// Still alive (call at least every ``watchdogInterval``).
    public func watchdog() { send("WATCHDOG=1") }
    /// Shutting down.
    public func stopping(status: String) { send("STOPPING=1\nSTATUS=\(status)") }

    /// Sends one datagram; returns false when it could not be sent.
    @discardableResult
    public func send(_ state: String) -> Bool {
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        // A leading '@' names an abstract socket: the name starts with a NUL byte.
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), sa, length)
            }
        }
        return sent == bytes.count
    }
}
