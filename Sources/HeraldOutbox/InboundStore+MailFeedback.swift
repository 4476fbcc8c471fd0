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
    /// `already recorded` for a report with the same `source` and `eventKey`, or `retry
    /// later` while the message is still being sent (nothing recorded).
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
        // An email of Herald's own whose outcome is not recorded yet (it has no provider id
        // until then): come back later rather than lose the event as "unknown".
        let result = try await connection.query("""
            WITH m AS (SELECT id FROM herald.message WHERE provider_message_id = $4 AND channel = 'email' ORDER BY id DESC LIMIT 1)
            SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM m) AND $4 LIKE '<herald.%' THEN 'retry later'
                        ELSE herald.record_mail_feedback($1, $2, $3, (SELECT id FROM m), $5, $6, $7) END
            """,
            [SafeText.clean(source, limit: 40), SafeText.clean(eventKey, limit: 600), kind, SafeText.clean(providerMessageID, limit: 256),
             SafeText.clean(recipient, limit: 320), status.map { SafeText.clean($0, limit: 20) }, SafeText.clean(detail, limit: 1_000)])
        return result.scalar ?? ""
    }
}

extension InboundStore {
    /// True when a signed webhook's token `key` comes with event `event` for the first time
    /// or again (the provider's retry); false when it came with another event before (a
    /// signature lifted onto a made-up body).
    public func webhookTokenUse(_ key: String, event: String) async throws -> Bool {
        try await connection.query("SELECT herald.webhook_token_use($1, $2)", [SafeText.clean(key, limit: 300), SafeText.clean(event, limit: 300)]).scalarBool
    }
}
