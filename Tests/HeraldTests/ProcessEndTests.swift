import Foundation
import Testing

/// How the `herald` process ends: with `_exit`, so no library exit handler (libcrypto's
/// `OPENSSL_cleanup`, library destructors) runs while a session thread may still be ending.
/// A preloaded library registers an `atexit` handler and a destructor that each print a line;
/// neither may appear, whatever way the command ends, and what the command printed must
/// still arrive.
@Suite struct ProcessEndTests {
    /// Builds the preloaded library; returns its path.
    static func exitHandlerLibrary() async throws -> String {
        let dir = try temporaryDirectory()
        let source = dir.appendingPathComponent("exit_handlers.c")
        try """
            #include <stdlib.h>
            #include <unistd.h>
            static void handler(void) { static const char m[] = "herald-test: exit handler ran\\n"; write(2, m, sizeof m - 1); }
            __attribute__((constructor)) static void start(void) { atexit(handler); }
            __attribute__((destructor)) static void end(void) { static const char m[] = "herald-test: library destructor ran\\n"; write(2, m, sizeof m - 1); }
            """.write(to: source, atomically: true, encoding: .utf8)
        let library = dir.appendingPathComponent("exit_handlers.so").path
        _ = try await runShell("cc=$(command -v clang || command -v cc) && $cc -shared -fPIC -o '\(library)' '\(source.path)' 2>&1")
        return library
    }

    static let marks = ["exit handler ran", "library destructor ran"]

    @Test func noExitHandlerRunsHoweverTheCommandEndsAndItsOutputArrives() async throws {
        let library = try await Self.exitHandlerLibrary()
        let preload = ["LD_PRELOAD": library]
        // The library works: a program that ends with exit runs both.
        let control = try await runShell("LD_PRELOAD='\(library)' /bin/true 2>&1")
        #expect(Self.marks.allSatisfy { control.contains($0) }, "\(control)")

        let smtp = try await Peer.start("smtp_server.py")
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let path = try DeliveryEndToEndTests().config(db, smtp: smtp, http: http)
            // stdout is a file (fully buffered): the lines must be flushed before the end.
            let migrate = try await HeraldProcess.run(["migrate", "--config", path], environment: preload)
            #expect(migrate.0 == 0 && migrate.1.contains("schema is"), "\(migrate)")
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            try await db.execute("""
                INSERT INTO herald.location (id, name, time_zone) VALUES ('centro', 'Peluquería Sol Centro', 'Europe/Madrid');
                INSERT INTO herald.contact (id, name, email, phone, locale, time_zone) VALUES ('ana', 'Ana', 'ana@example.es', '+15005550001', 'es', 'Europe/Madrid');
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template) VALUES
                  ('confirm', 'appointment', 'created', '{sms,email}', 'appointment.confirmed');
                SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => now() + interval '3 days', contact_id => 'ana', location_id => 'centro');
                """)
            // A daemon run whose session threads did TLS (STARTTLS to the SMTP peer) and HTTP.
            let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", path], environment: preload, timeout: .seconds(60))
            #expect(run.0 == 0, "\(run.2)")
            #expect(try await db.statusCounts() == ["sent": 2], "\(run.2)")
            #expect(run.2.contains("herald stopped"), "\(run.2)")
            let ends = [
                run,
                migrate,
                try await HeraldProcess.run(["status", "--config", "/nonexistent/herald.toml"], environment: preload),
                try await HeraldProcess.run(["no-such-command"], environment: preload),
                try await HeraldProcess.run(["--help"], environment: preload),
            ]
            #expect(ends.map(\.0) == [0, 0, 78, 64, 0])
            #expect(ends[2].2.contains("configuration error: /nonexistent/herald.toml"), "\(ends[2])")
            #expect(ends[3].2.contains("Unexpected argument 'no-such-command'"), "\(ends[3])")
            #expect(ends[4].1.contains("OVERVIEW:"), "\(ends[4])")
            for end in ends {
                #expect(!Self.marks.contains { end.1.contains($0) || end.2.contains($0) }, "\(end.2)")
            }
        }
    }
}
