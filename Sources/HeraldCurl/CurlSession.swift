import CCurl
import Foundation
import HeraldCore
import HeraldExecutors
import Synchronization

/// Set from any thread to stop a transfer in progress (libcurl checks it several times a second).
public final class TransferCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// A failed transfer: libcurl's code and message, and the last reply code
/// (HTTP status or SMTP reply) when the peer answered at all.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    /// The `CURLcode`.
    public let code: Int
    /// libcurl's error buffer, or `curl_easy_strerror`.
    public let message: String
    /// The last HTTP status or SMTP reply code (0 when there was none).
    public let responseCode: Int
    /// The server's last reply line (SMTP), e.g. `550 5.1.1 <x@y>: Recipient address rejected`.
    public var serverReply: String? = nil
    /// The address a connection was refused to by ``AddressPolicy`` (a loopback, private
    /// or link-local address, with internal addresses not allowed).
    public var refusedAddress: String? = nil

    /// The transfer ran past `timeout` or `connect_timeout`.
    public var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }

    /// The transfer was stopped through its ``TransferCancellation`` (shutdown).
    public var isCancelled: Bool { code == Int(CURLE_ABORTED_BY_CALLBACK.rawValue) }

    public var description: String {
        if let serverReply, !serverReply.isEmpty { return "\(message): \(serverReply)" }
        return responseCode > 0 ? "\(message) (reply \(responseCode))" : message
    }
}

/// Settings every transfer of a session uses.
public struct TransferOptions: Sendable {
    /// Time to establish the connection (TCP + TLS).
    public var connectTimeout: Duration
    /// Time for the whole transfer, connection included.
    public var timeout: Duration
    /// Keep connections open between transfers (false: a new connection each time).
    public var reuseConnections: Bool
    /// A CA bundle to verify the peer with, instead of the system's.
    public var caFile: String?

    public init(connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30), reuseConnections: Bool = true, caFile: String? = nil) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.reuseConnections = reuseConnections
        self.caFile = caFile
    }
}

/// An HTTP request (the SMS provider's API, webhooks).
public struct HTTPRequest: Sendable {
    public var url: String
    public var headers: [String]
    public var body: Data
    /// HTTP Basic credentials.
    public var username: String?
    public var password: String?
    /// False for a URL that came from outside (a message's own webhook URL): connecting
    /// to a loopback, private or link-local address is refused (``AddressPolicy``).
    public var allowInternalAddresses: Bool
    /// A GET (the body is not sent) instead of a POST.
    public var isGet = false

    public init(url: String, headers: [String] = [], body: Data, username: String? = nil, password: String? = nil,
                allowInternalAddresses: Bool = true) {
        self.url = url
        self.headers = headers
        self.body = body
        self.username = username
        self.password = password
        self.allowInternalAddresses = allowInternalAddresses
    }
}

/// What an HTTP server answered.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header lines of the final response, name lowercased.
    public var headers: [(name: String, value: String)]
    public var body: Data

    /// Most bytes of a response body kept; past it the transfer is stopped (64 kB).
    public static let maxBody = 64 * 1024
    /// Most header lines kept, and the longest line read (longer ones are skipped).
    public static let maxHeaders = 100
    public static let maxHeaderLine = 8 * 1024

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }
}

/// One email for an SMTP server, built with libcurl's MIME API.
public struct MailTransfer: Sendable {
    /// How much TLS the connection must have.
    public enum TLS: String, Sendable {
        /// `smtp://` with STARTTLS refused if the server does not offer it.
        case required
        /// STARTTLS when offered, plain otherwise.
        case opportunistic
        /// Never STARTTLS (`smtps://` URLs are TLS from the first byte whatever this says).
        case none
    }

    /// `smtp://host:587` or `smtps://host:465`.
    public var url: String
    public var tls: TLS
    public var username: String?
    public var password: String?
    /// Envelope sender (`MAIL FROM`).
    public var envelopeFrom: String
    /// Envelope recipients (`RCPT TO`).
    public var recipients: [String]
    /// Top-level header lines (From, To, Subject, Date, Message-ID, …).
    public var headers: [String]
    public var text: String
    /// When present: `multipart/alternative`, text first, then HTML.
    public var html: String?

