import HeraldCore
import HeraldPostgres

/// What happened to one message, for `herald explain`: its final state and reason, where its
/// address came from, every attempt and every delivery receipt.
extension MessageStore {
    /// One message's record.
    public struct MessageHistory: Sendable, Equatable {
        public var status: String
        public var lastError: String?
        public var recipient: String
        /// `contact client-88's phone, kept in step with herald.contact`, or `as inserted`.
        public var recipientSource: String
        public var priority: Int
        /// `rule appointment.reminder.1d, from event 12`, or nil for a message the host inserted.
        public var origin: String?
        public var sentAt: String?
        public var deliveredAt: String?
        /// `#1 2026-… twilio: failed (21610) SMS provider answered …`, oldest first.
        public var attempts: [String]
        /// `2026-… delivered`, `2026-… undelivered (30003)`, oldest first.
        public var receipts: [String]
        /// The WhatsApp fallback: `SMS fallback of WhatsApp message 12: …`, `fell back to SMS
        /// message 13: …`, `SMS fallback if WhatsApp does not reach the client`; nil otherwise.
        public var fallback: String?
    }

    /// The history of message `id`; nil when there is no such message.
    public func messageHistory(id: Int64) async throws -> MessageHistory? {
        let stamp = "'YYYY-MM-DD HH24:MI:SS TZ'"
        guard let row = try await connection.query("""
            SELECT m.status, m.last_error, m.recipient, m.channel, m.priority, m.follows_contact, m.contact_id, m.rule_name, m.event_id,
                   to_char(m.sent_at, \(stamp)) AS sent_at, to_char(m.delivered_at, \(stamp)) AS delivered_at, m.provider_message_id,
                   m.fallback, m.fallback_of, m.fallback_reason, f.id AS fallback_id, f.status AS fallback_status, f.fallback_reason AS fallback_why
              FROM herald.message m LEFT JOIN herald.message f ON f.fallback_of = m.id WHERE m.id = $1
            """, [id]).named.first else { return nil }
        let channel = row["channel"] ?? ""
        var source = "as inserted"
        if row.bool("follows_contact") == true, let contact = row["contact_id"] {
            source = "contact \(contact)'s \(channel == "email" ? "email" : "phone"), kept in step with herald.contact until it is sent"
        } else if let contact = row["contact_id"] {
            source = "as inserted (contact \(contact): preference and consent checked)"
        }
        var origin: String?
        if let rule = row["rule_name"] {
            origin = "rule \(rule)" + (row["event_id"].map { ", from event \($0)" } ?? "")
        }
        let attempts = try await connection.query("""
            SELECT number, to_char(started_at, \(stamp)) AS started_at, coalesce(driver, '-') AS driver, outcome,
                   response_code, error
              FROM herald.attempt WHERE message_id = $1 ORDER BY number, id
            """, [id]).named.map { a in
            var line = "#\(a["number"] ?? "?") \(a["started_at"] ?? "") \(a["driver"] ?? "-"): \(a["outcome"] ?? "")"
            if let code = a["response_code"] { line += " (\(code))" }
            if let error = a["error"] { line += " \(error)" }
            return line
        }
        var receipts: [String] = []
        if let provider = row["provider_message_id"] {
            receipts = try await connection.query("""
                SELECT to_char(received_at, \(stamp)) AS received_at, status, error_code, result
                  FROM herald.receipt WHERE provider_message_id = $1 ORDER BY id
                """, [provider]).named.map { r in
                var line = "\(r["received_at"] ?? "") \(r["status"] ?? "")"
                if let code = r["error_code"] { line += " (\(code))" }
                if let result = r["result"] { line += " → \(result)" }
                return line
            }
        }
        var fallback: String?
        if let of = row["fallback_of"] {
            fallback = "SMS fallback of WhatsApp message \(of): \(row["fallback_reason"] ?? "no reason recorded")"
        } else if let sms = row["fallback_id"] {
            fallback = "fell back to SMS message \(sms) (\(row["fallback_status"] ?? "?")): \(row["fallback_why"] ?? "no reason recorded")"
        } else if row["fallback"] != nil {
            fallback = row["fallback_reason"] ?? "SMS fallback if WhatsApp does not reach the client (none sent)"
        }
        return MessageHistory(status: row["status"] ?? "", lastError: row["last_error"], recipient: row["recipient"] ?? "",
                              recipientSource: source, priority: row.int("priority") ?? 2, origin: origin,
                              sentAt: row["sent_at"], deliveredAt: row["delivered_at"], attempts: attempts, receipts: receipts,
                              fallback: fallback)
    }
}
