import Foundation
import HeraldAdminAPI
import HeraldOutbox

/// For admins: the audit log, and the console's users (made, re-roled, removed; a change
/// of role signs the user out everywhere).
extension Console {
    @Sendable func audit(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        let page = try Self.value(await api.listAudit(.init(query: .init(limit: 100, cursor: v.q("cursor"))))) { try $0.ok.body.json }
        let rows = page.items.map {
            [html.time($0.at), html.h("\($0.actorKind) \($0.actorName)"), html.h($0.role ?? ""), html.h($0.action), html.h($0.target ?? ""),
             $0.count.map(String.init) ?? "", html.h($0.result), html.h($0.address ?? "")]
        }
        var body = html.table(t("Audit log, newest first"), [t("When"), t("Who"), t("Role"), t("Action"), t("On"), t("Count"), t("Result"), t("Address")], rows)
        if let next = page.nextCursor { body += "<p>\(html.link("/console/audit?cursor=\(next)", t("Older entries")))</p>" }
        return .page(html.page(t("Audit log"), body))
    }

    @Sendable func users(_ v: Visit) async throws -> Answer {
        let t = v.t, html = v.html
        if v.principal.role < .admin { await audit(v, "read /console/users", target: "-", result: "refused: needs admin") }
        try requireAdmin(v, action: nil)
        let list = try await service.database.run { try await $0.admin.users() }
        let roles = AdminRole.allCases.map { ($0.rawValue, t($0.rawValue)) }
        let rows = list.map { u in
            [html.h(u.name), html.h(t(u.role.rawValue)), html.time(u.createdAt), html.h(u.createdBy), html.time(u.lastSignInAt),
             html.form("/console/users", label: t("Change {0}", u.name),
                       "<input type=\"hidden\" name=\"name\" value=\"\(html.h(u.name))\">"
                       + html.select(t("Role"), "role-\(u.name)", roles, selected: u.role.rawValue)
                       + html.button(t("Change the role"), name: "do", value: "role") + html.button(t("Remove"), name: "do", value: "remove", danger: true),
                       cls: "inline")]
        }
        let create = html.form("/console/users", label: t("Add a user"),
                               html.field(t("Name"), "name", nil, extra: " required maxlength=\"64\"") + html.select(t("Role"), "role", roles, selected: "viewer")
                               + html.field(t("Password (8 to 72 bytes)"), "password", nil, type: "password", extra: " required minlength=\"8\" autocomplete=\"new-password\"")
                               + html.button(t("Add the user"), name: "do", value: "create"), cls: "inline")
        return .page(html.page(t("Users"), notice: v.q("done").flatMap { Self.notice($0, t) },
                               html.table(t("Console users"), [t("Name"), t("Role"), t("Created"), t("By"), t("Last sign-in"), t("Change")], rows)
                               + "<h2>\(html.h(t("Add a user")))</h2>" + create))
    }

    /// Only admins manage users; a refusal is audited like the API's.
    private func requireAdmin(_ v: Visit, action: String?) throws {
        guard v.principal.role >= .admin else {
            throw Refusal(status: 403, detail: APIProblem.forbidden(v.principal.role, needs: .admin, kind: "user").detail ?? "")
        }
    }

    @Sendable func usersAction(_ v: Visit) async throws -> Answer {
        let t = v.t
        let name = v.field("name") ?? ""
        let action = "user." + (v.field("do") ?? "?")
        // The target names the role given, so that a promotion shows in the audit log.
        let given = v.field("do") == "create" ? v.field("role") : v.field("do") == "role" ? v.field("role-\(name)") : nil
        let target = given.map { "\(name) → \(String($0.prefix(16)))" } ?? name
        guard v.principal.role >= .admin else {
            await audit(v, action, target: target, result: "refused: needs admin")
            try requireAdmin(v, action: action)
            return .redirect("/console/users")
        }
        do {
            switch v.field("do") {
            case "create":
                guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$", options: .regularExpression) != nil else {
                    throw Refusal(status: 422, detail: t("A name is letters, digits and _ . @ -, 64 at most."))
                }
                guard let role = v.field("role").flatMap(AdminRole.init(rawValue:)) else { throw Refusal(status: 422, detail: t("Unknown role.")) }
                let password = v.raw("password") ?? ""
                if let problem = PasswordHasher.problem(password) { throw Refusal(status: 422, detail: problem) }
                let hash = await service.hasher.hash(password)
                let actor = v.principal.actor
                _ = try await service.database.run { try await $0.admin.createUser(name: name, role: role, passwordHash: hash, createdBy: actor) }
            case "role" where name == v.principal.name, "remove" where name == v.principal.name:
                // An admin cannot demote or remove themselves: another admin must (so that
                // the console is never left without one by a slip).
                throw Refusal(status: 409, detail: t("Another admin must change or remove your own user."))
            case "role":
                guard let role = v.field("role-\(name)").flatMap(AdminRole.init(rawValue:)) else { throw Refusal(status: 422, detail: t("Unknown role.")) }
                guard try await service.database.run({ try await $0.admin.changeUser(name: name, role: role, passwordHash: nil) }) != nil else {
                    throw Refusal(status: 404, detail: t("No such user."))
                }
            case "remove":
                guard try await service.database.run({ try await $0.admin.removeUser(name: name) }) else { throw Refusal(status: 404, detail: t("No such user.")) }
            default:
                throw Refusal(status: 400, detail: t("Unknown action."))
            }
        } catch let refusal as Refusal {
            await audit(v, action, target: target, result: "refused: \(refusal.detail)")
            throw refusal
        } catch let error as AdminStoreError {
            await audit(v, action, target: target, result: "refused: \(error)")
            throw Refusal(status: 409, detail: error.description)
        }
        await audit(v, action, target: target, result: "ok")
        return .redirect("/console/users?done=user")
    }

    private func audit(_ v: Visit, _ action: String, target: String, result: String) async {
        await service.audit(.init(actorKind: "user", actorName: v.principal.name, role: v.principal.role.rawValue, action: action,
                                  target: String(target.prefix(64)), result: result, address: AdminRequest.address))
    }
}
