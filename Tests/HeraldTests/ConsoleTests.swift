import Foundation
import HeraldAdmin
import HeraldOutbox
import Testing

/// The console over HTTP, against a real PostgreSQL, as the `herald_api` login: sign-in,
/// sessions and their end, CSRF, roles, slowed-down failures, cookies, language.
@Suite struct ConsoleTests {
    @Test func signInSessionsCSRFAndSignOut() async throws {
        try await TestDatabase.with { db in
            try await db.query("INSERT INTO herald.message (channel, recipient, template, data, status, last_error) VALUES ('sms', '+34600000001', 't', '{}', 'failed', 'boom')")
            try await withConsole(db) { _, console in
                let r = try await console.run([
                    .init(path: "/console/messages"),
                    .init(path: "/console/sign-in"),
                    .init(method: "POST", path: "/console/sign-in", form: ["name": ["operator-u"], "password": ["wrong-password"]]),
                    .init(method: "POST", path: "/console/sign-in", form: ["name": ["operator-u"], "password": [ConsoleUsers.password("operator-u")], "next": ["/console/messages"]]),
                    .init(path: "/console/messages"),
                    .init(method: "POST", path: "/console/messages/1", form: ["do": ["retry"]], csrf: "none"),
                    .init(method: "POST", path: "/console/messages/1", form: ["do": ["retry"]], csrf: "0000"),
                    .init(path: "/console/messages/1"),
                    .init(method: "POST", path: "/console/sign-out"),
                    .init(path: "/console"),
                ])
                #expect(r[0].status == 303 && r[0].location == "/console/sign-in?next=%2Fconsole%2Fmessages")
                #expect(r[1].status == 200 && r[1].body.contains("name=\"password\" type=\"password\""))
                #expect(r[2].status == 401 && r[2].body.contains("Wrong name or password."))
                #expect(r[3].status == 303 && r[3].location == "/console/messages", "\(r[3].body)")
                let cookie = try #require(r[3].set_cookies.first { $0.hasPrefix("herald_session=hs_") })
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console") && !cookie.contains("Secure"))
                #expect(r[4].status == 200 && r[4].body.contains("<h1>Messages</h1>") && r[4].body.contains("boom"))
                #expect(r[4].headers["content-security-policy"]?.hasPrefix("default-src 'none'") == true)
                #expect(r[4].headers["x-frame-options"] == "DENY" && r[4].headers["cache-control"] == "no-store")
                #expect(r[5].status == 403 && r[6].status == 403, "a form without its token, or with another, is refused")
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "failed")
                #expect(r[8].status == 303 && r[8].location == "/console/sign-in?out=1")
                #expect(r[9].status == 303 && r[9].location.hasPrefix("/console/sign-in"), "signed out: the session is gone")
                // The session's token is stored only as its SHA-256, and sign-out removed it.
                #expect(try await db.scalar("SELECT count(*) FROM herald.console_session") == "0")
                let audit = try await db.query("SELECT actor_kind, actor_name, action, result FROM herald.audit_log ORDER BY id").rows
                    .map { $0.map { $0 ?? "" }.joined(separator: "|") }
                #expect(audit == [
                    "anonymous|operator-u|console.sign_in|refused: wrong name or password",
                    "user|operator-u|console.sign_in|ok",
                    "user|operator-u|POST /console/messages/1|refused: no valid CSRF token",
                    "user|operator-u|POST /console/messages/1|refused: no valid CSRF token",
                    "user|operator-u|console.sign_out|ok",
                ])
            }
        }
    }

    @Test func aViewerSeesNoActionsAndAForgedPostIsRefusedAndAudited() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone) VALUES ('c-1', 'Ana Pérez', '+34 600 000 001');
                INSERT INTO herald.message (channel, recipient, template, data, status, last_error, contact_id) VALUES ('sms', '+34600000001', 't', '{}', 'failed', 'boom', 'c-1');
                """)
            try await withConsole(db) { _, console in
                let r = try await console.run(ConsolePeer.signIn("viewer-u") + [
                    .init(path: "/console/clients/c-1"),
                    .init(method: "POST", path: "/console/messages/1", form: ["do": ["retry"]]),
                ] + ConsolePeer.signIn("operator-u", session: "b") + [
                    .init(session: "b", path: "/console/clients/c-1"),
                ])
                #expect(r[2].status == 200 && r[2].body.contains("Ana Pérez") && r[2].body.contains("boom"))
                #expect(!r[2].body.contains(">Retry</button>"), "a viewer gets no action buttons")
                #expect(r[3].status == 403 && r[3].body.contains("this needs the operator role; the user&#39;s is viewer") || r[3].body.contains("the user's is viewer"),
                        "\(r[3].body)")
                #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "failed")
                #expect(r[6].body.contains(">Retry</button>"), "an operator gets the retry button")
                #expect(try await db.scalar("SELECT result FROM herald.audit_log WHERE action = 'message.retry'") == "refused: needs operator")
                #expect(try await db.scalar("SELECT actor_kind || ' ' || actor_name FROM herald.audit_log WHERE action = 'message.retry'") == "user viewer-u")
                // A search as a browser sends it: a space is a +.
                let found = try await console.run([.init(path: "/console/clients?q=Ana+P%C3%A9rez"), .init(path: "/console/clients?q=600+000+001")])
                #expect(found.allSatisfy { $0.body.contains("href=\"/console/clients/c-1\"") }, "\(found.map(\.body))")
            }
        }
    }

    @Test func sessionsEndWhenTheRoleChangesTheUserGoesOrItIdles() async throws {
        try await TestDatabase.with { db in
            try await withConsole(db, configure: { $0.console.sessionIdle = .seconds(2) }) { _, console in
                var r = try await console.run(ConsolePeer.signIn("editor-u") + ConsolePeer.signIn("admin-u", session: "b") + [
                    .init(path: "/console/rules"), .init(session: "b", path: "/console/users"),
                ])
                #expect(r[4].status == 200 && r[5].status == 200)
                #expect(r[5].body.contains("editor-u") && r[5].body.contains("viewer-u"))
                // The admin makes the editor a viewer (through the console): the editor's session ends.
                // (The admin signs in again: on a loaded machine the 2 s idle limit can pass
                // between two runs of the client.)
                r = try await console.run(ConsolePeer.signIn("admin-u", session: "b") + [
                    .init(session: "b", path: "/console/users"),
                    .init(session: "b", method: "POST", path: "/console/users", form: ["name": ["editor-u"], "role-editor-u": ["viewer"], "do": ["role"]]),
                ])
                #expect(r[3].status == 303 && r[3].location == "/console/users?done=user", "\(r[3].body)")
                #expect(try await db.scalar("SELECT role FROM herald.console_user WHERE name = 'editor-u'") == "viewer")
                #expect(try await db.scalar("SELECT count(*) FROM herald.console_session WHERE user_name = 'editor-u'") == "0")
                // Removed, the user's sessions go with it.
                _ = try await console.run(ConsolePeer.signIn("operator-u", session: "c"))
                try await db.execute("DELETE FROM herald.console_user WHERE name = 'operator-u'")
                // Idle longer than session_idle: over.
                _ = try await console.run(ConsolePeer.signIn("viewer-u", session: "d"))
                try await Task.sleep(for: .seconds(3))
                r = try await console.run([.init(path: "/console/rules"), .init(session: "c", path: "/console"), .init(session: "d", path: "/console")])
                for reply in r { #expect(reply.status == 303 && reply.location.hasPrefix("/console/sign-in"), "\(reply.status) \(reply.location)") }
                #expect(r[0].location.contains("ended=1"))
                #expect(try await db.scalar("SELECT string_agg(action || ' ' || coalesce(target, '') || ' ' || result, ', ') FROM herald.audit_log WHERE action LIKE 'user.%'")
                        == "user.role editor-u → viewer ok")
                // An admin cannot demote or remove themselves (another admin must).
                r = try await console.run(ConsolePeer.signIn("admin-u", session: "e") + [
                    .init(session: "e", path: "/console/users"),
                    .init(session: "e", method: "POST", path: "/console/users", form: ["name": ["admin-u"], "role-admin-u": ["viewer"], "do": ["role"]]),
                    .init(session: "e", method: "POST", path: "/console/users", form: ["name": ["admin-u"], "do": ["remove"]])])
                #expect(r[3].status == 409 && r[4].status == 409, "\(r[3].body)")
                #expect(try await db.scalar("SELECT role FROM herald.console_user WHERE name = 'admin-u'") == "admin")
            }
        }
    }

    @Test func repeatedFailedSignInsAreSlowedDown() async throws {
        try await TestDatabase.with { db in
            try await withConsole(db, configure: {
                $0.failuresBeforeSlowing = 2
                $0.console.trustedProxies = try! .init(parsing: ["127.0.0.1"])
            }) { _, console in
                // Behind a trusted proxy: counted per client (X-Forwarded-For), not for everyone.
                let mallory = ["X-Forwarded-For": "203.0.113.9"], ana = ["X-Forwarded-For": "198.51.100.7"]
                let wrong = ConsolePeer.Step(method: "POST", path: "/console/sign-in", form: ["name": ["admin-u"], "password": ["not-it-at-all"]], headers: mallory)
                let r = try await console.run([.init(path: "/console/sign-in"), wrong, wrong, wrong, wrong,
                                               .init(session: "b", path: "/console/sign-in", headers: ana),
                                               .init(session: "b", method: "POST", path: "/console/sign-in",
                                                     form: ["name": ["admin-u"], "password": [ConsoleUsers.password("admin-u")]], headers: ana)])
                #expect(r[1].status == 401 && r[2].status == 401)
                #expect(r[4].status == 429, "\(r.map(\.status))")
                #expect(Int(r[4].headers["retry-after"] ?? "") ?? 0 >= 1)
                #expect(r[4].body.contains("Too many failed sign-ins"))
                #expect(r[6].status == 303, "another client behind the same proxy signs in")
                #expect(try await db.scalar("SELECT DISTINCT address FROM herald.audit_log WHERE result LIKE 'refused%'") == "203.0.113.9")
            }
        }
    }

    @Test func cookiesAreSecureBehindHTTPSAndTheLanguageFollowsTheBrowser() async throws {
        try await TestDatabase.with { db in
            try await withConsole(db, configure: { $0.console.trustedProxies = try! .init(parsing: ["127.0.0.1"]) }) { _, console in
                let https = ["X-Forwarded-Proto": "https"]
                let r = try await console.run([
                    .init(path: "/console/sign-in", headers: https),
                    .init(method: "POST", path: "/console/sign-in", form: ["name": ["viewer-u"], "password": [ConsoleUsers.password("viewer-u")]], headers: https),
                    .init(path: "/console", headers: ["Accept-Language": "es-ES,es;q=0.9"]),
                    .init(path: "/console/language?to=fr&back=/console/rules"),
                    .init(path: "/console/rules"),
                    .init(path: "/console/language?to=en&back=//evil.example/x"),
                ])
                #expect(r[1].set_cookies.first { $0.hasPrefix("herald_session=hs_") }?.contains("; Secure") == true)
                #expect(r[2].body.contains("<html lang=\"es\"") && r[2].body.contains("Mensajes"))
                #expect(r[3].status == 303 && r[3].location == "/console/rules")
                #expect(r[4].body.contains("<html lang=\"fr\"") && r[4].body.contains("Règles"))
                #expect(r[5].location == "/console", "never back to another site")
            }
        }
    }

    @Test func aForwardedProtoFromAnUntrustedPeerDoesNotMakeCookiesSecure() async throws {
        try await TestDatabase.with { db in
            try await withConsole(db, configure: { $0.console.trustedProxies = try! .init(parsing: ["10.0.0.0/8"]) }) { _, console in
                let https = ["X-Forwarded-Proto": "https"]
                let r = try await console.run([
                    .init(path: "/console/sign-in", headers: https),
                    .init(method: "POST", path: "/console/sign-in", form: ["name": ["viewer-u"], "password": [ConsoleUsers.password("viewer-u")]], headers: https),
                ])
                #expect(r[1].set_cookies.first { $0.hasPrefix("herald_session=hs_") }.map { !$0.contains("Secure") } == true, "\(r[1].set_cookies)")
            }
        }
    }

    @Test func oneRulesTimingIsEditedThroughItsReplanPreview() async throws {
        try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.template (key, channel, locale, body) VALUES ('t', 'sms', 'es', 'Hola');
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template, send_before) VALUES ('r.reminder', 'appointment', 'created', '{sms}', 't', '1 day');
                """)
            try await withConsole(db) { _, console in
                let r = try await console.run(ConsolePeer.signIn("editor-u") + [
                    .init(path: "/console/rules"),
                    .init(method: "POST", path: "/console/rules", form: ["rule": ["r.reminder"], "send_before": ["2 hours"], "business_hours_only": ["true"]]),
                    .init(method: "POST", path: "/console/rules", form: ["rule": ["r.reminder"], "send_before": ["2 hours"], "business_hours_only": ["true"], "apply": ["1"]]),
                    .init(method: "POST", path: "/console/rules", form: ["rule": ["r.reminder"]]),
                ])
                #expect(r[2].body.contains("1 day before") && r[2].body.contains("Send before the appointment"), "the table in the seeds' words")
                #expect(r[3].status == 200 && r[3].body.contains("Change r.reminder: 2 hours before; business hours only."), "\(r[3].body)")
                #expect(try await db.scalar("SELECT count(*) FROM herald.audit_log WHERE action = 'rule.change.preview' AND result = 'ok'") == "1", "previewed first")
                #expect(r[4].status == 303 && r[4].location == "/console/rules?done=rules")
                #expect(try await db.scalar("SELECT send_before::text || ' ' || business_hours_only FROM herald.rule WHERE name = 'r.reminder'") == "02:00:00 true")
                #expect(r[5].status == 422 && r[5].body.contains("Say what to change"))
                #expect(try await db.scalar("SELECT action || ' ' || result FROM herald.audit_log WHERE action LIKE 'rule%' ORDER BY id DESC LIMIT 1") == "rule.change ok")
            }
        }
    }

    @Test func oddPathsAndForeignFormsAreRefused() async throws {
        try await TestDatabase.with { db in
            try await withConsole(db) { _, console in
                let r = try await console.run(ConsolePeer.signIn("admin-u") + [
                    .init(path: "/console/../api/v1/status"), .init(path: "/console//users"), .init(path: "/console/nowhere"),
                    // A sign-in form not from this console: no token, or another one, with the form's cookie set.
                    .init(session: "f", path: "/console/sign-in"),
                    .init(session: "f", method: "POST", path: "/console/sign-in", form: ["name": ["admin-u"], "password": [ConsoleUsers.password("admin-u")]], csrf: "none"),
                    .init(session: "f", method: "POST", path: "/console/sign-in", form: ["name": ["admin-u"], "password": [ConsoleUsers.password("admin-u")]],
                          csrf: String(repeating: "0", count: 64)),
                ])
                #expect(r[2].status == 400 && r[3].status == 400)
                #expect(r[4].status == 404 && r[4].headers["content-security-policy"] != nil)
                #expect(r[6].status == 403 && r[7].status == 403, "a sign-in form not from this console: \(r[6].status) \(r[7].status)")
                #expect(r[6].body.contains("This form has expired or did not come from this console."))
            }
        }
    }
}
