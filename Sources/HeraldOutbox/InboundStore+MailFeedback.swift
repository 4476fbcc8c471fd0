import HeraldCore
import HeraldPostgres

/// Bounces and abuse reports about Herald's emails (`herald.mail_feedback`), applied by
/// `herald.record_mail_feedback` once their bounce token is verified.
extension InboundStore {
    /// The recipient key of email message `messageID`, which its bounce token was signed
    /// over; nil when there is no such email (never sent by this installation, or pruned).
    public func emailRecipientKey(messageID: Int64) async throws -> String? {
        try await connection.query(
            "SELECT coalesce(recipient_key, herald.normalize_recipient(channel, recipient)) FROM herald.message WHERE id = $1 AND channel = 'email'",
            [messageID]).scalar
    }

    /// Applies one report about message `messageID` (its token verified): what Herald did,
    /// or `already recorded` for a report with the same `source` and `eventKey`.
    /// `kind` is `hard_bounce`, `failed`, `soft_bounce` or `complaint`; texts are capped by the function.
    public func recordMailFeedback(source: String, eventKey: String, kind: String, messageID: Int64,
                                   recipient: String, status: String?, detail: String) async throws -> String {
        let result = try await connection.query(
            "SELECT herald.record_mail_feedback($1, $2, $3, $4, $5, $6, $7)",
            [SafeText.clean(source, limit: 40), SafeText.clean(eventKey, limit: 600), kind, messageID,
             SafeText.clean(recipient, limit: 320), status.map { SafeText.clean($0, limit: 20) }, SafeText.clean(detail, limit: 1_000)])
        return result.scalar ?? ""
    }
}

extension InboundStore {
    /// Applies one event of an email provider's webhook (its signature verified) about the
    /// email whose `Message-ID` is `providerMessageID`; an email Herald does not know is
    /// recorded as `unknown message`.
    public func recordProviderMailFeedback(source: String, eventKey: String, kind: String, providerMessageID: String,
                                           recipient: String, status: String?, detail: String) async throws -> String {
        let result = try await connection.query("""
            SELECT herald.record_mail_feedback($1, $2, $3,
                       (SELECT id FROM herald.message WHERE provider_message_id = $4 AND channel = 'email' ORDER BY id DESC LIMIT 1),
                       $5, $6, $7)
            """,
            [SafeText.clean(source, limit: 40), SafeText.clean(eventKey, limit: 600), kind, SafeText.clean(providerMessageID, limit: 256),
             SafeText.clean(recipient, limit: 320), status.map { SafeText.clean($0, limit: 20) }, SafeText.clean(detail, limit: 1_000)])
        return result.scalar ?? ""
    }
}
