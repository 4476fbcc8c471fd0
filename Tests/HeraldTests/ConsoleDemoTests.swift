import Foundation
import Testing

/// deploy/demo's data in the console, as its README sentence promises: sign in with the
/// demo's sign-in, find Lucía, see her reminder and her answer, edit the reminder's
/// Spanish text and see the preview. The docs' demo screenshots come from this run.
@Suite struct ConsoleDemoTests {
    @Test func theDemoSignInFindsLuciaHerReminderAndHerAnswerAndPreviewsANewText() async throws {
        try await CPUGate.run { try await TestDatabase.with { db in
            let root = repositoryRoot
            let daemon = try await ConsoleDaemon.start(db) { config in
                // As deploy/demo runs it: the events, what is due now, Tomás's new number, what is
                // due within a minute (Lucía's reminder), then Lucía's answer and the demo's user.
                try await db.execute(try String(contentsOf: root.appendingPathComponent("deploy/demo-data.sql"), encoding: .utf8))
                let first = try await HeraldProcess.run(["run", "--exit-when-idle", "--idle-horizon", "0s", "--config", config], timeout: .seconds(90))
                #expect(first.0 == 0, "\(first.2)")
                try await db.execute(try String(contentsOf: root.appendingPathComponent("deploy/demo-later.sql"), encoding: .utf8))
                let second = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", config], timeout: .seconds(120))
                #expect(second.0 == 0, "\(second.2)")
                try await db.execute(try String(contentsOf: root.appendingPathComponent("deploy/demo-answers.sql"), encoding: .utf8))
                let password = try temporaryDirectory().appendingPathComponent("demo.pw")
                try "herald-demo\n".write(to: password, atomically: true, encoding: .utf8)
                let user = try await HeraldProcess.run(["users", "create", "demo", "--role", "admin", "--password-file", password.path, "--config", config])
                #expect(user.0 == 0, "\(user.1) \(user.2)")
            }
            defer { daemon.herald.signal(SIGKILL) }
            // The daemon files her answer as a reply to her reminder.
            let reminder = try await db.waitForScalar("""
                SELECT m.rule_name FROM herald.inbound i JOIN herald.message m ON m.id = i.in_reply_to WHERE i.provider_id = 'lucia-reply-1' AND i.result = 'reply'
                """)
            #expect(reminder == "appointment.reminder.1d")
            let text = "Peluquería Olivia: te esperamos mañana. Si no puedes venir, respóndenos."
            let r = try await daemon.browse("demo", ["user": .string("demo"), "password": .string("herald-demo"), "text": .string(text)])
            #expect(r.problems.isEmpty, "\(r.problems)")
            let client = r.seen.text("client")
            #expect(client.contains("Lucía") && client.contains("Sus respuestas"), "\(client)")
            #expect(client.contains("¡Gracias! Allí estaré. ¿Puedo llegar diez minutos antes para elegir el color?"))
            #expect(client.contains("appointment.reminder.1d"), "her reminders are listed")
            #expect(r.seen.text("client_open").contains("Recordatorio de tu cita"), "the reminder's text, opened: \(r.seen.text("client_open"))")
            let preview = r.seen.text("preview")
            #expect(preview.contains(text) && preview.contains("UCS-2"), "\(preview)")
            #expect(Set(r.shots.keys) == ["demo-dashboard", "demo-client", "demo-template-editor"])
        } }
    }
}
