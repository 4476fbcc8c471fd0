import Foundation
import HeraldCore
import HeraldPostgres

/// Message searches and bulk retry/cancel for the admin API.
extension AdminStore {
    /// What an operator filters messages by. Every field is optional; all given must match.
    public struct MessageFilter: Sendable, Equatable, Codable {
        public var status: String?
        public var channel: String?
        public var template: String?
        public var rule: String?
        /// Matched in its normal form (E.164, or the bare lower-cased address).
        public var recipient: String?
        public var contact: String?
        public var subjectType: String?
        public var subjectID: String?
        public var location: String?
        public var createdAfter: Date?
        public var createdBefore: Date?
        public var sentAfter: Date?
        public var sentBefore: Date?
        /// Text in `last_error`, case-insensitive.
        public var error: String?

        public init() {}

        /// The filter as canonical text (sorted keys, instants in whole milliseconds): what
        /// a bulk action's confirmation is bound to, and what the audit log records.
        public var canonical: String {
            func ms(_ d: Date?) -> String? { d.map { String(Int64(clampingFloor: $0.timeIntervalSince1970 * 1000)) } }
            let fields: [(String, String?)] = [
                ("channel", channel), ("contact", contact), ("created_after", ms(createdAfter)), ("created_before", ms(createdBefore)),
                ("error", error), ("location", location), ("recipient", recipient), ("rule", rule), ("sent_after", ms(sentAfter)),
                ("sent_before", ms(sentBefore)), ("status", status), ("subject_id", subjectID), ("subject_type", subjectType),
                ("template", template),
            ]
            var object: [String: String] = [:]
            for (key, value) in fields { if let value { object[key] = value } }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            return String(decoding: data, as: UTF8.self)
        }

        /// The WHERE clause (over `m`) and its parameters, numbered from `$1`.
        func whereClause() -> (sql: String, parameters: [(any PostgresEncodable)?]) {
            var conditions: [String] = []
            var parameters: [(any PostgresEncodable)?] = []
            func add(_ condition: (String) -> String, _ value: (any PostgresEncodable)?) {
                guard let value else { return }
                parameters.append(value)
                conditions.append(condition("$\(parameters.count)"))
            }
            func epoch(_ d: Date?) -> Double? { d.map { min(max($0.timeIntervalSince1970, -1e11), 1e11) } }
            add({ "m.status = \($0)" }, status)
            add({ "m.channel = \($0)" }, channel)
            add({ "m.template = \($0)" }, template)
            add({ "m.rule_name = \($0)" }, rule)
            if let recipient {
                parameters.append(recipient)
                let p = "$\(parameters.count)"
                if let channel {
                    parameters.append(channel)
                    conditions.append("m.recipient_key = herald.normalize_recipient($\(parameters.count), \(p))")
                } else {
                    conditions.append("m.recipient_key IN (herald.normalize_recipient('sms', \(p)), herald.normalize_recipient('email', \(p)), herald.normalize_recipient('webhook', \(p)))")
                }
            }
            add({ "m.contact_id = \($0)" }, contact)
            add({ "m.subject_type = \($0)" }, subjectType)
            add({ "m.subject_id = \($0)" }, subjectID)
            add({ "m.location_id = \($0)" }, location)
            add({ "m.created_at >= to_timestamp(\($0)::float8)" }, epoch(createdAfter))
            add({ "m.created_at < to_timestamp(\($0)::float8)" }, epoch(createdBefore))
            add({ "m.sent_at >= to_timestamp(\($0)::float8)" }, epoch(sentAfter))
            add({ "m.sent_at < to_timestamp(\($0)::float8)" }, epoch(sentBefore))
            if let error {
                // LIKE's own characters are matched literally.
                let escaped = error.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_")
                add({ "m.last_error ILIKE '%' || \($0) || '%'" }, escaped)
            }
            return (conditions.isEmpty ? "true" : conditions.joined(separator: " AND "), parameters)
        }
    }

    /// A message as the API lists it.
    public struct MessageRow: Sendable, Equatable {
        public var id: Int64
        public var channel, recipient, template, locale, status: String
        public var attempts, priority: Int
        public var contactID, subjectType, subjectID, locationID, ruleName, lastError: String?
        public var eventID: Int64?
        public var createdAt, nextAttemptAt: Date
        public var sentAt, deliveredAt: Date?
    }

    static let rowColumns = """
        m.id, m.channel, m.recipient, m.template, coalesce(m.locale, '') AS locale, m.status, m.attempts, m.priority,
        m.contact_id, m.subject_type, m.subject_id, m.location_id, m.rule_name, m.event_id, m.last_error,
        extract(epoch FROM m.created_at)::float8 AS created_at, extract(epoch FROM m.next_attempt_at)::float8 AS next_attempt_at,
        extract(epoch FROM m.sent_at)::float8 AS sent_at, extract(epoch FROM m.delivered_at)::float8 AS delivered_at
        """

