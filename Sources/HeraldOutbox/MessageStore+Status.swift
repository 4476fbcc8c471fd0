import HeraldCore
import HeraldPostgres

/// Counts and ages for `herald status`.
public struct StatusReport: Sendable, Codable, Equatable {
    public struct Count: Sendable, Codable, Equatable {
        public var channel: String
        public var status: String
        public var count: Int
    }
    public var counts: [Count]
    /// Seconds since the oldest due pending message became due; nil when none is due.
    public var oldestDueAgeSeconds: Double?
    /// Messages that ended `failed` in the last hour.
    public var failedLastHour: Int
    public var schemaVersion: Int
    /// Recipients opted out now, by channel.
    public var optedOut: [String: Int] = [:]
    /// Client replies not processed yet.
    public var inboundWaiting: Int = 0
    /// Events not expanded yet, and events that failed in the last hour.
    public var eventsWaiting: Int = 0
    public var eventsFailedLastHour: Int = 0
}

extension MessageStore {
    /// Counts by channel and status, age of the oldest due message, failures in the last hour.
    public func status() async throws -> StatusReport {
        let counts = try await connection.query(
            "SELECT channel, status, count(*) AS count FROM herald.message GROUP BY channel, status ORDER BY channel, status")
        let oldest = try await connection.query("""
            SELECT extract(epoch FROM now() - min(n.next_attempt_at))::float8 AS age
              FROM \(Self.priorityLevels) CROSS JOIN LATERAL (
                  SELECT next_attempt_at FROM herald.message
                   WHERE status = 'pending' AND priority = p.level AND next_attempt_at <= now()
                   ORDER BY next_attempt_at, id LIMIT 1) n
            """)
        let failed = try await connection.query("""
            SELECT count(DISTINCT message_id) AS failed FROM herald.attempt
             WHERE outcome IN ('failed', 'lease_expired') AND finished_at > now() - interval '1 hour'
               AND message_id IN (SELECT id FROM herald.message WHERE status = 'failed')
            """)
        let version = try await Migrator(connection: connection).currentVersion()
        var report = StatusReport(
            counts: counts.named.map { .init(channel: $0["channel"] ?? "", status: $0["status"] ?? "", count: Int($0["count"] ?? "0") ?? 0) },
            oldestDueAgeSeconds: oldest.named.first?["age"].flatMap { Double($0) },
            failedLastHour: Int(failed.named.first?["failed"] ?? "0") ?? 0,
            schemaVersion: version)
        if version >= 8 {
            for row in try await connection.query("SELECT channel, count(*) AS count FROM herald.opt_out GROUP BY channel").named {
                report.optedOut[row["channel"] ?? ""] = Int(row["count"] ?? "0") ?? 0
            }
        }
        if version >= 9 {
            report.inboundWaiting = Int(try await connection.query(
                "SELECT count(*) FROM herald.inbound WHERE processed_at IS NULL").scalar ?? "0") ?? 0
        }
        if version >= 12 {
            let events = try await connection.query("""
                SELECT count(*) FILTER (WHERE state = 'pending') AS waiting,
                       count(*) FILTER (WHERE state = 'failed' AND processed_at > now() - interval '1 hour') AS failed
                  FROM herald.event WHERE state = 'pending' OR (state = 'failed' AND processed_at > now() - interval '1 hour')
                """).named.first
            report.eventsWaiting = events?["waiting"].flatMap { Int($0) } ?? 0
            report.eventsFailedLastHour = events?["failed"].flatMap { Int($0) } ?? 0
        }
        return report
    }
}

extension MessageStore {
    /// Makes the SMS of each WhatsApp message (with `fallback = 'sms'`) sent more than
    /// `after` ago without a delivered receipt, at most `limit`; returns how many.
    public func fallBackOverdue(after: Duration, limit: Int) async throws -> Int {
        let result = try await connection.query("SELECT herald.fall_back_overdue($1::float8 * interval '1 second', $2::int)",
                                                [after.seconds, limit])
        return result.scalar.flatMap { Int($0) } ?? 0
    }
}
