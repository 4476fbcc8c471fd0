import Foundation
@testable import HeraldCore
@testable import HeraldSystemd
import Logging
import Testing

/// A datagram socket speaking journald's native protocol, as the journal does.
final class JournalSink: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init() throws {
        path = try temporaryDirectory().appendingPathComponent("journal.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            path.withCString { raw.copyMemory(from: UnsafeRawBufferPointer(start: $0, count: strlen($0) + 1)) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw TestSetupError("cannot bind \(path)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The next entry's fields, parsed as journald parses them (both field forms).
    func receive() -> [String: String] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return [:] }
        var bytes = buffer[0..<n]
        var fields: [String: String] = [:]
        while let newline = bytes.firstIndex(of: 0x0A) {
            let head = bytes[bytes.startIndex..<newline]
            if let equals = head.firstIndex(of: UInt8(ascii: "=")) {
                fields[String(decoding: head[..<equals], as: UTF8.self)] = String(decoding: head[(equals + 1)...], as: UTF8.self)
                bytes = bytes[(newline + 1)...]
            } else {
                let lengthStart = newline + 1
                let length = bytes[lengthStart..<lengthStart + 8].reversed().reduce(0) { $0 << 8 | Int($1) }
                let valueStart = lengthStart + 8
                fields[String(decoding: head, as: UTF8.self)] = String(decoding: bytes[valueStart..<valueStart + length], as: UTF8.self)
                bytes = bytes[(valueStart + length + 1)...]
            }
        }
        return fields
    }
}

@Suite struct JournalNativeTests {
    @Test func entriesCarryTheMessageTheirPriorityAndOneFieldPerMetadataKey() throws {
        let sink = try JournalSink()
        let journal = try #require(JournalSocket(path: sink.path))
        let handler = JournalLogHandler(label: "herald", level: .info, prefixStyle: .syslogPriority, journal: journal)
        let logger = Logger(label: "herald") { _ in handler }
        logger.warning("delivery failed; will retry", metadata: [
            "message": "42", "channel": "sms", "status": "pending", "attempt": "2", "error": "provider said:\nbusy", "retry_in": "30s",
        ])
        let fields = sink.receive()
        #expect(fields["MESSAGE"] == #"delivery failed; will retry message=42 channel=sms status=pending attempt=2 error="provider said:"# + "\n" + #"busy" retry_in=30s"#)
        #expect(fields["PRIORITY"] == "4" && fields["SYSLOG_IDENTIFIER"] == "herald" && fields["HERALD_LOGGER"] == "herald")
        #expect(fields["HERALD_MESSAGE_ID"] == "42" && fields["HERALD_CHANNEL"] == "sms" && fields["HERALD_OUTCOME"] == "pending")
        #expect(fields["HERALD_ATTEMPT"] == "2" && fields["HERALD_RETRY_IN"] == "30s")
        #expect(fields["HERALD_ERROR"] == "provider said:\nbusy", "a value with a newline goes in the binary form")
    }

    @Test func fieldNamesAreWhatJournaldAccepts() {
        #expect(JournalSocket.fieldName(forMetadataKey: "duration_ms") == "HERALD_DURATION_MS")
        #expect(JournalSocket.fieldName(forMetadataKey: "provider-id.x") == "HERALD_PROVIDER_ID_X")
        #expect(JournalSocket.fieldName(forMetadataKey: String(repeating: "k", count: 100)).count == 64)
    }

    @Test func onlyTheStreamSystemdNamedTurnsItOn() throws {
        var info = stat()
        #expect(fstat(2, &info) == 0)
        #expect(JournalSocket.stderrIs(stream: "\(info.st_dev):\(info.st_ino)"))
        #expect(!JournalSocket.stderrIs(stream: "\(info.st_dev):\(info.st_ino + 1)"))
        #expect(!JournalSocket.stderrIs(stream: "garbage"))
        #expect(JournalSocket.forThisProcess(environment: [:]) == nil)
    }

    @Test func anEntryTheJournalDoesNotTakeIsNotLost() throws {
        // No one listens at this path: the handler falls back to a line on standard error
        // (here: it must not crash or block); the socket reports the failure.
        let journal = try #require(JournalSocket(path: try temporaryDirectory().appendingPathComponent("none.sock").path))
        #expect(journal.send([("MESSAGE", "x")]) == false)
    }
}