    static func decodeRow(_ r: NamedRow) -> MessageRow? {
        guard let id = r.int64("id") else { return nil }
        let epochZero = Date(timeIntervalSince1970: 0)
        func finite(_ name: String) -> Date? { r.double(name).flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil } }
        return MessageRow(id: id, channel: r["channel"] ?? "", recipient: r["recipient"] ?? "", template: r["template"] ?? "",
                          locale: r["locale"] ?? "", status: r["status"] ?? "", attempts: r.int("attempts") ?? 0,
                          priority: r.int("priority") ?? 2, contactID: r["contact_id"], subjectType: r["subject_type"],
                          subjectID: r["subject_id"], locationID: r["location_id"], ruleName: r["rule_name"],
                          lastError: r["last_error"], eventID: r.int64("event_id"), createdAt: finite("created_at") ?? epochZero,
                          nextAttemptAt: finite("next_attempt_at") ?? epochZero, sentAt: finite("sent_at"), deliveredAt: finite("delivered_at"))
    }

    /// The SQL of a search, for EXPLAIN in tests and `deploy/bench-admin`.
    public static func searchSQL(_ filter: MessageFilter, limit: Int, before: Int64?) -> (sql: String, parameters: [(any PostgresEncodable)?]) {
        var (condition, parameters) = filter.whereClause()
        if let before {
            parameters.append(before)
            condition += " AND m.id < $\(parameters.count)"
        }
        parameters.append(min(max(limit, 1), 500))
        return ("SELECT \(rowColumns) FROM herald.message m WHERE \(condition) ORDER BY m.id DESC LIMIT $\(parameters.count)", parameters)
    }

    /// Messages matching `filter`, newest first, ids below `before`.
    public func searchMessages(_ filter: MessageFilter, limit: Int, before: Int64?) async throws -> [MessageRow] {
        let (sql, parameters) = Self.searchSQL(filter, limit: limit, before: before)
        return try await connection.query(sql, parameters).named.compactMap(Self.decodeRow)
    }

    /// One message's row.
    public func messageRow(id: Int64) async throws -> MessageRow? {
        try await connection.query("SELECT \(Self.rowColumns) FROM herald.message m WHERE m.id = $1", [id]).named.first.flatMap(Self.decodeRow)
    }

    /// A bulk action over messages.
    public enum BulkAction: String, Sendable {
        /// Messages that failed or were not delivered go out again (herald.retry).
        case retry
        /// Pending messages are cancelled (herald.cancel).
        case cancel

        /// The statuses the action applies to: other messages matching a filter are left alone.
        public var statuses: [String] {
            switch self {
            case .retry: return ["failed", "undelivered"]
            case .cancel: return ["pending"]
            }
        }
    }

    static func bulkCondition(_ action: BulkAction, _ filter: MessageFilter) -> (String, [(any PostgresEncodable)?]) {
        var (condition, parameters) = filter.whereClause()
        parameters.append(PostgresArray(action.statuses))
        condition += " AND m.status = ANY($\(parameters.count)::text[])"
        return (condition, parameters)
    }

    /// How many messages `action` would act on, and the highest id among them (the
    /// action never reaches past it: a message that matches only later is not included).
    public func bulkCount(_ action: BulkAction, _ filter: MessageFilter) async throws -> (count: Int, ceiling: Int64) {
        let (condition, parameters) = Self.bulkCondition(action, filter)
        let row = try await connection.query("SELECT count(*) AS n, coalesce(max(m.id), 0) AS ceiling FROM herald.message m WHERE \(condition)",
                                             parameters).named.first
        return (row?.int("n") ?? 0, row?.int64("ceiling") ?? 0)
    }

    /// Acts on the next at most `limit` messages matching `filter` with ids above `after`
    /// and at most `ceiling`, in id order, each on its own, its status read again under its
    /// lock; returns each message's result (`refused: …`, `skipped: now sent`, …).
    public func bulkAct(_ action: BulkAction, _ filter: MessageFilter, after: Int64, ceiling: Int64, limit: Int,
                        actor: String, reason: String?) async throws -> [(id: Int64, result: String)] {
        var (condition, parameters) = Self.bulkCondition(action, filter)
        parameters.append(after)
        condition += " AND m.id > $\(parameters.count)"
        parameters.append(ceiling)
        condition += " AND m.id <= $\(parameters.count)"
        parameters.append(max(0, limit))
        let ids = "ARRAY(SELECT m.id FROM herald.message m WHERE \(condition) ORDER BY m.id LIMIT $\(parameters.count))"
        let call: String
        switch action {
        case .retry:
            parameters.append(PostgresArray(action.statuses))
            call = "SELECT message_id, result FROM herald.retry_many(\(ids), $\(parameters.count)::text[])"
        case .cancel:
            parameters.append(reason ?? "cancelled by \(actor)")
            call = "SELECT message_id, result FROM herald.cancel_many(\(ids), $\(parameters.count))"
        }
        return try await asActor(actor) {
            try await connection.query(call, parameters).named.compactMap { r in
                r.int64("message_id").map { ($0, r["result"] ?? "") }
            }
        }
    }

    /// Retries one message as `actor`.
    public func retry(id: Int64, actor: String) async throws -> String {
        try await asActor(actor) { try await connection.query("SELECT herald.retry($1)", [id]).scalar ?? "" }
    }

    /// Cancels one pending message as `actor`.
    public func cancel(id: Int64, actor: String, reason: String?) async throws -> String {
        try await asActor(actor) {
            try await connection.query("SELECT herald.cancel($1, $2)", [id, reason ?? "cancelled by \(actor)"]).scalar ?? ""
        }
    }

    /// Runs `body` in a transaction where `herald.actor` names who acts (template history,
    /// retry's reason and the consent ledger read it).
    func asActor<T: Sendable>(_ actor: String, _ body: () async throws -> T) async throws -> T {
        try await connection.inTransaction {
            try await connection.query("SELECT set_config('herald.actor', $1, true)", [SafeText.clean(actor, limit: 200)])
            return try await body()
        }
    }
}
