import Foundation
import HeraldCore
import Logging
import HeraldExecutors

/// Writes each message into `directory/<channel>/`: email as an RFC 5322
/// `.eml` a mail client opens, SMS and webhook as JSON. Files appear atomically
/// (written under a temporary name, then renamed). Writes run on a thread of
/// their own, not on the cooperative pool.
///
/// `delay` simulates a provider's latency (for demos and fault drills).
public struct FileDriver: Driver {
    public let name = "file"
    let writer: FileWriter
    let from: String
    let delay: Duration

    public init(directory: URL, from: String = "Herald <herald@herald.localhost>", delay: Duration = .zero) {
        self.writer = FileWriter(directory: directory)
        self.from = from
        self.delay = delay
    }

    public func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        if delay > .zero { try await Task.sleep(for: delay) }
        let document: Document
        switch Self.document(for: message, sender: EmailFormat.Sender(from: from)) {
        case .success(let d): document = d
        case .failure(let e): throw e
        }
        try await writer.write(document.data, channel: message.channel.rawValue, name: document.name)
        return DeliveryReceipt(providerMessageID: document.providerMessageID)
    }

    /// One file of the outbox.
    public struct Document: Sendable {
        /// `ID-ATTEMPT.eml` or `ID-ATTEMPT.json`, under the channel's folder.
        public var name: String
        public var data: Data
        /// The email's Message-ID, or `channel/name`.
        public var providerMessageID: String
    }

    /// What the driver writes for `message`: email as the whole RFC 5322 message the SMTP
    /// driver would send (same headers), SMS and webhook as a JSON document.
    /// `herald templates preview --message` prints exactly this.
    public static func document(for message: RenderedMessage, sender: EmailFormat.Sender) -> Result<Document, DeliveryError> {
        let base = "\(message.id)-\(message.attempt)"
        switch message.channel {
        case .email:
            return EmailFormat.render(message, sender: sender).map { text, messageID in
                Document(name: "\(base).eml", data: Data(text.utf8), providerMessageID: messageID)
            }
        case .sms, .webhook, .whatsapp:
            var document: [String: String] = [
                "id": String(message.id), "to": message.recipient, "template": message.template,
                "locale": message.locale, "body": message.body, "attempt": String(message.attempt),
            ]
            if let subject = message.subject { document["subject"] = subject }
            if let sender = message.sender { document["from"] = sender }
            if let sid = message.contentSID { document["content_sid"] = sid }
            if let variables = message.contentVariables { document["content_variables"] = variables }
            do {
                let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                let name = "\(base).json"
                return .success(Document(name: name, data: data, providerMessageID: "\(message.channel.rawValue)/\(name)"))
            } catch {
                return .failure(.permanent("cannot write the message as JSON: \(error)"))
            }
        }
    }
}

/// Owns the file writes on a dedicated thread.
actor FileWriter {
    private let executor = ThreadExecutor(name: "herald-file")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let directory: URL

    init(directory: URL) { self.directory = directory }

    deinit { executor.shutdown() }

    func write(_ data: Data, channel: String, name: String) throws {
        let folder = directory.appendingPathComponent(channel, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let temporary = folder.appendingPathComponent(".\(name).tmp")
            try data.write(to: temporary)
            let final = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
            try FileManager.default.moveItem(at: temporary, to: final)
        } catch {
            throw DeliveryError.transient("cannot write \(folder.path)/\(name): \(error.localizedDescription)")
        }
    }
}

extension FileDriver: ConfigurableDriver {
    public static let kind = "file"

    /// `directory` (default `/var/lib/herald/outbox`), `from` (the `From:` of email files),
    /// `delay` (a simulated provider latency), `bounce_address` (as SMTP's).
    public struct Settings: Sendable, Equatable {
        public var directory: String
        public var from: String
        public var delay: Duration
        /// Email files show the envelope sender made from it (`Return-Path:`), as SMTP would send it.
        public var bounceAddress: String?

        public init(directory: String = "/var/lib/herald/outbox", from: String = "Herald <herald@herald.localhost>", delay: Duration = .zero,
                    bounceAddress: String? = nil) {
            self.directory = directory
            self.from = from
            self.delay = delay
            self.bounceAddress = bounceAddress
        }
    }

    public static func settings(from section: any DriverSection) throws -> Settings {
        var settings = Settings()
        if let directory = try section.string("directory") {
            guard !directory.isEmpty else { throw section.invalid("directory", "must not be empty") }
            settings.directory = directory
        }
        settings.from = try section.string("from") ?? settings.from
        // As SMTP does: an email the driver would refuse stops startup naming the key.
        if case .failure(let e) = Recipients.mailbox(settings.from) { throw section.invalid("from", e.reason) }
        settings.delay = try section.duration("delay", positive: false) ?? .zero
        settings.bounceAddress = try section.bounceAddress()
        return settings
    }

    public static func make(_ settings: Settings, logger: Logger) -> FileDriver {
        FileDriver(directory: URL(fileURLWithPath: settings.directory), from: settings.from, delay: settings.delay)
    }
}
