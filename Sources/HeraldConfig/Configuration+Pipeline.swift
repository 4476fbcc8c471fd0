import HeraldInbound
import HeraldPipeline

extension Configuration {
    /// What every message goes through, as configured: the one place the daemon, `explain`,
    /// `templates preview` and `send-test` take it from. `linkKey` is `[http] link_key_file`
    /// or the key kept in `herald.secret`; links are signed only when the listener is on
    /// (`[http] listen` and `public_url`), and SMS replies answer only when Twilio's inbound
    /// messages can be verified (an auth token). Emails get their own bounce address
    /// whenever `bounce_address` is set and a key is given.
    public func pipelineSettings(linkKey: [UInt8]?) -> PipelineSettings {
        var links: Pipeline.Links?
        if http.enabled, let publicURL = http.publicURL, let linkKey {
            links = Pipeline.Links(answers: AnswerLinks(publicURL: publicURL, key: linkKey),
                                   unsubscribe: UnsubscribeLinks(publicURL: publicURL, key: linkKey),
                                   byReply: http.twilioAuthToken != nil)
        }
        let bounces = linkKey.flatMap { key in bounceAddress.flatMap { BounceAddresses(address: $0, key: key) } }
        return PipelineSettings(scheduling: scheduling, smsMaxSegments: smsMaxSegments, defaultLocale: defaultLocale, links: links,
                                bounces: bounces)
    }

    /// `[channels.email] bounce_address`, when the email driver has one: emails then go out
    /// with their own bounce address, signed with the link key (so the key is needed even
    /// with the listener off).
    public var bounceAddress: String? { channels[.email]?.emailSender?.bounceAddress }
}
