import HeraldCore
import HeraldPostgres

/// What Twilio Lookup said of each number (`herald.line_type`).
extension MessageStore {
    /// The line type recorded for `number` (E.164) within `maxAge` seconds, or nil.
    public func cachedLineType(of number: String, maxAgeSeconds: Int64) async throws -> String? {
        try await connection.query("""
            SELECT line_type FROM herald.line_type
             WHERE number = herald.normalize_recipient('sms', $1) AND checked_at > now() - make_interval(secs => $2::float8)
            """, [SafeText.clean(number, limit: 64), Double(maxAgeSeconds)]).scalar
    }

    /// Records a lookup's answer (`herald.record_line_type`): a landline becomes undeliverable
    /// for SMS for `maxAgeSeconds`; any other answer lifts a landline.
    public func recordLineType(of number: String, type: String, carrier: String?, messageID: Int64, maxAgeSeconds: Int64) async throws {
        _ = try await connection.query("SELECT herald.record_line_type($1, $2, $3, $4, make_interval(secs => $5::float8))",
                                       [SafeText.clean(number, limit: 64), SafeText.clean(type, limit: 40), carrier.map { SafeText.clean($0, limit: 200) },
                                        messageID, Double(maxAgeSeconds)])
    }
}
