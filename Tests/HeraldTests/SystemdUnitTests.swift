import Foundation
import HeraldSystemd
import Testing

@Suite struct SystemdUnitTests {
    /// The committed unit, with ExecStart pointing at the binary under test (verify checks it exists).
    func unitUnderTest() throws -> URL {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("systemd/herald.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/herald", with: HeraldProcess.binary.path)
        let file = try temporaryDirectory().appendingPathComponent("herald.service")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func unitIsNotifyTypeWithWatchdogRestartAndHardening() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("systemd/herald.service"), encoding: .utf8)
        for line in ["Type=notify", "Restart=on-failure", "WatchdogSec=", "DynamicUser=yes", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                     "SystemCallFilter=@system-service"] {
            #expect(text.contains(line), "missing \(line)")
        }
    }

    @Test func systemdAnalyzeVerifyPasses() async throws {
        let unit = try unitUnderTest()
        let out = try await runShell("systemd-analyze verify '\(unit.path)' 2>&1; echo rc=$?")
        #expect(out == "rc=0", "systemd-analyze verify: \(out)")
    }

    @Test func exposureScoreStaysLow() async throws {
        let unit = try unitUnderTest()
        let out = try await runShell("systemd-analyze security --offline=true '\(unit.path)' 2>&1 | grep 'Overall exposure level'")
        let score = try #require(out.split(separator: " ").compactMap { Double($0) }.first, "no score in \(out)")
        #expect(score <= 2.0, "exposure \(score): \(out)")
    }

    @Test func notifierIsSilentWithoutASocketAndHalvesTheWatchdog() {
        let none = SystemdNotifier(environment: [:])
        #expect(!none.isEnabled && none.watchdogInterval == nil && !none.send("READY=1"))
        let with = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "30000000"])
        #expect(with.watchdogInterval == .seconds(15))
        let otherPID = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"])
        #expect(otherPID.watchdogInterval == nil)
    }
}
