import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldInbound
import HeraldOutbox

/// `herald ingest-mail`: one bounce (RFC 3464) or abuse report (RFC 5965) on standard input,
/// as a mail server's pipe transport or alias hands it over, recorded against the message
/// its bounce address names.
struct IngestMail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-mail",
        abstract: "Read one bounce or abuse report on standard input and record it (for a Postfix pipe transport or an alias).",
        discussion: """
            Emails go out with a bounce address per message when [channels.email] bounce_address is set \
            (bounces+b1-<id>-<mac>@your-domain). Deliver mail for that address here, e.g. in Postfix's master.cf:
              herald unix - n n - - pipe flags=Rq user=herald argv=/usr/bin/herald ingest-mail --recipient ${recipient}
            A hard bounce makes the message undelivered and the address undeliverable; a complaint opts the \
            address out of email; a soft bounce is recorded. Exit status: 0 when the report was read (recorded, \
            or refused with the reason on standard error: not a report, no valid bounce token), 75 when the \
            database could not be reached (the mail server tries again later), 78 for a configuration error.
            """)

    @OptionGroup var options: GlobalOptions
    @Option(help: "The address the report was delivered to (Postfix pipe: ${recipient}); else $ORIGINAL_RECIPIENT or $RECIPIENT (Postfix aliases), then the report's Delivered-To, X-Original-To and To headers.")
    var recipient: String?

    func run() async throws {
        let config = try options.load()
        let bytes = await Self.readStandardInput(limit: MailReader.maxBytes)
        let report = MailReport.read(bytes)
        if case .other(let why) = report.kind { return refuse("nothing recorded: \(why)") }
        guard !report.feedback.isEmpty else { return refuse("nothing recorded: the report names no failed recipient (a delay already retried, or a success)") }
        // Postfix's local(8) hands an alias's pipe the envelope recipient in the environment.
        let environment = ProcessInfo.processInfo.environment
        let envelope = [recipient, environment["ORIGINAL_RECIPIENT"], environment["RECIPIENT"]].compactMap { $0 }
        let tokens = (envelope + report.tokenCandidates).compactMap(BounceAddresses.Token.init(in:))
        guard !tokens.isEmpty else { return refuse("nothing recorded: no Herald bounce address (…+b1-<id>-<mac>@…) in the report") }

        let key: [UInt8]
        let stores: Stores
        do {
            let supervised = SupervisedConnection(databaseURL: config.database.url, applicationName: "herald-ingest-mail", statementTimeout: .seconds(30))
            try await supervised.connect()
            stores = Stores(connection: supervised.connection)
            if let configured = config.http.linkKey {
                key = configured
            } else {
                key = Array(try await stores.catalog.secret("link_key", generated: ListenerSetup.newLinkKey()).utf8)
            }
        } catch {
            throw fail("cannot reach the database, the mail server should try again later: \(error)", code: 75)
        }
        do {
            var verified: (BounceAddresses.Token, String)?
            for token in tokens {
                if let recipientKey = try await stores.inbound.emailRecipientKey(messageID: token.messageID),
                   BounceAddresses.verify(token, recipient: recipientKey, key: key) {
                    verified = (token, recipientKey)
                    break
                }
            }
            guard let (token, recipientKey) = verified else {
                return refuse("refused: the bounce token (message \(tokens[0].messageID)) does not match an email of this installation (forged, altered, or its message pruned)")
            }
            let source = report.kind == .deliveryStatus ? "dsn" : "arf"
            for var item in report.feedback {
                let reported = item.recipient.isEmpty ? recipientKey : item.recipient
                // A report about another address than the one the email went to (a list or an
                // alias expanded) says nothing of that address: the message failed, no more.
                if item.kind == .hardBounce, RecipientKey.normalize(reported, channel: .email) != recipientKey { item.kind = .failed }
                let outcome = try await stores.inbound.recordMailFeedback(
                    source: source, eventKey: "\(token.messageID) \(report.reportID) \(reported.lowercased()) \(item.kind.rawValue)", kind: item.kind.rawValue,
                    messageID: token.messageID, recipient: reported, status: item.status, detail: item.detail)
                if outcome == "retry later" {
                    throw fail("message \(token.messageID) is still being sent; the mail server should try again later", code: 75)
                }
                print("message \(token.messageID) to \(recipientKey): \(item.kind.rawValue.replacingOccurrences(of: "_", with: " "))\(item.status.map { " \($0)" } ?? ""): \(outcome)")
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail("could not record the report, the mail server should try again later: \(error)", code: 75)
        }
    }

    /// Says why nothing was recorded, on standard error; the exit status stays 0 (the mail
    /// server must not retry or bounce a report Herald has read).
    private func refuse(_ why: String) {
        FileHandle.standardError.write(Data("herald ingest-mail: \(why)\n".utf8))
    }

    /// Standard input, read on a thread of its own (a blocking read stays off the
    /// cooperative pool): the first `limit` bytes are kept, the rest read and dropped.
    static func readStandardInput(limit: Int) async -> [UInt8] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
            let thread = Thread {
                var kept: [UInt8] = []
                let handle = FileHandle.standardInput
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    if kept.count < limit { kept += chunk.prefix(limit - kept.count) }
                }
                continuation.resume(returning: kept)
            }
            thread.name = "herald-stdin"
            thread.start()
        }
    }
}
