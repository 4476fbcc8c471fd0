import Foundation
import HeraldCore
import HeraldRows
import HeraldRender

extension EventPlan {
    /// The templates' variables: the event's `data`, plus `client.name`, `.phone`, `.email`,
    /// `event_at`, `previous_event_at`, `ends_at`, `status` and `previous_status` where it has
    /// none (a key present with `null` counts as present). Nil when `data` is not a JSON object.
    ///
    /// The event's text (PostgreSQL's `jsonb` output) is kept as it is and what Herald adds
    /// is appended as members at its end: parsing and writing every event's data again
    /// with `JSONSerialization` was 12% of the daemon's CPU while expanding events. The
    /// message's `data` is `jsonb`, where of repeated keys the last wins, so an appended
    /// `client` replaces a `null` or non-object one, as rewriting did. Only a `client`
    /// object that lacks a field the contact has is rewritten whole (``rewrittenData``).
    static func templateData(event: EventRow, contact: EventContact?) -> String? {
        guard let text = event.data else { return nil }
        guard let parsed = try? JSONValue.parse(text) else { return rewrittenData(event: event, contact: contact) }
        guard case .object(let data) = parsed else { return nil }
        let fields = [("name", contact?.name), ("phone", contact?.phone), ("email", contact?.email)]
        var added: [(key: String, json: String)] = []
        if case .object(let client)? = data["client"] {
            if fields.contains(where: { $0.1 != nil && client[$0.0] == nil }) { return rewrittenData(event: event, contact: contact) }
        } else {
            let own = fields.compactMap { field in field.1.map { "\(JSONValue.literal(field.0)): \(JSONValue.literal($0))" } }
            if !own.isEmpty { added.append(("client", "{" + own.joined(separator: ", ") + "}")) }
        }
        let more: [(String, String?)] = [
            ("event_at", event.startsAt.map(ISO8601.string)), ("previous_event_at", event.previousStartsAt.map(ISO8601.string)),
            ("ends_at", event.endsAt.map(ISO8601.string)), ("status", event.status), ("previous_status", event.previousStatus),
        ]
        for (key, value) in more where data[key] == nil {
            if let value { added.append((key, JSONValue.literal(value))) }
        }
        guard !added.isEmpty else { return text }
        guard let close = text.utf8.lastIndex(of: UInt8(ascii: "}")) else { return rewrittenData(event: event, contact: contact) }
        let members = added.map { JSONValue.literal($0.key) + ": " + $0.json }.joined(separator: ", ")
        return String(text[..<close]) + (data.isEmpty ? "" : ", ") + members + "}"
    }

    /// ``templateData(event:contact:)`` by parsing the data and writing it again whole
    /// (Foundation): for a `client` object to complete, and for what Herald's parser refuses.
    static func rewrittenData(event: EventRow, contact: EventContact?) -> String? {
        guard let text = event.data, let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
              var data = parsed as? [String: Any] else { return nil }
        var client = data["client"] as? [String: Any] ?? [:]
        if client["name"] == nil, let name = contact?.name { client["name"] = name }
        if client["phone"] == nil, let phone = contact?.phone { client["phone"] = phone }
        if client["email"] == nil, let email = contact?.email { client["email"] = email }
        if !client.isEmpty { data["client"] = client }
        if data["event_at"] == nil, let at = event.startsAt { data["event_at"] = ISO8601.string(at) }
        if data["previous_event_at"] == nil, let at = event.previousStartsAt { data["previous_event_at"] = ISO8601.string(at) }
        if data["ends_at"] == nil, let at = event.endsAt { data["ends_at"] = ISO8601.string(at) }
        if data["status"] == nil, let s = event.status { data["status"] = s }
        if data["previous_status"] == nil, let s = event.previousStatus { data["previous_status"] = s }
        guard let json = try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys, .withoutEscapingSlashes]) else { return nil }
        return String(decoding: json, as: UTF8.self)
    }
}