    public init(url: String, tls: TLS, username: String?, password: String?, envelopeFrom: String, recipients: [String],
                headers: [String], text: String, html: String?) {
        self.url = url
        self.tls = tls
        self.username = username
        self.password = password
        self.envelopeFrom = envelopeFrom
        self.recipients = recipients
        self.headers = headers
        self.text = text
        self.html = html
    }
}

/// One libcurl easy handle on a thread of its own.
///
/// Transfers block, so every call runs on the session's dedicated thread (a
/// ``ThreadExecutor``), never on the cooperative pool; no method awaits, so two
/// transfers never share the handle. The handle is kept between transfers, so
/// libcurl reuses its open connection (unless ``TransferOptions/reuseConnections``
/// is false).
public actor CurlSession {
    private let executor: ThreadExecutor
    nonisolated public var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    // Touched only on the executor thread, and in deinit (when no call can be running).
    nonisolated(unsafe) private var handle: UnsafeMutableRawPointer?
    nonisolated(unsafe) private let errorBuffer: UnsafeMutablePointer<CChar>
    private let options: TransferOptions

    public init(name: String, options: TransferOptions) {
        CurlGlobal.initialize()
        self.executor = ThreadExecutor(name: name)
        self.options = options
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
        executor.shutdown()
    }

    /// POSTs `request` (GETs it when ``HTTPRequest/isGet``) and returns the answer, whatever its status.
    public func post(_ request: HTTPRequest, cancellation: TransferCancellation? = nil) throws -> HTTPResponse {
        let h = try prepare(protocols: "http,https", url: request.url, cancellation: cancellation)
        let sink = Sink()
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in request.headers + ["Expect:"] { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }
        herald_curl_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        if request.isGet {
            herald_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
        } else {
            herald_curl_setopt_long(h, CURLOPT_POST, 1)
            herald_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, request.body.count)
        }
        if let username = request.username {
            herald_curl_setopt_long(h, CURLOPT_HTTPAUTH, 1)  // CURLAUTH_BASIC (a macro Swift does not import)
            herald_curl_setopt_string(h, CURLOPT_USERNAME, username)
            herald_curl_setopt_string(h, CURLOPT_PASSWORD, request.password ?? "")
        }
        herald_curl_setopt_callback(h, CURLOPT_WRITEFUNCTION, collectBody)
        herald_curl_setopt_pointer(h, CURLOPT_WRITEDATA, box.toOpaque())
        herald_curl_setopt_callback(h, CURLOPT_HEADERFUNCTION, collectHeader)
        herald_curl_setopt_pointer(h, CURLOPT_HEADERDATA, box.toOpaque())
        let addressGuard = AddressGuard()
        let guardBox = Unmanaged.passRetained(addressGuard)
        defer { guardBox.release() }
        if !request.allowInternalAddresses {
            herald_curl_setopt_opensocket(h, guardedOpenSocket, guardBox.toOpaque())
            // A reused connection was opened without this check.
            herald_curl_setopt_long(h, CURLOPT_FRESH_CONNECT, 1)
            herald_curl_setopt_long(h, CURLOPT_FORBID_REUSE, 1)
        }
        try request.body.withUnsafeBytes { raw in
            if !request.isGet {
                herald_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            }
            do {
                try perform(h)
            } catch let error as CurlError where error.code == Int(CURLE_WRITE_ERROR.rawValue) && sink.overflow {
                // The body passed the limit: the transfer was stopped there. The status and
                // headers are complete, and the body's first bytes are kept.
            } catch var error as CurlError where addressGuard.refused != nil {
                error.refusedAddress = addressGuard.refused
                throw error
            }
        }
        var status = 0
        herald_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }

    /// Sends one email; returns the server's last reply code (250).
    public func send(_ mail: MailTransfer, cancellation: TransferCancellation? = nil) throws -> Int {
        let h = try prepare(protocols: "smtp,smtps", url: mail.url, cancellation: cancellation)
        switch mail.tls {
        case .required: herald_curl_setopt_long(h, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
        case .opportunistic: herald_curl_setopt_long(h, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
        case .none: herald_curl_setopt_long(h, CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue))
        }
        if let username = mail.username {
            herald_curl_setopt_string(h, CURLOPT_USERNAME, username)
            herald_curl_setopt_string(h, CURLOPT_PASSWORD, mail.password ?? "")
        }
        herald_curl_setopt_string(h, CURLOPT_MAIL_FROM, "<\(mail.envelopeFrom)>")
        var recipients: UnsafeMutablePointer<curl_slist>?
        for r in mail.recipients { recipients = curl_slist_append(recipients, "<\(r)>") }
        defer { curl_slist_free_all(recipients) }
        herald_curl_setopt_slist(h, CURLOPT_MAIL_RCPT, recipients)
        var headers: UnsafeMutablePointer<curl_slist>?
        for line in mail.headers { headers = curl_slist_append(headers, line) }
        defer { curl_slist_free_all(headers) }
        herald_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headers)

        // The MIME tree (and the lists it points to) must outlive the transfer.
        let mime = curl_mime_init(h)
        defer { curl_mime_free(mime) }
        if let html = mail.html {
            let alternative = curl_mime_init(h)
            Self.addTextPart(to: alternative, mail.text, type: "text/plain; charset=utf-8")
            Self.addTextPart(to: alternative, html, type: "text/html; charset=utf-8")
            let part = curl_mime_addpart(mime)
            curl_mime_subparts(part, alternative)  // the part now owns `alternative`
            curl_mime_type(part, "multipart/alternative")
            let inline = curl_slist_append(nil, "Content-Disposition: inline")
            curl_mime_headers(part, inline, 1)  // owned by the part
        } else {
            Self.addTextPart(to: mime, mail.text, type: "text/plain; charset=utf-8")
        }
        herald_curl_setopt_mime(h, mime)
        herald_curl_setopt_long(h, CURLOPT_UPLOAD, 1)
        // The server's reply lines, so that a refusal carries its text (never what we send: AUTH is in there).
        let replies = Replies()
        let box = Unmanaged.passRetained(replies)
        defer { box.release() }
        herald_curl_setopt_debug(h, collectReply, box.toOpaque())
        do {
            try perform(h)
        } catch var error as CurlError {
            error.serverReply = replies.last
            throw error
        }
        var reply = 0
        herald_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &reply)
        return reply
    }

    private static func addTextPart(to mime: OpaquePointer?, _ text: String, type: String) {
        let part = curl_mime_addpart(mime)
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress?.withMemoryRebound(to: CChar.self, capacity: buffer.count) { pointer in
                _ = curl_mime_data(part, pointer, buffer.count)  // libcurl copies the data
            }
        }
        curl_mime_type(part, type)
        curl_mime_encoder(part, "quoted-printable")
    }

    /// Resets the handle (keeping its connection cache) and sets what every transfer needs.
    private func prepare(protocols: String, url: String, cancellation: TransferCancellation?) throws -> UnsafeMutableRawPointer {
        if handle == nil { handle = curl_easy_init() }
        guard let h = handle else { throw CurlError(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed", responseCode: 0) }
        curl_easy_reset(h)
        errorBuffer[0] = 0
        herald_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer)
        herald_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        herald_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, protocols)
        herald_curl_setopt_string(h, CURLOPT_URL, url)
        herald_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(clamping: options.connectTimeout.wholeMilliseconds))
        herald_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(clamping: options.timeout.wholeMilliseconds))
        if !options.reuseConnections {
            herald_curl_setopt_long(h, CURLOPT_FRESH_CONNECT, 1)
            herald_curl_setopt_long(h, CURLOPT_FORBID_REUSE, 1)
        }
        if let ca = options.caFile { herald_curl_setopt_string(h, CURLOPT_CAINFO, ca) }
        // Unretained: the caller's reference outlives the transfer (the call is synchronous).
        if let cancellation { herald_curl_setopt_progress(h, checkCancellation, Unmanaged.passUnretained(cancellation).toOpaque()) }
        if cancellation?.isCancelled == true {
            throw CurlError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "cancelled before the transfer started", responseCode: 0)
        }
        return h
    }

    private func perform(_ h: UnsafeMutableRawPointer) throws {
        let code = curl_easy_perform(h)
        guard code != CURLE_OK else { return }
        var reply = 0
        herald_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &reply)
        let buffered = String(cString: errorBuffer)
        let message = buffered.isEmpty ? String(cString: curl_easy_strerror(code)) : buffered
        throw CurlError(code: Int(code.rawValue), message: message, responseCode: reply)
    }
}

/// `curl_global_init` must run once, before any other thread uses libcurl.
enum CurlGlobal {
    private static let done: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        return true
    }()

    static func initialize() { _ = done }
}
